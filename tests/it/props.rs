//! Property tests (issue 9): slugs, pagination of a built site, and the GFS retention set.

use std::collections::{BTreeSet, HashSet};

use bloggo::config::{Settings, Timezone};
use bloggo::frontmatter::slug::slugify;
use bloggo::frontmatter::ParseContext;
use bloggo::import::parse_file;
use proptest::prelude::*;

use crate::harness::Site;

fn is_url_segment(s: &str) -> bool {
    !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn context() -> ParseContext {
    ParseContext {
        timezone: Timezone::utc(),
        words_per_minute: 200,
        max_file_size: 1 << 20,
        forced_status: None,
        file_time: None,
        root_pages: false,
        dotless_slugs: false,
        default_language: None,
    }
}

/// Text with the characters titles really have: accents, other scripts, punctuation, emoji.
fn title() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9 ]{1,8}",
            "[àéîõüßçñÆØÅ]{1,3}",
            "[Привет мир]{1,4}",
            "[日本語中文]{1,3}",
            "[-_.,:;!?'\"/\\\\()\\[\\]{}#&%+*=<>@$~`|^ \t]{1,3}",
            "[😀🚀✨]{1,2}",
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A slug is always a valid URL path segment: lowercase ASCII letters, digits and single
    /// inner hyphens (or empty when nothing transliterates), and slugifying it again keeps it.
    #[test]
    fn slugs_are_valid_url_segments_and_idempotent(s in title()) {
        let slug = slugify(&s);
        prop_assert!(is_url_segment(&slug), "{s:?} → {slug:?}");
        prop_assert_eq!(slugify(&slug), slug.clone(), "not idempotent for {:?}", s);
        // A segment needs no percent-encoding.
        let encoded = percent_encoding::utf8_percent_encode(&slug, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        prop_assert_eq!(encoded.replace("%2D", "-"), slug);
    }

    /// A post's tags and categories are de-duplicated by slug: whatever spellings the front
    /// matter repeats, each slug appears once and none is empty.
    #[test]
    fn tags_and_categories_are_unique_by_slug_after_dedup(
        tags in prop::collection::vec(title(), 0..10),
        cats in prop::collection::vec(title(), 0..5),
    ) {
        let mut all_tags = tags.clone();
        // Repeat some in other spellings (case, spacing) so de-duplication has work to do.
        all_tags.extend(tags.iter().map(|t| t.to_uppercase()));
        let list = |v: &[String]| {
            v.iter().map(|t| serde_json::to_string(t).unwrap()).collect::<Vec<_>>().join(", ")
        };
        let src = format!(
            "---\ntitle: Post\ntags: [{}]\ncategories: [{}]\n---\nbody\n",
            list(&all_tags),
            list(&cats)
        );
        let post = match parse_file("2024-01-02-post.md", src.as_bytes(), &context()) {
            Ok(p) => p.fields,
            // Some generated names are not valid YAML scalars in a flow list (e.g. a lone `-`):
            // those are reported problems, not panics; nothing to check then.
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                return Ok(());
            }
        };
        let slugs: Vec<String> = post.tags.iter().map(|t| slugify(t)).collect();
        let unique: HashSet<&String> = slugs.iter().collect();
        prop_assert_eq!(unique.len(), slugs.len(), "tags {:?}", post.tags);
        prop_assert!(slugs.iter().all(|s| !s.is_empty() && is_url_segment(s)));
        prop_assert!(is_url_segment(&post.slug) && !post.slug.is_empty());
    }
}

