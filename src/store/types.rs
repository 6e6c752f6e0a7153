//! How the model's typed values cross into SQLite and back: `PostStatus` and
//! `VersionStatus` as their lowercase names, `Timestamp` as `YYYY-MM-DD HH:MM:SS` text. A
//! value the column holds but the type does not accept is a conversion error naming it.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::model::{PostStatus, Timestamp, VersionStatus};

fn text_of<T>(v: ValueRef<'_>, parse: impl FnOnce(&str) -> Result<T, String>) -> FromSqlResult<T> {
    parse(v.as_str()?).map_err(|e| FromSqlError::Other(e.into()))
}

impl ToSql for PostStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for PostStatus {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        text_of(v, str::parse)
    }
}

impl ToSql for VersionStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for VersionStatus {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        text_of(v, str::parse)
    }
}

impl ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for Timestamp {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        text_of(v, str::parse)
    }
}

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
