//! Run comparison as the API and the Compare page see it: how the terms of
//! one succeeded run ("before") changed in another ("after"), the request for
//! a page of them ([`CompareQuery`], parsed once for REST and the UI alike),
//! and the page.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::run::MAX_WORDS_PAGE;

/// Terms per page unless asked otherwise.
pub const DEFAULT_COMPARE_PAGE: u64 = 100;

/// How the changed terms are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum CompareOrder {
    /// The largest rise in count first (new terms among them).
    #[default]
    #[serde(rename = "change")]
    Rise,
    /// The largest fall in count first (vanished terms among them).
    #[serde(rename = "-change")]
    Fall,
    /// The largest rise relative to the count before first; new terms,
    /// which had none, before every other.
    #[serde(rename = "relative")]
    RelativeRise,
    /// The largest fall relative to the count before first (vanished terms,
    /// -100 %, first).
    #[serde(rename = "-relative")]
    RelativeFall,
    /// By term (code-point order).
    #[serde(rename = "word")]
    Word,
}

impl CompareOrder {
    pub const ALL: [CompareOrder; 5] = [
        Self::Rise,
        Self::Fall,
        Self::RelativeRise,
        Self::RelativeFall,
        Self::Word,
    ];

    /// The value of the `order` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rise => "change",
            Self::Fall => "-change",
            Self::RelativeRise => "relative",
            Self::RelativeFall => "-relative",
            Self::Word => "word",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Rise => "Largest rise",
            Self::Fall => "Largest fall",
            Self::RelativeRise => "Largest relative rise",
            Self::RelativeFall => "Largest relative fall",
            Self::Word => "Term A–Z",
        }
    }
}

/// Which terms a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Every term of either run.
    #[default]
    All,
    /// Only in the run after.
    New,
    /// Only in the run before.
    Vanished,
    /// In both, with another count.
    Changed,
    /// In both, with the same count.
    Unchanged,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 5] = [
        Self::All,
        Self::New,
        Self::Vanished,
        Self::Changed,
        Self::Unchanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::New => "new",
            Self::Vanished => "vanished",
            Self::Changed => "changed",
            Self::Unchanged => "unchanged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::All => "Every term",
            Self::New => "New terms",
            Self::Vanished => "Vanished terms",
            Self::Changed => "Changed counts",
            Self::Unchanged => "Same counts",
        }
    }

    /// Whether a term counted `before` and `after` is of this kind.
    pub fn holds(self, before: u64, after: u64) -> bool {
        match self {
            Self::All => true,
            Self::New => before == 0,
            Self::Vanished => after == 0,
            Self::Changed => before > 0 && after > 0 && before != after,
            Self::Unchanged => before == after,
        }
    }
}

/// A validated comparison request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompareQuery {
    /// Only terms starting with this.
    pub q: Option<String>,
    /// Of two runs counted per group: one group's counts in each.
    pub group: crate::run::GroupPick,
    pub kind: ChangeKind,
    pub order: CompareOrder,
    pub offset: u64,
    pub limit: u64,
}

impl Default for CompareQuery {
    fn default() -> Self {
        Self {
            q: None,
            group: crate::run::GroupPick::All,
            kind: ChangeKind::All,
            order: CompareOrder::Rise,
            offset: 0,
            limit: DEFAULT_COMPARE_PAGE,
        }
    }
}

