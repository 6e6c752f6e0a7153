//! The dashboard's HTML: a header with the range and how to pick another, summary figures,
//! views per day, top posts with their sparklines, devices and referrers; every chart has a
//! table beside it or under a `<details>`, for screen readers and copying.

use std::fmt::Write;

use chrono::NaiveDate;

use super::chart::{self, count, Bar, Row};
use crate::stats::{DayRange, Stats};
use crate::templates::escape;

/// The page's style, inlined.
const CSS: &str = include_str!("dashboard.css");
/// The ranges the served page offers as links, in days.
const PRESETS: [u64; 4] = [7, 30, 90, 365];

/// How the page lets one choose the range.
#[derive(Debug, Clone)]
pub enum Picker {
    /// Served: a form that reloads `action` with `?from=&to=`, and links for the last days
    /// ending `today`.
    Form { action: String, today: NaiveDate },
    /// Written to a file: the command line that chose the range, to show.
    Command(String),
}

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The site's title.
    pub site: &'a str,
    pub stats: &'a Stats,
    /// The days `stats` covers.
    pub range: DayRange,
    pub picker: Picker,
    /// When the page was made, as shown (e.g. `2026-12-08 10:00 UTC`).
    pub generated: String,
}

/// The whole page.
pub fn render(p: &Page) -> String {
    let s = p.stats;
    let mut h = String::with_capacity(32 * 1024);
    let _ = write!(
        h,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Stats · {site}</title>
<style>
{CSS}</style>
</head>
<body>
<header>
<div>
<h1>{site} <span>stats</span></h1>
<p class="range">{range}</p>
</div>
{picker}
</header>
<main>
"#,
        site = escape(p.site),
        range = range_text(p),
        picker = picker(&p.picker, &p.range),
    );
    cards(&mut h, p);
    per_day(&mut h, p);
    h.push_str("<div class=\"columns\">\n");
    top_posts(&mut h, s);
    h.push_str("<div>\n");
    devices(&mut h, s);
    referrers(&mut h, s);
    h.push_str("</div>\n</div>\n");
    let _ = write!(
        h,
        r#"</main>
<footer>Made by bloggo at {}. Views are those of people (bots are never counted) of post pages; days are UTC; addresses are kept only anonymised.</footer>
</body>
</html>
"#,
        escape(&p.generated)
    );
    h
}

/// `1 Dec 2026 – 30 Dec 2026 · 30 days (UTC)`, and the first moment when it is not midnight.
fn range_text(p: &Page) -> String {
    let (from, to) = (p.range.from, p.range.to);
    let days = p.range.day_count();
    let mut t = format!(
        "{} – {} · {} day{} (UTC)",
        from.format("%-d %b %Y"),
        to.format("%-d %b %Y"),
        days,
        if days == 1 { "" } else { "s" }
    );
    if !p.stats.since.ends_with("00:00:00") {
        let _ = write!(t, ", from {} UTC", escape(&p.stats.since));
    }
    t
}

fn picker(picker: &Picker, range: &DayRange) -> String {
    match picker {
        Picker::Form { action, today } => {
            let action = escape(action);
            let mut presets = String::new();
            for days in PRESETS {
                let r = DayRange::ending(*today, days);
                let _ = write!(
                    presets,
                    r#"<a href="{action}?from={}&amp;to={}">{days} days</a>"#,
                    r.from, r.to
                );
            }
            format!(
                r#"<form class="picker" method="get" action="{action}">
<label>From <input type="date" name="from" value="{}" max="{today}" required></label>
<label>To <input type="date" name="to" value="{}" max="{today}" required></label>
<button type="submit">Show</button>
<span class="presets">Last{presets}</span>
</form>"#,
                range.from, range.to
            )
        }
        Picker::Command(line) => format!(
            r#"<p class="note">Range chosen with <code>{}</code>;<br>another one: <code>--since 7d</code>, or <code>--from YYYY-MM-DD --to YYYY-MM-DD</code>.</p>"#,
            escape(line)
        ),
    }
}

