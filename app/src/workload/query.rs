//! Listing workloads: the validated query ([`WorkloadQuery`]) and a page of them.

use serde::{Deserialize, Serialize};

use super::{Workload, WorkloadStatus};
use crate::error::FieldError;

/// How a list of workloads is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum WorkloadSort {
    /// Oldest first: the prototype's order.
    #[default]
    IdAsc,
    IdDesc,
    NameAsc,
    NameDesc,
    UpdatedDesc,
    StatusAsc,
}

impl WorkloadSort {
    pub const ALL: [WorkloadSort; 6] = [
        Self::IdAsc,
        Self::IdDesc,
        Self::NameAsc,
        Self::NameDesc,
        Self::UpdatedDesc,
        Self::StatusAsc,
    ];

    /// The value of the `sort` query parameter: a field, `-` for descending.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdAsc => "id",
            Self::IdDesc => "-id",
            Self::NameAsc => "name",
            Self::NameDesc => "-name",
            Self::UpdatedDesc => "-updated_at",
            Self::StatusAsc => "status",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::IdAsc => "Oldest first",
            Self::IdDesc => "Newest first",
            Self::NameAsc => "Name A–Z",
            Self::NameDesc => "Name Z–A",
            Self::UpdatedDesc => "Recently updated",
            Self::StatusAsc => "Status",
        }
    }
}

/// The default and largest page of a workload list.
pub const DEFAULT_PAGE: u64 = 100;
pub const MAX_PAGE: u64 = 1_000;

/// A validated list request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkloadQuery {
    pub status: Option<WorkloadStatus>,
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    pub sort: WorkloadSort,
    pub limit: u64,
    pub offset: u64,
}

impl WorkloadQuery {
    /// Parses the query parameters (`status`, `q`, `sort`, `limit`, `offset`);
    /// errors are located in `query`, FastAPI-style. Unknown parameters are ignored.
    pub fn parse<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut query = Self {
            limit: DEFAULT_PAGE,
            ..Self::default()
        };
        let mut errors = Vec::new();
        for (key, value) in params {
            let value = value.trim();
            match key {
                "status" if value.is_empty() => {}
                "status" => match WorkloadStatus::parse(value) {
                    Some(s) => query.status = Some(s),
                    None => errors.push(FieldError::query(
                        "status",
                        format!(
                            "Input should be one of {}",
                            WorkloadStatus::ALL.map(WorkloadStatus::as_str).join(", ")
                        ),
                        "enum",
                    )),
                },
                "q" => {
                    query.q = (!value.is_empty()).then(|| value.to_lowercase());
                }
                "sort" if value.is_empty() => {}
                "sort" => match WorkloadSort::parse(value) {
                    Some(s) => query.sort = s,
                    None => errors.push(FieldError::query(
                        "sort",
                        format!(
                            "Input should be one of {}",
                            WorkloadSort::ALL.map(WorkloadSort::as_str).join(", ")
                        ),
                        "enum",
                    )),
                },
                "limit" => match crate::paging::limit(value, MAX_PAGE) {
                    Ok(n) => query.limit = n,
                    Err(e) => errors.push(e),
                },
                "offset" => match crate::paging::offset(value) {
                    Ok(n) => query.offset = n,
                    Err(e) => errors.push(e),
                },
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(query)
        } else {
            Err(errors)
        }
    }
}

/// One page of a workload list and the number of workloads that match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadPage {
    pub items: Vec<Workload>,
    pub total: u64,
    pub query: WorkloadQuery,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_are_validated() {
        let q = WorkloadQuery::parse([("status", "running"), ("q", "Foo"), ("sort", "-id")])
            .expect("valid");
        assert_eq!(q.status, Some(WorkloadStatus::Running));
        assert_eq!(q.q.as_deref(), Some("foo"));
        assert_eq!(q.sort, WorkloadSort::IdDesc);
        assert_eq!(q.limit, DEFAULT_PAGE);
        let e = WorkloadQuery::parse([("limit", "0"), ("status", "done")]).expect_err("invalid");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].loc, vec!["query", "limit"]);
    }
}
