//! How the model's typed values cross into SQLite and back: `PostStatus`, `PostKind` and
//! `VersionStatus` as their lowercase names, `Timestamp` as `YYYY-MM-DD HH:MM:SS` text. A
//! value the column holds but the type does not accept is a conversion error naming it.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::model::{PostKind, PostStatus, Timestamp, VersionStatus};

fn text_of<T>(v: ValueRef<'_>, parse: impl FnOnce(&str) -> Result<T, String>) -> FromSqlResult<T> {
    parse(v.as_str()?).map_err(|e| FromSqlError::Other(e.into()))
}

/// `ToSql` as the text `$text` gives, `FromSql` through the type's `FromStr`.
macro_rules! as_text {
    ($t:ty, $v:ident => $text:expr) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                let $v = self;
                Ok(ToSqlOutput::from($text))
            }
        }

        impl FromSql for $t {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                text_of(v, str::parse)
            }
        }
    };
}

as_text!(PostStatus, s => s.as_str());
as_text!(PostKind, k => k.as_str());
as_text!(VersionStatus, s => s.as_str());
as_text!(Timestamp, t => t.to_string());

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn statuses_and_timestamps_round_trip_through_sqlite() {
        let c = Connection::open_in_memory().unwrap();
        let t: Timestamp = "2024-05-01 10:00:00".parse().unwrap();
        let (s, v, back): (PostStatus, VersionStatus, Timestamp) = c
            .query_row(
                "SELECT ?1, ?2, ?3",
                rusqlite::params![PostStatus::Archived, VersionStatus::Approved, t],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            (s, v, back),
            (PostStatus::Archived, VersionStatus::Approved, t)
        );
        let text: String = c.query_row("SELECT ?1", [t], |r| r.get(0)).unwrap();
        assert_eq!(text, "2024-05-01 10:00:00");
    }

    #[test]
    fn a_value_the_type_does_not_take_is_an_error() {
        let c = Connection::open_in_memory().unwrap();
        assert!(c
            .query_row("SELECT 'live'", [], |r| r.get::<_, PostStatus>(0))
            .is_err());
        assert!(c
            .query_row("SELECT 'yesterday'", [], |r| r.get::<_, Timestamp>(0))
            .is_err());
    }
}
