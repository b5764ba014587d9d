//! Runs across workloads, as the Runs page and `GET /api/v1/runs` list them:
//! the filter (by state, workload and the day a run was queued), parsed once
//! from query text into a [`RunQuery`], and a page of the answer.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::run::{RunListing, RunState};

/// Runs per page unless asked otherwise, and the most one page holds.
pub const DEFAULT_RUNS_PAGE: u64 = 50;
pub const MAX_RUNS_PAGE: u64 = 1_000;

/// A day of the calendar (UTC), written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Day {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Day {
    /// `2026-12-03`; anything else (`2026-2-30`, `2026-02-30`) is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let bytes = s.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u16> {
            let part = s.get(range)?;
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if year == 0 || !(1..=days).contains(&day) {
            return None;
        }
        Some(Self {
            year,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
        })
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A validated list request: every filter optional, newest runs first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunQuery {
    pub state: Option<RunState>,
    pub workload_id: Option<u64>,
    /// Runs queued on this day or later.
    pub since: Option<Day>,
    /// Runs queued on this day or earlier.
    pub until: Option<Day>,
    pub limit: u64,
    pub offset: u64,
}

impl Default for RunQuery {
    fn default() -> Self {
        Self {
            state: None,
            workload_id: None,
            since: None,
            until: None,
            limit: DEFAULT_RUNS_PAGE,
            offset: 0,
        }
    }
}

impl RunQuery {
    /// Parses the query parameters (`state`, `workload_id`, `since`, `until`,
    /// `limit`, `offset`); empty values are absent, unknown parameters are
    /// ignored, and each error is located at its parameter.
    pub fn parse<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut query = Self::default();
        let mut errors = Vec::new();
        let mut bad = |name: &str, msg: String, kind: &str| {
            errors.push(FieldError::query(name, msg, kind));
        };
        for (key, value) in params {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key {
                "state" => match RunState::parse(value) {
                    Some(s) => query.state = Some(s),
                    None => bad(
                        "state",
                        format!(
                            "Input should be one of {}",
                            RunState::ALL.map(RunState::as_str).join(", ")
                        ),
                        "enum",
                    ),
                },
                "workload_id" => match value.parse::<u64>() {
                    Ok(n) if n >= 1 => query.workload_id = Some(n),
                    _ => bad(
                        "workload_id",
                        "Input should be a workload id, a whole number from 1".into(),
                        "int_parsing",
                    ),
                },
                "since" | "until" => match Day::parse(value) {
                    Some(day) if key == "since" => query.since = Some(day),
                    Some(day) => query.until = Some(day),
                    None => bad(
                        key,
                        "Input should be a date written YYYY-MM-DD".into(),
                        "date_parsing",
                    ),
                },
                "limit" => match crate::paging::limit(value, MAX_RUNS_PAGE) {
                    Ok(n) => query.limit = n,
                    Err(e) => bad("limit", e.msg, &e.kind),
                },
                "offset" => match crate::paging::offset(value) {
                    Ok(n) => query.offset = n,
                    Err(e) => bad("offset", e.msg, &e.kind),
                },
                _ => {}
            }
        }
        if let (Some(since), Some(until)) = (query.since, query.until)
            && until < since
        {
            bad(
                "until",
                format!("Input should be {since} or later, the day the list starts"),
                "value_error",
            );
        }
        if errors.is_empty() {
            Ok(query)
        } else {
            Err(errors)
        }
    }
}

/// One page of runs, each with its workload's name, and how many match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunListPage {
    pub items: Vec<RunListing>,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_real_calendar_days() {
        assert_eq!(
            Day::parse("2026-12-03").map(|d| d.to_string()).as_deref(),
            Some("2026-12-03")
        );
        assert!(Day::parse("2024-02-29").is_some());
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "26-01-01",
            "2026-01-32",
            "2026-01-0x",
            "０２６-01-01",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let errors = RunQuery::parse([
            ("state", "done"),
            ("workload_id", "0"),
            ("since", "yesterday"),
            ("limit", "5000"),
        ])
        .expect_err("four bad parameters");
        let fields: Vec<&str> = errors.iter().map(FieldError::field).collect();
        assert_eq!(fields, ["state", "workload_id", "since", "limit"]);
    }

    #[test]
    fn a_query_parses_and_keeps_its_days_in_order() {
        let q = RunQuery::parse([
            ("state", "running"),
            ("workload_id", "7"),
            ("since", "2026-12-01"),
            ("until", "2026-12-03"),
            ("limit", ""),
        ])
        .expect("valid");
        assert_eq!(q.state, Some(RunState::Running));
        assert_eq!(q.workload_id, Some(7));
        assert_eq!(q.limit, DEFAULT_RUNS_PAGE);
        let reversed = RunQuery::parse([("since", "2026-12-03"), ("until", "2026-12-01")])
            .expect_err("until before since");
        assert_eq!(reversed[0].field(), "until");
    }
}