fn cards(h: &mut String, p: &Page) {
    let s = p.stats;
    let days = p.range.day_count() as f64;
    let busiest = s.days.iter().filter(|d| d.views > 0).max_by(|a, b| {
        a.views.cmp(&b.views).then(b.day.cmp(&a.day)) // the earliest of equal days
    });
    let busiest = busiest.map_or_else(
        || "—".to_string(),
        |d| format!("{} ({})", d.day.format("%-d %b"), count(d.views)),
    );
    let top = s.posts.first().map_or("—", |p| p.title.as_str());
    let figures = [
        (count(s.total), "views", ""),
        (format!("{:.1}", s.total as f64 / days), "views a day", ""),
        (busiest, "busiest day", ""),
        (top.to_string(), "most viewed post", " small"),
    ];
    h.push_str("<ul class=\"cards\">\n");
    for (figure, what, class) in figures {
        let _ = writeln!(
            h,
            r#"<li class="card"><span class="figure{class}" title="{f}">{f}</span><span class="what">{what}</span></li>"#,
            f = escape(&figure)
        );
    }
    h.push_str("</ul>\n");
}

fn per_day(h: &mut String, p: &Page) {
    let bars: Vec<Bar> = p
        .stats
        .days
        .iter()
        .map(|d| Bar {
            label: d.day.format("%a %-d %b %Y").to_string(),
            tick: d.day.format("%-d %b").to_string(),
            value: d.views,
        })
        .collect();
    let _ = write!(
        h,
        "<section aria-labelledby=\"per-day\">\n<h2 id=\"per-day\">Views per day</h2>\n{}\n",
        chart::bar_chart("Views per day", "views", &bars)
    );
    h.push_str("<details><summary>Views per day as a table</summary>\n<table><thead><tr><th scope=\"col\">Day (UTC)</th><th scope=\"col\" class=\"num\">Views</th></tr></thead><tbody>\n");
    for d in &p.stats.days {
        let _ = writeln!(
            h,
            r#"<tr><td>{}</td><td class="num">{}</td></tr>"#,
            d.day,
            count(d.views)
        );
    }
    h.push_str("</tbody></table></details>\n</section>\n");
}

fn top_posts(h: &mut String, s: &Stats) {
    h.push_str("<section aria-labelledby=\"top-posts\">\n<h2 id=\"top-posts\">Top posts</h2>\n");
    if s.posts.is_empty() {
        h.push_str("<p class=\"note\">No post was viewed in this range.</p>\n</section>\n");
        return;
    }
    h.push_str("<table><thead><tr><th scope=\"col\">Post</th><th scope=\"col\" class=\"num\">Views</th><th scope=\"col\">Per day</th></tr></thead><tbody>\n");
    for post in &s.posts {
        let peak = post.daily.iter().copied().max().unwrap_or(0);
        let spark = chart::sparkline(
            &format!(
                "{}: views per day, {} days, at most {} a day",
                post.title,
                post.daily.len(),
                count(peak)
            ),
            &post.daily,
        );
        let _ = writeln!(
            h,
            r#"<tr><td>{}<span class="slug">{}</span></td><td class="num">{}</td><td>{spark}</td></tr>"#,
            escape(&post.title),
            escape(&post.slug),
            count(post.views)
        );
    }
    h.push_str("</tbody></table>\n</section>\n");
}

/// `42 · 35%` (of `total`).
fn share(n: i64, total: i64) -> String {
    let pct = if total > 0 {
        100.0 * n as f64 / total as f64
    } else {
        0.0
    };
    format!("{} · {pct:.0}%", count(n))
}

fn devices(h: &mut String, s: &Stats) {
    let d = &s.devices;
    let rows: Vec<Row> = [
        ("Desktop", d.desktop),
        ("Mobile", d.mobile),
        ("Tablet", d.tablet),
    ]
    .into_iter()
    .map(|(label, n)| Row {
        label: label.to_string(),
        value: n,
        note: share(n, s.total),
    })
    .collect();
    let _ = write!(
        h,
        "<section aria-labelledby=\"devices\">\n<h2 id=\"devices\">Devices</h2>\n{}\n",
        chart::hbar_chart("Views by device", &rows)
    );
    table_of(h, "Views by device as a table", "Device", &rows);
    h.push_str("</section>\n");
}

