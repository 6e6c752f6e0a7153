//! `bloggo views ingest`: a generated nginx log (persons on three kinds of device, bots,
//! 404s, assets, an alias, other methods, a bad line), gzip for the older file, a rotated
//! file repeating the tail of the last one; exactly the expected views per post and device,
//! and reading the logs again adds nothing.

use std::io::Write;

use crate::harness::Site;

const DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
const TABLET: &str = "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
const BOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// A site deployed under `https://example.org/blog/` with the posts `a` (alias `/old-a/`)
/// and `b`, built.
fn site() -> Site {
    let site = Site::new();
    let cfg = site.read("bloggo.toml");
    let cfg: String = cfg
        .lines()
        .map(|l| {
            if l.starts_with("base_url") {
                "base_url = \"https://example.org/blog/\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    site.write("bloggo.toml", &cfg);
    site.write(
        "old/a.md",
        "---\ntitle: A\ndate: 2026-01-02\nslug: a\naliases:\n  - /old-a/\n---\nA.\n",
    );
    site.write(
        "old/b.md",
        "---\ntitle: B\ndate: 2026-01-03\nslug: b\n---\nB.\n",
    );
    let dir = site.path("old");
    site.run(&["import", dir.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    site
}

/// A combined-format line of 2026-03-01 at `sec` seconds past 10:00 (+0100).
fn line(ip: &str, sec: u32, method: &str, path: &str, status: u16, ua: &str) -> String {
    format!(
        "{ip} - - [01/Mar/2026:10:{:02}:{:02} +0100] \"{method} {path} HTTP/1.1\" {status} 512 \"https://search.example/?q=secret\" \"{ua}\"",
        sec / 60,
        sec % 60
    )
}

/// (title, desktop, mobile, tablet) per post from `post_statistics`, and the `post_views`
/// rows agree.
fn per_post(site: &Site) -> Vec<Vec<String>> {
    assert_eq!(
        site.count("SELECT count(*) FROM post_views"),
        site.count("SELECT ifnull(sum(view_count), 0) FROM post_statistics")
    );
    site.rows(
        "SELECT p.title, s.desktop_views, s.mobile_views, s.tablet_views,
                (SELECT count(*) FROM post_views v WHERE v.post_id = p.id)
           FROM posts p LEFT JOIN post_statistics s ON s.post_id = p.id ORDER BY p.title",
    )
}

#[test]
fn a_rotated_nginx_log_counts_each_view_once_per_post_and_device() {
    let site = site();
    // The older file (gzip, named without .gz: told by its bytes).
    let older = [
        line("203.0.113.1", 0, "GET", "/blog/posts/a/", 200, DESKTOP),
        line(
            "203.0.113.2",
            1,
            "GET",
            "/blog/posts/a/?utm_source=x",
            200,
            PHONE,
        ),
        line(
            "203.0.113.3",
            2,
            "GET",
            "/blog/posts/b/index.html",
            304,
            TABLET,
        ),
        line("66.249.66.1", 3, "GET", "/blog/posts/a/", 200, BOT),
        line(
            "203.0.113.4",
            4,
            "GET",
            "/blog/posts/missing/",
            404,
            DESKTOP,
        ),
        line("203.0.113.4", 5, "GET", "/blog/style.css", 200, DESKTOP),
        line("203.0.113.4", 6, "GET", "/blog/", 200, DESKTOP),
        // An old link: the redirect page, then the post's page the browser asks for next.
        line("203.0.113.5", 7, "GET", "/blog/old-a/", 200, PHONE),
        line("203.0.113.5", 8, "GET", "/blog/posts/a/", 200, PHONE),
        "this is not a log line".to_string(),
        line("203.0.113.6", 9, "HEAD", "/blog/posts/b/", 200, DESKTOP),
        line("203.0.113.6", 10, "POST", "/blog/posts/b/", 200, DESKTOP),
        line("203.0.113.6", 11, "GET", "/posts/b/", 200, DESKTOP),
        line("2001:db8::7", 12, "GET", "/blog/posts/b/", 200, DESKTOP),
        line("203.0.113.8", 13, "GET", "/blog/posts/b/", 200, PHONE),
    ];
    // The newer file repeats the older one's last three lines (a path outside the site's
    // root, two views).
    let newer: Vec<String> = older[older.len() - 3..]
        .iter()
        .cloned()
        .chain([
            line("203.0.113.9", 20, "GET", "/blog/posts/a/", 200, TABLET),
            line("203.0.113.9", 21, "GET", "/blog/posts/b/", 301, TABLET),
            line("203.0.113.10", 22, "GET", "/blog/posts/b/", 200, DESKTOP),
        ])
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all((older.join("\n") + "\n").as_bytes()).unwrap();
    let older_path = site.path("access.log.1");
    std::fs::write(&older_path, gz.finish().unwrap()).unwrap();
    let newer_path = site.write("access.log", &(newer.join("\r\n") + "\r\n"));
    let (older_path, newer_path) = (older_path.to_str().unwrap(), newer_path.to_str().unwrap());

    let out = site
        .run(&["views", "ingest", older_path, newer_path])
        .ok()
        .stdout;
    assert!(out.contains("Read 21 lines from 2 files."), "{out}");
    assert!(
        out.contains("Views counted: 8 (desktop 3, mobile 3, tablet 2)"),
        "{out}"
    );
    for (n, why) in [
        (1, "bot"),
        (2, "status not 200/304"),
        (2, "not GET"),
        (1, "not a page (asset)"),
        (1, "redirect page"),
        (3, "page of no post"),
        (2, "duplicate (counted before)"),
    ] {
        assert!(
            out.contains(&format!("{n:>10}  {why}")),
            "{n} {why}:\n{out}"
        );
    }
    assert!(
        out.contains(&format!("1  unparseable, the first at {older_path}:10")),
        "{out}"
    );
    let expected = vec![vec!["A", "1", "2", "1", "4"], vec!["B", "2", "1", "1", "4"]];
    assert_eq!(per_post(&site), expected);
    // Each view at its line's own time (UTC), its address hashed, the referrer's query gone.
    assert_eq!(
        site.rows("SELECT min(viewed_at), max(viewed_at) FROM post_views"),
        vec![vec!["2026-03-01 09:00:00", "2026-03-01 09:00:22"]]
    );
    assert_eq!(
        site.count(
            "SELECT count(*) FROM post_views WHERE ip_address LIKE '%203.0.113%'
                OR ip_address LIKE '%2001:db8%' OR ip_address NOT LIKE 'h:%'
                OR referrer <> 'https://search.example/'"
        ),
        0
    );

    // Read again, in either order or one file alone: nothing more counts.
    for files in [
        vec![older_path, newer_path],
        vec![newer_path, older_path],
        vec![newer_path],
    ] {
        let mut args = vec!["views", "ingest"];
        args.extend(files);
        let again = site.run(&args).ok().stdout;
        assert!(
            again.contains("Views counted: 0 (desktop 0, mobile 0, tablet 0)"),
            "{again}"
        );
        assert_eq!(per_post(&site), expected);
    }
    let stats = site.run(&["stats", "--since", "3650d"]).ok().stdout;
    assert!(stats.contains(": 8\n"), "{stats}");
}

#[test]
fn cloudfront_logs_and_missing_files() {
    let site = site();
    let log = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query\n"
        .to_string()
        + &[
            ("192.0.2.1", "/blog/posts/a/", "200", PHONE),
            ("192.0.2.2", "/blog/posts/b/", "200", BOT),
            ("192.0.2.3", "/blog/posts/b/", "200", TABLET),
        ]
        .iter()
        .map(|(ip, path, status, ua)| {
            format!(
                "2026-03-02\t08:00:00\tLAX1\t100\t{ip}\tGET\td1.cloudfront.net\t{path}\t{status}\t-\t{}\t-\n",
                ua.replace(' ', "%20")
            )
        })
        .collect::<String>();
    let path = site.write("cf.log", &log);
    let out = site
        .run(&["views", "ingest", path.to_str().unwrap()])
        .ok()
        .stdout;
    assert!(
        out.contains("Views counted: 2 (desktop 0, mobile 1, tablet 1)"),
        "{out}"
    );
    assert_eq!(
        site.rows("SELECT DISTINCT viewed_at FROM post_views"),
        vec![vec!["2026-03-02 08:00:00"]]
    );
    let missing = site.run(&["views", "ingest", "no-such.log"]).fails();
    assert!(missing.stderr.contains("no-such.log"), "{}", missing.stderr);
}
