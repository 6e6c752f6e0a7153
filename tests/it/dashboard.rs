//! The stats dashboard: `bloggo stats --html` and serve's `/_bloggo/stats` over views of
//! known days (written into `post_views` as serve records them), checked in the SVG, and
//! rendered by a real browser (headless Chromium) when one is installed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::harness::Site;
use crate::serve::{Client, DESKTOP, PHONE, TABLET};

const DAYS: usize = 14;
const POSTS: [(&str, &str); 4] = [
    ("alpha", "Alpha & Omega"),
    ("beta", "Beta"),
    ("gamma", "Gamma"),
    ("delta", "Delta"),
];

/// Views of post `p` on day `d` (0-based from 2026-03-01).
fn views_of(p: usize, d: usize) -> usize {
    match p {
        0 => 2 + (d * 3) % 7,
        1 => (d % 4) * 2,
        2 => {
            if d.is_multiple_of(3) {
                5
            } else {
                1
            }
        }
        _ => usize::from(d == DAYS - 1) * 4,
    }
}

fn day(d: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Days::new(d as u64)
}

/// What the test data adds up to.
#[derive(Default)]
struct Expected {
    per_day: Vec<usize>,
    desktop: usize,
    mobile: usize,
    tablet: usize,
    news: usize,
}

/// A site whose posts have the views of [`views_of`] from 2026-03-01 to 2026-03-14 (every
/// sixth view a tablet's, every sixth a phone's, every fifth from news.example), and one
/// view each just before and just after.
fn site() -> (Site, Expected) {
    let site = Site::new();
    let ids: Vec<i64> = POSTS.iter().map(|(s, t)| site.add_post(s, t)).collect();
    let c = site.conn();
    let mut insert = c
        .prepare(
            "INSERT INTO post_views (post_id, ip_address, user_agent, referrer, viewed_at)
             VALUES (?1, 'k:00', ?2, ?3, ?4)",
        )
        .unwrap();
    let mut e = Expected {
        per_day: vec![0; DAYS],
        ..Expected::default()
    };
    let mut n = 0usize;
    for d in 0..DAYS {
        for (p, id) in ids.iter().enumerate() {
            for _ in 0..views_of(p, d) {
                let ua = match n % 6 {
                    4 => {
                        e.mobile += 1;
                        PHONE
                    }
                    5 => {
                        e.tablet += 1;
                        TABLET
                    }
                    _ => {
                        e.desktop += 1;
                        DESKTOP
                    }
                };
                let referrer = n.is_multiple_of(5).then_some("https://news.example/item");
                e.news += usize::from(referrer.is_some());
                let at = format!("{} {:02}:{:02}:00", day(d), n % 24, n % 60);
                insert
                    .execute(rusqlite::params![id, ua, referrer, at])
                    .unwrap();
                e.per_day[d] += 1;
                n += 1;
            }
        }
    }
    for at in ["2026-02-28 23:59:59", "2026-03-15 00:00:00"] {
        insert
            .execute(rusqlite::params![ids[0], DESKTOP, None::<String>, at])
            .unwrap();
    }
    (site, e)
}

