//! What the catalog knows about projects, datasets and tables, as the REST API and
//! the UI show it.

use serde::{Deserialize, Serialize};

/// The type of a stored column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Integer,
    Float,
    Boolean,
    /// Microseconds since the epoch, UTC.
    Timestamp,
}

impl ColumnType {
    pub const ALL: [ColumnType; 5] = [
        Self::String,
        Self::Integer,
        Self::Float,
        Self::Boolean,
        Self::Timestamp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Float => "float",
            Self::Boolean => "boolean",
            Self::Timestamp => "timestamp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One column of a table's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Column {
    #[cfg_attr(feature = "ssr", schema(example = "text"))]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// The format a table was imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Csv,
    Jsonl,
    Parquet,
    Text,
}

impl SourceFormat {
    pub const ALL: [SourceFormat; 4] = [Self::Csv, Self::Jsonl, Self::Parquet, Self::Text];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
            Self::Parquet => "parquet",
            Self::Text => "text",
        }
    }

    /// Accepts the format names and their usual aliases (`ndjson`, `txt`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" | "json" => Some(Self::Jsonl),
            "parquet" | "pq" => Some(Self::Parquet),
            "text" | "txt" => Some(Self::Text),
            _ => None,
        }
    }

    /// Guesses the format from a file name's extension.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1;
        Self::parse(ext)
    }
}

/// A project and how many datasets it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProjectInfo {
    #[cfg_attr(feature = "ssr", schema(example = "public-data"))]
    pub name: String,
    pub dataset_count: u64,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// A dataset and how many tables it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DatasetInfo {
    pub project: String,
    #[cfg_attr(feature = "ssr", schema(example = "samples"))]
    pub name: String,
    pub table_count: u64,
    pub created_at: String,
}

/// A stored table: schema and statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TableInfo {
    pub project: String,
    pub dataset: String,
    #[cfg_attr(feature = "ssr", schema(example = "shakespeare"))]
    pub name: String,
    pub columns: Vec<Column>,
    pub row_count: u64,
    /// Size of the stored (compressed Parquet) data.
    pub stored_bytes: u64,
    pub source_format: SourceFormat,
    pub created_at: String,
}

impl TableInfo {
    /// `project.dataset.table`.
    pub fn reference(&self) -> String {
        format!("{}.{}.{}", self.project, self.dataset, self.name)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The whole catalog as a tree, for the Datasets page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectTree {
    pub name: String,
    pub datasets: Vec<DatasetTree>,
}

/// A dataset with its tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetTree {
    pub name: String,
    pub tables: Vec<TableInfo>,
}

/// A table with its first rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TableDetail {
    #[serde(flatten)]
    pub table: TableInfo,
    /// The first rows, one JSON value per column, in schema order.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<Value>>))]
    pub preview: Vec<Vec<serde_json::Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_names_aliases_and_extensions() {
        assert_eq!(SourceFormat::parse("NDJSON"), Some(SourceFormat::Jsonl));
        assert_eq!(
            SourceFormat::from_file_name("a.b.parquet"),
            Some(SourceFormat::Parquet)
        );
        assert_eq!(
            SourceFormat::from_file_name("notes.txt"),
            Some(SourceFormat::Text)
        );
        assert_eq!(SourceFormat::from_file_name("Makefile"), None);
        assert_eq!(SourceFormat::parse("xlsx"), None);
        for t in ColumnType::ALL {
            assert_eq!(ColumnType::parse(t.as_str()), Some(t));
        }
    }
}
