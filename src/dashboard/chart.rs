//! SVG charts written as text over plain numbers: a bar chart with axes (views per day), a
//! sparkline (a post's days), horizontal bars (devices, referrers), and the scale they share.
//!
//! Each chart is one `<svg role="img">` whose first child is a `<title>` (its accessible
//! name); bars and points carry their own `<title>`s, so a pointer shows the exact number.
//! Colours are not written here: elements carry classes the page's CSS paints, so one chart
//! reads in light and dark mode alike.

use std::fmt::Write;

use crate::templates::escape;

/// A linear scale from `0..=top` (a count) to `0..=length` (pixels), with round ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    /// The largest value on the axis: a multiple of `step`, at least the data's largest.
    pub top: i64,
    /// The distance between ticks: 1, 2 or 5 times a power of ten.
    pub step: i64,
    pub length: f64,
}

impl Scale {
    /// A scale for values up to `max` with about `ticks` steps (never less than 0..=1).
    pub fn new(max: i64, length: f64, ticks: u32) -> Scale {
        let max = max.max(1);
        let raw = max as f64 / f64::from(ticks.max(1));
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * magnitude);
        let step = (step.round() as i64).max(1);
        Scale {
            top: (max + step - 1) / step * step,
            step,
            length,
        }
    }

    /// Where `value` falls, in pixels from the scale's zero.
    pub fn at(&self, value: i64) -> f64 {
        self.length * value.max(0) as f64 / self.top as f64
    }

    /// The tick values, 0 first.
    pub fn ticks(&self) -> Vec<i64> {
        (0..=self.top).step_by(self.step as usize).collect()
    }
}

/// One bar of a [`bar_chart`].
#[derive(Debug, Clone)]
pub struct Bar {
    /// What the bar's `<title>` and the table name it by (e.g. `2026-01-05`).
    pub label: String,
    /// Its short label on the x axis (e.g. `Jan 5`).
    pub tick: String,
    pub value: i64,
}

/// The bar chart's size (a `viewBox`: it scales to the page's width).
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 44.0;
/// At most this many labels on the x axis.
const X_LABELS: usize = 10;
/// Bars up to this many show their number above them.
const NUMBERED_BARS: usize = 31;

/// Vertical bars over a y axis of round ticks and an x axis of (some of) the bars' labels.
/// `unit` names the values ("views"); no bars, or only zeros, draw the axes and say so.
pub fn bar_chart(title: &str, unit: &str, bars: &[Bar]) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base = TOP + plot_h;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let y = Scale::new(max, plot_h, 5);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart bars" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" preserveAspectRatio="xMidYMid meet"><title>{}</title>"#,
        escape(title)
    );
    let _ = write!(
        s,
        r#"<desc>{} bars; the y axis runs from 0 to {} {}.</desc>"#,
        bars.len(),
        y.top,
        escape(unit)
    );
    // The y axis: grid lines and their numbers, the unit above them.
    for t in y.ticks() {
        let ty = base - y.at(t);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{ty:.1}" y2="{ty:.1}"/><text class="tick" x="{}" y="{ty:.1}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 8.0,
            count(t)
        );
    }
    let _ = write!(
        s,
        r#"<text class="axis-title" x="{}" y="{}" text-anchor="end">{}</text>"#,
        LEFT - 8.0,
        TOP - 14.0,
        escape(unit)
    );
    let band = plot_w / bars.len().max(1) as f64;
    let width = (band * 0.78).max(0.5);
    let every = bars.len().div_ceil(X_LABELS).max(1);
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + band * i as f64 + (band - width) / 2.0;
        let h = y.at(b.value);
        let _ = write!(
            s,
            r#"<rect class="bar" x="{x:.1}" y="{:.1}" width="{width:.1}" height="{h:.1}"><title>{}: {} {}</title></rect>"#,
            base - h,
            escape(&b.label),
            count(b.value),
            escape(unit)
        );
        let cx = x + width / 2.0;
        if bars.len() <= NUMBERED_BARS && b.value > 0 {
            let _ = write!(
                s,
                r#"<text class="value" x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                base - h - 5.0,
                count(b.value)
            );
        }
        if i % every == 0 {
            let _ = write!(
                s,
                r#"<text class="tick x" x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                base + 20.0,
                escape(&b.tick)
            );
        }
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{base}" y2="{base}"/>"#,
        WIDTH - RIGHT
    );
    if max == 0 {
        let _ = write!(
            s,
            r#"<text class="empty" x="{}" y="{}" text-anchor="middle">No {} in this range</text>"#,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0,
            escape(unit)
        );
    }
    s.push_str("</svg>");
    s
}

const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 28.0;
const SPARK_PAD: f64 = 3.0;

