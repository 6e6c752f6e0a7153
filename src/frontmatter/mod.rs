//! Front matter: a markdown file's YAML (`---`) or TOML (`+++`) header read into the model's
//! `PostFields` and written from them, with the dates it may hold.
//!
//! `syntax` splits a file and parses its header into one JSON object whatever the dialect;
//! `read` takes the keys bloggo knows from it (in every common spelling) and derives what the
//! header leaves out from the body and the file's name; `write` writes a post's fields back
//! as a document `read` reads the same; `dates` reads the date forms real blogs use into
//! `Timestamp`s and shows them in the site's zone. Pure: no IO, so every piece can be
//! fuzzed. Import and `post edit` both read through here, so a text means the same to
//! either.

pub mod dates;
mod read;
pub mod slug;
pub mod syntax;
pub mod write;

use std::fmt;

use crate::config::{Settings, Timezone};
use crate::model::PostStatus;

pub use read::{read, DateSource, Read, KNOWN_KEYS};

/// One thing wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    /// 1-based line in the file, when the problem has one.
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn new(path: &str, line: usize, message: String) -> Problem {
        Problem::at(path, Some(line), message)
    }

    pub fn at(path: &str, line: Option<usize>, message: String) -> Problem {
        Problem {
            path: path.to_string(),
            line,
            message,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.path, l, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// What reading a file needs besides the bytes.
#[derive(Debug, Clone)]
pub struct ParseContext {
    /// Dates without a zone are read in it.
    pub timezone: Timezone,
    pub words_per_minute: u32,
    pub max_file_size: u64,
    pub forced_status: Option<PostStatus>,
    /// The file's modification time: the date of a post that has none in its front matter or
    /// file name.
    pub file_time: Option<chrono::DateTime<chrono::Utc>>,
    /// A file at the top of the imported folder is a standalone page unless its front matter
    /// says `kind: post` (a Hugo site's content root: `about.md`).
    pub root_pages: bool,
    /// A slug made from a file name loses its dots (`release-1.2.md` → `release-1-2`), as
    /// Zola's are; by default they are kept (`release-1.2`), as Jekyll and Hugo keep them.
    pub dotless_slugs: bool,
    /// A multilingual Hugo site's default language: a file named `x.<code>.md` (a bundle's
    /// `index.<code>.md`) is the post `x`, its slug and date read without the code.
    pub default_language: Option<String>,
}

impl ParseContext {
    pub fn for_site(settings: &Settings) -> ParseContext {
        ParseContext {
            timezone: settings.timezone,
            words_per_minute: settings.config.content.words_per_minute,
            max_file_size: settings.config.content.max_file_size,
            forced_status: None,
            file_time: None,
            root_pages: false,
            dotless_slugs: false,
            default_language: None,
        }
    }
}