fn referrers(h: &mut String, s: &Stats) {
    let counted: i64 = s.referrers.iter().map(|r| r.views).sum();
    let rows: Vec<Row> = s
        .referrers
        .iter()
        .map(|r| Row {
            label: r.referrer.clone(),
            value: r.views,
            note: share(r.views, s.total),
        })
        .collect();
    let _ = write!(
        h,
        "<section aria-labelledby=\"referrers\">\n<h2 id=\"referrers\">Referrers</h2>\n{}\n",
        chart::hbar_chart("Views by referrer", &rows)
    );
    let _ = writeln!(
        h,
        r#"<p class="note">{} of {} views came with no referrer (typed, bookmarked, or the browser did not say).</p>"#,
        count(s.total - counted.min(s.total)),
        count(s.total)
    );
    if !rows.is_empty() {
        table_of(h, "Referrers as a table", "Referrer", &rows);
    }
    h.push_str("</section>\n");
}

/// A chart's rows as a table under a `<details>`.
fn table_of(h: &mut String, summary: &str, what: &str, rows: &[Row]) {
    let _ = write!(
        h,
        "<details><summary>{summary}</summary>\n<table><thead><tr><th scope=\"col\">{what}</th><th scope=\"col\" class=\"num\">Views</th></tr></thead><tbody>\n"
    );
    for r in rows {
        let _ = writeln!(
            h,
            r#"<tr><td>{}</td><td class="num">{}</td></tr>"#,
            escape(&r.label),
            escape(&r.note)
        );
    }
    h.push_str("</tbody></table></details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{parse_day, Day, Devices, PostLine, Referrer};

    fn stats(range: &DayRange, per_day: &[i64]) -> Stats {
        Stats {
            since: range.span().since,
            until: range.span().until,
            total: per_day.iter().sum(),
            days: range
                .iter()
                .zip(per_day)
                .map(|(day, views)| Day { day, views: *views })
                .collect(),
            posts: vec![PostLine {
                slug: "a-post".into(),
                title: "A <post>".into(),
                views: per_day.iter().sum(),
                daily: per_day.to_vec(),
            }],
            devices: Devices {
                desktop: 3,
                mobile: 1,
                tablet: 0,
            },
            referrers: vec![Referrer {
                referrer: "https://news.example/".into(),
                views: 2,
            }],
        }
    }

    fn page(s: &Stats, range: DayRange, picker: Picker) -> String {
        render(&Page {
            site: "My & blog",
            stats: s,
            range,
            picker,
            generated: "2026-01-04 10:00 UTC".into(),
        })
    }

    #[test]
    fn the_page_holds_every_chart_and_its_table_and_escapes_names() {
        let range = DayRange::new(
            parse_day("2026-01-01").unwrap(),
            parse_day("2026-01-03").unwrap(),
        )
        .unwrap();
        let s = stats(&range, &[1, 0, 3]);
        let html = page(
            &s,
            range,
            Picker::Command("bloggo stats --html x --since 3d".into()),
        );
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<title>Stats · My &amp; blog</title>"));
        assert!(html.contains("1 Jan 2026 – 3 Jan 2026 · 3 days (UTC)"));
        assert_eq!(html.matches(r#"class="bar""#).count(), 3);
        assert_eq!(html.matches("<svg class=\"spark\"").count(), 1);
        assert!(html.contains("A &lt;post&gt;") && !html.contains("A <post>"));
        assert!(html.contains("<code>bloggo stats --html x --since 3d</code>"));
        assert!(!html.contains("<form"));
        assert!(
            !html.contains("<script") && !html.contains("http://") && !html.contains("@import")
        );
        // Busiest day, average, the referrer's share, what came without one.
        assert!(html.contains("3 Jan (3)"), "{html}");
        assert!(html.contains(">1.3</span>"));
        assert!(html.contains("2 · 50%"));
        assert!(html.contains("2 of 4 views came with no referrer"));
        assert_eq!(html.matches("<details>").count(), 3);
    }

    #[test]
    fn served_the_page_has_a_form_and_preset_links() {
        let today = parse_day("2026-01-31").unwrap();
        let range = DayRange::ending(today, 1);
        let s = stats(&range, &[0]);
        let html = page(
            &s,
            range,
            Picker::Form {
                action: "/_bloggo/stats".into(),
                today,
            },
        );
        assert!(html.contains(r#"<form class="picker" method="get" action="/_bloggo/stats">"#));
        assert!(html.contains(r#"name="from" value="2026-01-31""#));
        assert!(html.contains(r#"href="/_bloggo/stats?from=2026-01-25&amp;to=2026-01-31">7 days"#));
        assert!(html.contains("1 day (UTC)"));
        assert!(html.contains("No views in this range"));
        assert!(html.contains(">—</span>"));
    }
}
