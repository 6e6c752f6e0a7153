//! What an ingest counted and skipped, and why: added up per batch, printed at the end.

use std::fmt;

use crate::store::ingest::IngestedBatch;

/// Why a log line counts no view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not a line of a known format (the first such line is named).
    Unparseable,
    /// Not a `GET`.
    Method,
    /// A status other than 200 or 304.
    Status,
    /// A file that is not a page.
    Asset,
    /// A redirect page (alias, earlier URL): the page it leads to counts.
    Redirect,
    /// A page of no post (listings, missing pages, paths outside the site's root).
    NoPost,
    /// A bot, crawler or client that does not say what it is.
    Bot,
    /// No user agent field (common log format): bots cannot be told apart.
    NoAgent,
    /// The same line was counted before.
    Duplicate,
    /// The post was deleted from the store while the log was read.
    Gone,
}

impl Skip {
    /// Every reason, in the order the summary lists them.
    pub const ALL: [Skip; 10] = [
        Skip::Bot,
        Skip::Status,
        Skip::Method,
        Skip::Asset,
        Skip::Redirect,
        Skip::NoPost,
        Skip::NoAgent,
        Skip::Duplicate,
        Skip::Gone,
        Skip::Unparseable,
    ];

    fn label(self) -> &'static str {
        match self {
            Skip::Unparseable => "unparseable",
            Skip::Method => "not GET",
            Skip::Status => "status not 200/304",
            Skip::Asset => "not a page (asset)",
            Skip::Redirect => "redirect page (its post's page counts)",
            Skip::NoPost => "page of no post",
            Skip::Bot => "bot",
            Skip::NoAgent => "no user agent (common format)",
            Skip::Duplicate => "duplicate (counted before)",
            Skip::Gone => "post deleted meanwhile",
        }
    }
}

/// Counts of one ingest (all files).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    /// Lines read, header and blank lines included.
    pub lines: u64,
    pub desktop: u64,
    pub mobile: u64,
    pub tablet: u64,
    skipped: [u64; Skip::ALL.len()],
    /// The first unparseable line: file and line number (from 1).
    pub first_unparseable: Option<(String, u64)>,
}

impl Summary {
    /// Views counted.
    pub fn views(&self) -> u64 {
        self.desktop + self.mobile + self.tablet
    }

    /// Adds what the store did with a batch of views.
    pub fn add_batch(&mut self, b: &IngestedBatch) {
        self.desktop += b.recorded[0];
        self.mobile += b.recorded[1];
        self.tablet += b.recorded[2];
        self.skip(Skip::Duplicate, b.duplicates);
        self.skip(Skip::Gone, b.gone);
    }

    pub fn skip(&mut self, why: Skip, n: u64) {
        self.skipped[Skip::ALL.iter().position(|s| *s == why).unwrap_or(0)] += n;
    }

    /// Lines skipped for this reason.
    pub fn skipped(&self, why: Skip) -> u64 {
        self.skipped[Skip::ALL.iter().position(|s| *s == why).unwrap_or(0)]
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.files == 1 { "" } else { "s" };
        writeln!(f, "Read {} lines from {} file{s}.", self.lines, self.files)?;
        writeln!(
            f,
            "Views counted: {} (desktop {}, mobile {}, tablet {})",
            self.views(),
            self.desktop,
            self.mobile,
            self.tablet
        )?;
        let total: u64 = self.skipped.iter().sum();
        writeln!(f, "Skipped: {total}")?;
        for why in Skip::ALL {
            let n = self.skipped(why);
            if n > 0 {
                write!(f, "  {n:>10}  {}", why.label())?;
                if let (Skip::Unparseable, Some((file, line))) = (why, &self.first_unparseable) {
                    write!(f, ", the first at {file}:{line}")?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_counts_reasons_and_the_first_bad_line() {
        let mut s = Summary {
            files: 1,
            lines: 9,
            ..Summary::default()
        };
        s.add_batch(&IngestedBatch {
            recorded: [0, 1, 0],
            duplicates: 1,
            gone: 0,
        });
        s.skip(Skip::Bot, 3);
        s.skip(Skip::Unparseable, 1);
        s.first_unparseable = Some(("a.log".into(), 7));
        let text = s.to_string();
        assert!(
            text.contains("Views counted: 1 (desktop 0, mobile 1, tablet 0)"),
            "{text}"
        );
        assert!(text.contains("3  bot\n"), "{text}");
        assert!(text.contains("1  duplicate"), "{text}");
        assert!(text.contains("unparseable, the first at a.log:7"), "{text}");
        assert!(!text.contains("asset"), "{text}");
    }
}