/// Post paths on each listing page of a built site (`/`, `/page/2/`, …), in order, and the
/// number of pages found.
fn listing_pages(site: &Site) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    for n in 1.. {
        let rel = if n == 1 {
            "public/index.html".to_string()
        } else {
            format!("public/page/{n}/index.html")
        };
        let Ok(html) = std::fs::read_to_string(site.path(&rel)) else {
            break;
        };
        let posts = html
            .split("<article class=\"card\">")
            .skip(1)
            .map(|card| {
                let href = card.split("href=\"").nth(1).expect("a link in the card");
                href[..href.find('"').unwrap()].to_string()
            })
            .collect();
        pages.push(posts);
    }
    pages
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// Every published post is on exactly one listing page, newest first, each page holds
    /// `paginate` posts but the last, and there are exactly ceil(n / paginate) pages (one when
    /// there is no post).
    #[test]
    fn every_post_is_on_exactly_one_page(n in 0usize..24, per in 1usize..7, drafts in 0usize..3) {
        let site = Site::new();
        let config = site.read("bloggo.toml").replace("paginate = 10", &format!("paginate = {per}"));
        site.write("bloggo.toml", &config);
        for i in 0..n + drafts {
            let draft = i >= n;
            site.write(
                &format!("content/p{i}.md"),
                &format!("---\ntitle: Post {i}\ndate: 2024-01-01 00:{:02}:00\ndraft: {draft}\n---\nText {i}.\n", i),
            );
        }
        let settings = Settings::load(&site.root).unwrap();
        bloggo::pipeline::build_site(&settings, &bloggo::pipeline::BuildOptions { quiet: true, ..Default::default() })
            .unwrap();
        let pages = listing_pages(&site);
        prop_assert_eq!(pages.len(), n.div_ceil(per).max(1));
        let all: Vec<&String> = pages.iter().flatten().collect();
        let unique: BTreeSet<&String> = all.iter().copied().collect();
        prop_assert_eq!(all.len(), n, "a post is missing or repeated: {:?}", pages);
        prop_assert_eq!(unique.len(), n);
        for (k, page) in pages.iter().enumerate() {
            let expected = if k + 1 < pages.len() { per } else { n - per * k };
            prop_assert_eq!(page.len(), expected, "page {}", k + 1);
        }
        // Newest first: post i was written at minute i, so the order is n-1, …, 0.
        let expected: Vec<String> = (0..n).rev().map(|i| format!("/posts/p{i}/")).collect();
        let got: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        prop_assert_eq!(got, expected);
    }
}

mod gfs {
    use bloggo::backup::retention::{plan, Dated, Policy};
    use bloggo::backup::Tier;
    use bloggo::config::Timezone;
    use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// The period a tier keeps one slot for (UTC policy): day, ISO week, month.
    fn period(tier: Tier, at: DateTime<Utc>) -> (i32, u32) {
        let d = at.date_naive();
        match tier {
            Tier::Daily | Tier::PreRestore => (d.year(), d.ordinal()),
            Tier::Weekly => (d.iso_week().year(), d.iso_week().week()),
            Tier::Monthly => (d.year(), d.month()),
        }
    }

    fn keep_of(p: &Policy, tier: Tier) -> usize {
        match tier {
            Tier::Daily => p.keep_daily,
            Tier::Weekly => p.keep_weekly,
            Tier::Monthly => p.keep_monthly,
            Tier::PreRestore => usize::MAX,
        }
    }

