//! Catalog names: projects, datasets, tables and columns, and `project.dataset.table`
//! references. Types here can only be built through `parse`, so code that holds one
//! never checks it again.
//!
//! The rule, in BigQuery's spirit: a project, dataset or table name is 1 to 64
//! characters from `A-Z a-z 0-9 _ -`, starting with a letter, a digit or `_`.
//! Names are case-sensitive. Nothing else is accepted (no `.`, `/`, `%`, spaces or
//! control characters), so a name can never escape a directory or collide with the
//! `project.dataset.table` separator. A column name is 1 to 128 characters from
//! `A-Z a-z 0-9 _`, starting with a letter or `_`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The longest project, dataset or table name.
pub const MAX_NAME_LEN: usize = 64;
/// The longest column name.
pub const MAX_COLUMN_LEN: usize = 128;

/// Why a name was refused; the message says what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{kind} name is empty")]
    Empty { kind: &'static str },
    #[error("{kind} name is longer than {max} characters")]
    TooLong { kind: &'static str, max: usize },
    #[error("{kind} name '{shown}' contains '{bad}': use letters, digits, '_' and '-'")]
    BadChar {
        kind: &'static str,
        shown: String,
        bad: String,
    },
    #[error("{kind} name '{shown}' must start with {allowed}")]
    BadStart {
        kind: &'static str,
        shown: String,
        allowed: &'static str,
    },
    #[error("table reference '{0}' must have the form project.dataset.table")]
    BadReference(String),
}

/// Shortens and escapes a rejected name for an error message.
fn shown(raw: &str) -> String {
    let mut s: String = raw.chars().take(40).flat_map(char::escape_debug).collect();
    if raw.chars().count() > 40 {
        s.push('…');
    }
    s
}

fn check(
    raw: &str,
    kind: &'static str,
    max: usize,
    allow_dash: bool,
    allow_digit_start: bool,
) -> Result<(), NameError> {
    if raw.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if raw.chars().count() > max {
        return Err(NameError::TooLong { kind, max });
    }
    if let Some(bad) = raw
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || (allow_dash && c == '-')))
    {
        return Err(NameError::BadChar {
            kind,
            shown: shown(raw),
            bad: bad.escape_debug().to_string(),
        });
    }
    let first = raw.as_bytes()[0];
    let start_ok = first.is_ascii_alphabetic()
        || first == b'_'
        || (allow_digit_start && first.is_ascii_digit());
    if !start_ok {
        let allowed = if allow_digit_start {
            "a letter, a digit or '_'"
        } else {
            "a letter or '_'"
        };
        return Err(NameError::BadStart {
            kind,
            shown: shown(raw),
            allowed,
        });
    }
    Ok(())
}

macro_rules! catalog_name {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `raw` against the naming rule.
            pub fn parse(raw: &str) -> Result<Self, NameError> {
                check(raw, $kind, MAX_NAME_LEN, true, true)?;
                Ok(Self(raw.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

catalog_name!(
    /// A project: the top of the catalog.
    ProjectName,
    "project"
);
catalog_name!(
    /// A dataset inside a project.
    DatasetName,
    "dataset"
);
catalog_name!(
    /// A table inside a dataset.
    TableName,
    "table"
);

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ColumnName(String);

impl ColumnName {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        check(raw, "column", MAX_COLUMN_LEN, false, false)?;
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ColumnName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ColumnName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// `project.dataset.table`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TableRef {
    pub project: ProjectName,
    pub dataset: DatasetName,
    pub table: TableName,
}

impl TableRef {
    /// Parses `project.dataset.table`; each part must follow the naming rule.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let mut parts = raw.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(p), Some(d), Some(t), None) => Ok(Self {
                project: ProjectName::parse(p)?,
                dataset: DatasetName::parse(d)?,
                table: TableName::parse(t)?,
            }),
            _ => Err(NameError::BadReference(shown(raw))),
        }
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.project, self.dataset, self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_parse() {
        for ok in [
            "public-data",
            "samples",
            "_tmp",
            "2024_sales",
            "a",
            &"x".repeat(64),
        ] {
            assert!(ProjectName::parse(ok).is_ok(), "{ok}");
        }
        let r = TableRef::parse("public-data.samples.shakespeare").expect("valid");
        assert_eq!(r.to_string(), "public-data.samples.shakespeare");
        assert_eq!(r.dataset.as_str(), "samples");
    }

    #[test]
    fn traversal_and_junk_are_refused() {
        for bad in [
            "",
            "..",
            ".",
            "a/b",
            "a\\b",
            "%2e%2e",
            "a\0b",
            "-x",
            "a b",
            "é",
            "a.b",
            &"x".repeat(65),
        ] {
            assert!(TableName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            TableRef::parse("a.b"),
            Err(NameError::BadReference(_))
        ));
        assert!(matches!(
            TableRef::parse("a.b.c.d"),
            Err(NameError::BadReference(_))
        ));
        assert!(matches!(
            TableRef::parse("a..c"),
            Err(NameError::Empty { kind: "dataset" })
        ));
        let e = TableRef::parse("p.d.../etc").expect_err("bad");
        assert!(matches!(e, NameError::BadReference(_)), "{e}");
    }

    #[test]
    fn messages_name_the_part_and_the_problem() {
        let e = DatasetName::parse("my data").expect_err("space");
        assert_eq!(
            e.to_string(),
            "dataset name 'my data' contains ' ': use letters, digits, '_' and '-'"
        );
        let e = TableName::parse("a\0b").expect_err("nul");
        assert!(e.to_string().contains("\\0"), "{e}");
        assert_eq!(
            ColumnName::parse("9lives").expect_err("digit").to_string(),
            "column name '9lives' must start with a letter or '_'"
        );
        assert_eq!(
            ProjectName::parse("-x").expect_err("dash").to_string(),
            "project name '-x' must start with a letter, a digit or '_'"
        );
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<TableName>("\"ok_name\"").is_ok());
        assert!(serde_json::from_str::<TableName>("\"../x\"").is_err());
    }
}