/// What the page of 2026-03-01..14 must show, whoever made it.
fn check_page(html: &str, e: &Expected) {
    let total: usize = e.per_day.iter().sum();
    // A bar per day, each with its number in its title; the days' short labels on the x axis
    // (every second one of 14).
    assert_eq!(html.matches(r#"<rect class="bar""#).count(), DAYS, "{html}");
    for (d, n) in e.per_day.iter().enumerate() {
        let title = format!(
            "<title>{}: {n} views</title>",
            day(d).format("%a %-d %b %Y")
        );
        assert!(html.contains(&title), "{title}");
        let row = format!("<tr><td>{}</td><td class=\"num\">{n}</td></tr>", day(d));
        assert!(html.contains(&row), "{row}");
    }
    assert_eq!(html.matches(r#"class="tick x""#).count(), 7);
    for label in [">1 Mar</text>", ">13 Mar</text>"] {
        assert!(html.contains(label), "{label}");
    }
    // The y axis reaches the busiest day with round ticks.
    let busiest = *e.per_day.iter().max().unwrap();
    assert_eq!(busiest, 15);
    for tick in [0, 5, 10, 15] {
        let tick = format!(r#"dominant-baseline="middle">{tick}</text>"#);
        assert_eq!(html.matches(&tick).count(), 1, "{tick}");
    }
    // Top posts, most viewed first, each with a 14-point sparkline.
    assert_eq!(html.matches(r#"<svg class="spark""#).count(), 4);
    for points in html
        .split(r#"<polyline class="spark-line" points=""#)
        .skip(1)
    {
        let points = points.split('"').next().unwrap();
        assert_eq!(points.split(' ').count(), DAYS, "{points}");
    }
    let alpha = html.find("Alpha &amp; Omega<span").unwrap();
    let delta = html.find("Delta<span").unwrap();
    assert!(alpha < delta);
    // Devices and referrers: bars with counts and shares, and their tables.
    let pct = |n: usize| format!("{:.0}", 100.0 * n as f64 / total as f64);
    for (label, n) in [
        ("Desktop", e.desktop),
        ("Mobile", e.mobile),
        ("Tablet", e.tablet),
        ("https://news.example/item", e.news),
    ] {
        let title = format!("<title>{label}: {n} · {}%</title>", pct(n));
        assert!(html.contains(&title), "{title}\n{html}");
    }
    assert!(html.contains(&format!(
        "{} of {total} views came with no referrer",
        total - e.news
    )));
    assert!(html.contains(&format!(
        r#"<span class="figure" title="{total}">{total}</span>"#
    )));
    // Self-contained: nothing fetched, nothing run.
    for outside in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!html.contains(outside), "{outside}");
    }
}

#[test]
fn stats_html_writes_one_page_whose_svg_shows_the_views_of_the_range() {
    let (site, e) = site();
    let out = site
        .run(&[
            "stats",
            "--html",
            "stats.html",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-14",
        ])
        .ok()
        .stdout;
    let total: usize = e.per_day.iter().sum();
    assert!(out.contains(&format!("({total} views, 14 days)")), "{out}");
    let html = site.read("stats.html");
    check_page(&html, &e);
    assert!(html.contains("1 Mar 2026 – 14 Mar 2026 · 14 days (UTC)"));
    assert!(html.contains("<code>bloggo stats --html --from 2026-03-01 --to 2026-03-14</code>"));
    assert!(!html.contains("<form"));
    // The text report reads the same range.
    let text = site
        .run(&["stats", "--from", "2026-03-01", "--to", "2026-03-14"])
        .ok()
        .stdout;
    assert!(
        text.starts_with(&format!(
            "Views from 2026-03-01 to 2026-03-14 (since 2026-03-01 00:00:00 UTC): {total}\n"
        )),
        "{text}"
    );
    // The default window (none of these views are in it) is a page too, empty.
    site.run(&["stats", "--html", "recent.html"]).ok();
    let recent = site.read("recent.html");
    assert!(recent.contains("No views in this range"));
    assert_eq!(recent.matches(r#"<rect class="bar""#).count(), 31);
    assert!(recent.contains("<code>bloggo stats --html --since 30d</code>"));
    // Ranges refused with a reason.
    let bad = site
        .run(&[
            "stats",
            "--html",
            "x.html",
            "--from",
            "2026-03-05",
            "--to",
            "2026-03-01",
        ])
        .fails();
    assert!(
        bad.stderr.contains("ends (2026-03-01) before it begins"),
        "{}",
        bad.stderr
    );
    let bad = site.run(&["stats", "--from", "March"]).fails();
    assert!(bad.stderr.contains("YYYY-MM-DD"), "{}", bad.stderr);
}

#[test]
fn serve_answers_the_page_to_loopback_with_a_range_form() {
    let (site, e) = site();
    let mut s = site.serve(&["--no-build"]);
    let page = s.get("/_bloggo/stats?from=2026-03-01&to=2026-03-14", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let html = page.text();
    check_page(&html, &e);
    assert!(html.contains(r#"<form class="picker" method="get" action="/_bloggo/stats">"#));
    assert!(html.contains(r#"name="from" value="2026-03-01""#));
    assert!(html.contains(r#"name="to" value="2026-03-14""#));
    // The default range is the last 30 days; a bad range is a 400 with the reason.
    let recent = s.get("/_bloggo/stats", &[]).text();
    assert_eq!(recent.matches(r#"<rect class="bar""#).count(), 30);
    let bad = s.get("/_bloggo/stats?from=2026-03-05&to=2026-03-01", &[]);
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("before it begins"), "{}", bad.text());
    // Through a proxy every client looks local: refused. Only GET and HEAD.
    let proxied = s.get("/_bloggo/stats", &[("X-Forwarded-For", "203.0.113.9")]);
    assert_eq!(proxied.status, 403);
    let posted = Client::connect(s.addr).send_body("POST", "/_bloggo/stats", &[], b"");
    assert_eq!(posted.status, 405);
    let head = Client::connect(s.addr).send("HEAD", "/_bloggo/stats", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(s.terminate(), 0);
}

/// The browser the headless test drives: `BLOGGO_CHROMIUM`, else the first of the usual
/// names on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BLOGGO_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|p| p.is_file())
}

/// Runs the browser headless on `url` with `args`; its stdout. Killed after 90 s.
fn headless(browser: &Path, profile: &Path, url: &str, args: &[&str]) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the browser");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} {args:?} did not finish within 90 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{} {args:?}: {status}", browser.display());
    reader.join().unwrap()
}

/// A PNG's width, height and how many different byte values its pixel rows hold (a page of
/// one colour holds a handful; text and charts, many).
fn png_facts(png: &[u8]) -> (u32, u32, usize) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let (mut at, mut size, mut idat) = (8, (0, 0), Vec::new());
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                size = (
                    u32::from_be_bytes(data[0..4].try_into().unwrap()),
                    u32::from_be_bytes(data[4..8].try_into().unwrap()),
                )
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + len;
    }
    let mut rows = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut rows)
        .expect("the PNG's pixels inflate");
    let mut seen = [false; 256];
    for b in rows {
        seen[b as usize] = true;
    }
    (size.0, size.1, seen.iter().filter(|s| **s).count())
}

#[test]
fn the_page_renders_in_headless_chromium_with_its_charts() {
    let Some(browser) = chromium() else {
        eprintln!(
            "skipped: no Chromium (chromium, chromium-browser, google-chrome on the PATH, or \
             BLOGGO_CHROMIUM); `.ci/setup` installs Debian's `chromium` when run as root"
        );
        return;
    };
    let (site, _) = site();
    site.run(&[
        "stats",
        "--html",
        "stats.html",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-14",
    ])
    .ok();
    let page = site.path("stats.html");
    let url = format!("file://{}", page.display());
    let profile = site.tmp.path().join("chromium-profile");
    // The DOM the browser built holds the charts.
    let dom = headless(&browser, &profile, &url, &["--dump-dom"]);
    assert!(dom.contains("<svg class=\"chart bars\""), "{dom}");
    assert_eq!(dom.matches("<rect class=\"bar\"").count(), DAYS);
    assert_eq!(dom.matches("<svg class=\"spark\"").count(), 4);
    assert!(dom.contains("<polyline class=\"spark-line\""));
    // A screenshot: written, the window's size, not one flat colour.
    let shot = site.tmp.path().join("dash.png");
    headless(
        &browser,
        &profile,
        &url,
        &[&format!("--screenshot={}", shot.display())],
    );
    let png = std::fs::read(&shot).expect("the screenshot is written");
    assert!(png.len() > 20_000, "a screenshot of {} bytes", png.len());
    let (w, h, values) = png_facts(&png);
    assert_eq!((w, h), (1280, 900));
    assert!(values > 64, "only {values} byte values: a blank page?");
    if let Some(keep) = std::env::var_os("BLOGGO_DASH_PNG") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