/// A small line of `values` (one point each, evenly spaced, 0 at the bottom), its last point
/// marked; one value is a dot, none an empty frame.
pub fn sparkline(title: &str, values: &[i64]) -> String {
    let mut s = format!(
        r#"<svg class="spark" viewBox="0 0 {SPARK_W} {SPARK_H}" width="{SPARK_W}" height="{SPARK_H}" role="img"><title>{}</title>"#,
        escape(title)
    );
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let y =
        |v: i64| SPARK_H - SPARK_PAD - (SPARK_H - 2.0 * SPARK_PAD) * v.max(0) as f64 / max as f64;
    let x = |i: usize| match values.len() {
        0 | 1 => SPARK_W / 2.0,
        n => SPARK_PAD + (SPARK_W - 2.0 * SPARK_PAD) * i as f64 / (n - 1) as f64,
    };
    if values.len() > 1 {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="spark-line" points="{}"/>"#,
            points.join(" ")
        );
    }
    if let Some(last) = values.last() {
        let _ = write!(
            s,
            r#"<circle class="spark-dot" cx="{:.1}" cy="{:.1}" r="2.5"/>"#,
            x(values.len() - 1),
            y(*last)
        );
    }
    s.push_str("</svg>");
    s
}

/// One row of an [`hbar_chart`].
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub value: i64,
    /// What follows the bar (e.g. `42 · 35%`).
    pub note: String,
}

const HBAR_W: f64 = 400.0;
const HBAR_ROW: f64 = 40.0;
/// The bars' room; the rest of the width is for the note after the longest.
const HBAR_LENGTH: f64 = 290.0;
/// Labels longer than this are cut (the `<title>` keeps them whole).
const LABEL_CHARS: usize = 44;

/// Horizontal bars, one row each: the label above its bar, the note after it; the longest
/// bar is the largest value. No rows draw a one-line frame that says so.
pub fn hbar_chart(title: &str, rows: &[Row]) -> String {
    let height = HBAR_ROW * rows.len().max(1) as f64;
    let mut s = format!(
        r#"<svg class="chart hbars" viewBox="0 0 {HBAR_W} {height}" role="img"><title>{}</title>"#,
        escape(title)
    );
    // The largest value fills the room (a scale's round top would leave a gap).
    let max = rows.iter().map(|r| r.value).max().unwrap_or(0).max(1);
    let at = |v: i64| HBAR_LENGTH * v.max(0) as f64 / max as f64;
    if rows.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="0" y="24">None in this range</text>"#
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let top = HBAR_ROW * i as f64;
        let w = at(r.value);
        let _ = write!(
            s,
            r#"<g class="row"><title>{}: {}</title><text class="label" x="0" y="{:.1}">{}</text><rect class="hbar-track" x="0" y="{:.1}" width="{HBAR_LENGTH}" height="12" rx="3"/><rect class="hbar" x="0" y="{:.1}" width="{w:.1}" height="12" rx="3"/><text class="value" x="{:.1}" y="{:.1}">{}</text></g>"#,
            escape(&r.label),
            escape(&r.note),
            top + 13.0,
            escape(&cut(&r.label, LABEL_CHARS)),
            top + 19.0,
            top + 19.0,
            HBAR_LENGTH + 8.0,
            top + 29.5,
            escape(&r.note)
        );
    }
    s.push_str("</svg>");
    s
}