impl CompareQuery {
    /// Parses `q`, `group` (any text, even empty), `null_group`, `kind`,
    /// `order`, `offset` and `limit` (1 to [`MAX_WORDS_PAGE`]); other empty
    /// values are absent, unknown parameters are ignored, and each error is
    /// located at its parameter.
    pub fn parse<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut query = Self::default();
        let mut errors = Vec::new();
        let (mut group, mut null_group) = (None, None);
        let mut bad = |name: &str, msg: String, kind: &str| {
            errors.push(FieldError::query(name, msg, kind));
        };
        for (key, value) in params {
            match key {
                "group" => group = Some(value),
                "null_group" => null_group = Some(value),
                _ if value.trim().is_empty() => {}
                // A prefix is matched as typed: a leading space is part of it.
                "q" => query.q = Some(value.to_string()),
                "kind" => match ChangeKind::parse(value.trim()) {
                    Some(kind) => query.kind = kind,
                    None => bad(
                        "kind",
                        format!(
                            "Input should be one of {}",
                            ChangeKind::ALL.map(ChangeKind::as_str).join(", ")
                        ),
                        "enum",
                    ),
                },
                "order" => match CompareOrder::parse(value.trim()) {
                    Some(order) => query.order = order,
                    None => bad(
                        "order",
                        format!(
                            "Input should be one of {}",
                            CompareOrder::ALL.map(CompareOrder::as_str).join(", ")
                        ),
                        "enum",
                    ),
                },
                "offset" => match crate::paging::offset(value) {
                    Ok(n) => query.offset = n,
                    Err(e) => bad("offset", e.msg, &e.kind),
                },
                "limit" => match crate::paging::limit(value, MAX_WORDS_PAGE) {
                    Ok(n) => query.limit = n,
                    Err(e) => bad("limit", e.msg, &e.kind),
                },
                _ => {}
            }
        }
        match crate::run::GroupPick::parse(group, null_group) {
            Ok(pick) => query.group = pick,
            Err(e) => errors.push(e),
        }
        if errors.is_empty() {
            Ok(query)
        } else {
            Err(errors)
        }
    }
}

/// One term, counted in either run or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TermChange {
    pub word: String,
    /// Its count in the run before (0: new).
    pub before: u64,
    /// Its count in the run after (0: vanished).
    pub after: u64,
    /// `after - before`.
    pub change: i64,
    /// `change / before` (-1 for a vanished term); none for a new term.
    pub relative: Option<f64>,
}

impl TermChange {
    pub fn new(word: String, before: u64, after: u64) -> Self {
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let change = signed(after) - signed(before);
        let relative = (before > 0).then(|| change as f64 / before as f64);
        Self {
            word,
            before,
            after,
            change,
            relative,
        }
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ComparedRun {
    pub run_id: u64,
    pub workload_id: u64,
    pub workload_name: String,
    pub workload_type: crate::workload::WorkloadType,
    pub finished_at: Option<String>,
    pub total_words: u64,
    pub distinct_words: u64,
}

/// How many terms are of each kind, over the whole comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangeSummary {
    pub new: u64,
    pub vanished: u64,
    pub changed: u64,
    pub unchanged: u64,
}

/// A page of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ComparePage {
    pub before: ComparedRun,
    pub after: ComparedRun,
    pub summary: ChangeSummary,
    /// Terms matching the request's `q` and `kind`.
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub order: CompareOrder,
    pub kind: ChangeKind,
    pub terms: Vec<TermChange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparison_request_is_validated_once_for_every_caller() {
        let q = CompareQuery::parse([
            ("q", "th"),
            ("kind", "new"),
            ("order", "-relative"),
            ("offset", "20"),
            ("limit", "5"),
            ("other", "ignored"),
        ])
        .expect("valid");
        assert_eq!(q.q.as_deref(), Some("th"));
        assert_eq!(
            (q.kind, q.order),
            (ChangeKind::New, CompareOrder::RelativeFall)
        );
        assert_eq!((q.offset, q.limit), (20, 5));
        assert_eq!(
            CompareQuery::parse([("kind", "")]),
            Ok(CompareQuery::default())
        );
        let errors = CompareQuery::parse([("kind", "gone"), ("order", "up"), ("limit", "0")])
            .expect_err("invalid");
        let locs: Vec<String> = errors.iter().map(|e| e.loc.join(".")).collect();
        assert_eq!(locs, ["query.kind", "query.order", "query.limit"]);
    }

    #[test]
    fn a_change_knows_its_kind_and_relative_size() {
        let rise = TermChange::new("a".into(), 4, 6);
        assert_eq!((rise.change, rise.relative), (2, Some(0.5)));
        let new = TermChange::new("b".into(), 0, 3);
        assert_eq!((new.change, new.relative), (3, None));
        let gone = TermChange::new("c".into(), 5, 0);
        assert_eq!((gone.change, gone.relative), (-5, Some(-1.0)));
        assert!(ChangeKind::New.holds(0, 3) && !ChangeKind::New.holds(1, 3));
        assert!(ChangeKind::Vanished.holds(5, 0));
        assert!(ChangeKind::Changed.holds(4, 6) && !ChangeKind::Changed.holds(0, 6));
        assert!(ChangeKind::Unchanged.holds(2, 2) && !ChangeKind::Unchanged.holds(2, 3));
    }
}