    fn backups() -> impl Strategy<Value = Vec<Dated<usize>>> {
        let tier = prop_oneof![
            4 => Just(Tier::Daily),
            2 => Just(Tier::Weekly),
            2 => Just(Tier::Monthly),
            1 => Just(Tier::PreRestore),
        ];
        // Up to 80 backups over two years, minutes apart or months apart.
        prop::collection::vec((tier, 0i64..(730 * 24 * 60)), 0..80).prop_map(|v| {
            let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
            v.into_iter()
                .enumerate()
                .map(|(key, (tier, minutes))| Dated {
                    key,
                    tier,
                    created: start + Duration::minutes(minutes),
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// The GFS plan: every backup kept or deleted (never both); per tier, the kept backups
        /// are exactly those of the newest `keep` periods (plus protected and future ones);
        /// pre-restore, protected and future backups are never deleted; and pruning the kept set
        /// again deletes nothing.
        #[test]
        fn retention_keeps_exactly_the_newest_periods_of_each_tier(
            files in backups(),
            keep in (0usize..9, 0usize..6, 0usize..14),
            now_offset in 0i64..(800 * 24),
            protect_newest in any::<bool>(),
        ) {
            let policy = Policy {
                keep_daily: keep.0,
                keep_weekly: keep.1,
                keep_monthly: keep.2,
                weekly_day: Weekday::Sun,
                timezone: Timezone::utc(),
            };
            let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::hours(now_offset);
            let protect: Vec<usize> = if protect_newest {
                files.iter().filter(|f| f.tier != Tier::PreRestore && f.created <= now)
                    .max_by_key(|f| (f.created, f.key)).map(|f| vec![f.key]).unwrap_or_default()
            } else {
                Vec::new()
            };
            let p = plan(&files, &policy, now, &protect);
            let kept: BTreeSet<usize> = p.keep.iter().copied().collect();
            let deleted: BTreeSet<usize> = p.delete.iter().copied().collect();
            prop_assert_eq!(kept.len(), p.keep.len());
            prop_assert!(kept.is_disjoint(&deleted));
            prop_assert_eq!(kept.len() + deleted.len(), files.len());

            for tier in [Tier::Daily, Tier::Weekly, Tier::Monthly, Tier::PreRestore] {
                let of: Vec<&Dated<usize>> = files.iter().filter(|f| f.tier == tier).collect();
                let mut periods: Vec<(i32, u32)> = of.iter()
                    .filter(|f| f.created <= now)
                    .map(|f| period(tier, f.created))
                    .collect::<BTreeSet<_>>().into_iter().collect();
                periods.reverse();
                periods.truncate(keep_of(&policy, tier));
                for f in of {
                    let should_keep = tier == Tier::PreRestore
                        || f.created > now
                        || protect.contains(&f.key)
                        || periods.contains(&period(tier, f.created));
                    prop_assert_eq!(kept.contains(&f.key), should_keep,
                        "{:?} {} at {} (periods kept {:?})", tier, f.key, f.created, periods);
                }
            }

            let rest: Vec<Dated<usize>> = files.iter().filter(|f| kept.contains(&f.key)).cloned().collect();
            let again = plan(&rest, &policy, now, &protect);
            prop_assert!(again.delete.is_empty(), "not idempotent: {:?}", again.delete);
        }
    }
}

/// Every committed fuzz input (the seeds, and `fuzz/regressions/<target>/` where a crash the
/// fuzzer found is kept once fixed) goes through the same code as its fuzz target, so a fixed
/// crash stays fixed in the normal suite.
#[test]
fn fuzz_seeds_and_regressions_never_panic() {
    let fuzz = crate::harness::repo().join("fuzz");
    let mut checked = 0;
    for kind in ["seeds", "regressions"] {
        let Ok(targets) = std::fs::read_dir(fuzz.join(kind)) else {
            continue;
        };
        for target in targets {
            let target = target.unwrap().path();
            let name = target.file_name().unwrap().to_string_lossy().into_owned();
            for input in std::fs::read_dir(&target).unwrap() {
                let input = input.unwrap().path();
                let bytes = std::fs::read(&input).unwrap();
                let text = std::str::from_utf8(&bytes).ok();
                match name.as_str() {
                    "frontmatter" => {
                        if let Some(Ok(split)) = text.map(bloggo::frontmatter::syntax::split) {
                            let _ = bloggo::frontmatter::syntax::parse(&split);
                        }
                    }
                    "markdown" => {
                        if let Some(t) = text {
                            let _ = bloggo::markdown::render(t, &Default::default());
                        }
                    }
                    "import_file" => {
                        let _ = parse_file("posts/2024-05-01-fuzz.md", &bytes, &context());
                    }
                    "http_request" => {
                        // The head is read by hyper; bloggo's part is the request target.
                        let head = String::from_utf8_lossy(&bytes);
                        let target = head.split(' ').nth(1).unwrap_or(&head);
                        let (path, _) = bloggo::serve::files::split_target(target);
                        let _ = bloggo::serve::files::decode_segments(path);
                    }
                    other => panic!("{}: no fuzz target {other}", input.display()),
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 8,
        "only {checked} fuzz inputs found under {}",
        fuzz.display()
    );
}