/// `text` cut to `max` characters, an ellipsis marking the cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// A count with thousands separated: `12,345`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(values: &[i64]) -> Vec<Bar> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Bar {
                label: format!("day {i}"),
                tick: format!("d{i}"),
                value: *v,
            })
            .collect()
    }

    fn attr(svg: &str, element: &str, name: &str) -> Vec<f64> {
        svg.split(&format!("<{element} "))
            .skip(1)
            .filter_map(|e| {
                let from = e.find(&format!(" {name}=\""))? + name.len() + 3;
                e[from..].split('"').next()?.parse().ok()
            })
            .collect()
    }

    #[test]
    fn scales_have_round_ticks_that_reach_the_largest_value() {
        let s = Scale::new(7, 100.0, 5);
        assert_eq!((s.top, s.step), (8, 2));
        assert_eq!(s.ticks(), vec![0, 2, 4, 6, 8]);
        assert_eq!(s.at(4), 50.0);
        assert_eq!(
            Scale::new(100, 1.0, 5).ticks(),
            vec![0, 20, 40, 60, 80, 100]
        );
        assert_eq!(Scale::new(1234, 1.0, 5).step, 500);
        assert_eq!(Scale::new(1234, 1.0, 5).top, 1500);
        // Nothing to show still makes an axis 0..1, with no division by zero.
        let zero = Scale::new(0, 10.0, 5);
        assert_eq!((zero.top, zero.ticks()), (1, vec![0, 1]));
        assert_eq!(zero.at(0), 0.0);
        assert_eq!(Scale::new(3, 1.0, 5).ticks(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_bar_per_value_heights_in_proportion_and_axis_labels() {
        let svg = bar_chart("Views per day", "views", &bars(&[2, 0, 8, 4]));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>Views per day</title>"));
        let heights = attr(&svg, "rect", "height");
        assert_eq!(heights.len(), 4);
        assert_eq!(heights[2], HEIGHT - TOP - BOTTOM);
        assert_eq!(heights[0] * 4.0, heights[2]);
        assert_eq!(heights[1], 0.0);
        assert!(svg.contains("<title>day 2: 8 views</title>"));
        // y ticks 0, 2, 4, 6, 8; an x label per bar (few bars); numbers above non-zero bars.
        for t in ["d0", "d1", "d2", "d3", ">8</text>", ">6</text>"] {
            assert!(svg.contains(t), "{t}: {svg}");
        }
        assert_eq!(svg.matches(r#"class="value""#).count(), 3);
        assert!(!svg.contains("No views"));
    }

    #[test]
    fn many_bars_label_only_some_days_and_no_numbers() {
        let svg = bar_chart("t", "views", &bars(&[1; 90]));
        assert_eq!(svg.matches(r#"class="bar""#).count(), 90);
        assert_eq!(svg.matches(r#"class="tick x""#).count(), 10);
        assert_eq!(svg.matches(r#"class="value""#).count(), 0);
    }

    #[test]
    fn empty_data_draws_the_axes_and_says_so() {
        for data in [&[][..], &[0, 0, 0][..]] {
            let svg = bar_chart("t", "views", &bars(data));
            assert!(svg.contains("No views in this range"), "{svg}");
            assert_eq!(svg.matches(r#"class="bar""#).count(), data.len());
            assert!(svg.contains(r#"class="axis""#));
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
    }

    #[test]
    fn one_day_is_one_wide_bar_reaching_the_top() {
        let svg = bar_chart("t", "views", &bars(&[5]));
        assert_eq!(attr(&svg, "rect", "height"), vec![HEIGHT - TOP - BOTTOM]);
        let w = attr(&svg, "rect", "width")[0];
        assert!(w > 600.0, "{w}");
        assert!(svg.contains(">d0</text>"));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bar_chart("<a&b>", "views", &bars(&[1]));
        assert!(svg.contains("&lt;a&amp;b&gt;") && !svg.contains("<a&b>"));
        let svg = hbar_chart(
            "r",
            &[Row {
                label: "https://x.example/?a=<b>".into(),
                value: 1,
                note: "1".into(),
            }],
        );
        assert!(svg.contains("&lt;b&gt;"));
    }

    #[test]
    fn sparklines_have_a_point_per_value_and_handle_one_and_none() {
        let svg = sparkline("post: 0 to 4", &[0, 4, 2]);
        let points = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), 3);
        // 0 at the bottom, the largest at the top, evenly across.
        assert_eq!(
            points,
            format!(
                "{SPARK_PAD:.1},{:.1} 60.0,{SPARK_PAD:.1} {:.1},14.0",
                SPARK_H - SPARK_PAD,
                SPARK_W - SPARK_PAD
            )
        );
        assert!(svg.contains("<title>post: 0 to 4</title>"));
        let one = sparkline("one", &[3]);
        assert!(!one.contains("polyline") && one.contains(r#"cx="60.0""#));
        let none = sparkline("none", &[]);
        assert!(!none.contains("polyline") && !none.contains("circle"));
        assert!(!sparkline("z", &[0, 0]).contains("NaN"));
    }

    #[test]
    fn horizontal_bars_fill_the_room_for_the_largest() {
        let rows: Vec<Row> = [("desktop", 6), ("mobile", 3), ("tablet", 0)]
            .iter()
            .map(|(l, v)| Row {
                label: l.to_string(),
                value: *v,
                note: v.to_string(),
            })
            .collect();
        let svg = hbar_chart("Devices", &rows);
        let widths = attr(&svg, "rect", "width");
        // A track and a bar per row.
        assert_eq!(
            widths,
            vec![
                HBAR_LENGTH,
                HBAR_LENGTH,
                HBAR_LENGTH,
                HBAR_LENGTH / 2.0,
                HBAR_LENGTH,
                0.0
            ]
        );
        assert!(hbar_chart("none", &[]).contains("None in this range"));
        let long = "x".repeat(80);
        let svg = hbar_chart(
            "r",
            &[Row {
                label: long.clone(),
                value: 1,
                note: "1".into(),
            }],
        );
        assert!(svg.contains(&format!("<title>{long}: 1</title>")));
        assert!(svg.contains(&format!(">{}…</text>", "x".repeat(43))));
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(-12345), "-12,345");
    }
}
