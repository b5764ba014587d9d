//! The words query: which page of a run's results to read. One reading of
//! it for `GET .../wordcount` (REST) and the `runs/words` server function,
//! so both accept and refuse the same values with the same errors.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::run::{GroupPick, MAX_WORDS_PAGE, WordOrder};

/// Words in a page when the query does not say.
pub const DEFAULT_WORDS_PAGE: u64 = 100;

/// A validated request for a page of a run's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordsQuery {
    /// Every group together, or one group of a run counted per group.
    pub group: GroupPick,
    pub order: WordOrder,
    /// Only words starting with this (as typed: a space is part of it).
    pub prefix: Option<String>,
    /// Only this exact word.
    pub word: Option<String>,
    pub offset: u64,
    /// 1 to [`MAX_WORDS_PAGE`].
    pub limit: u64,
}

impl Default for WordsQuery {
    fn default() -> Self {
        Self {
            group: GroupPick::All,
            order: WordOrder::Count,
            prefix: None,
            word: None,
            offset: 0,
            limit: DEFAULT_WORDS_PAGE,
        }
    }
}

impl WordsQuery {
    /// Parses `q` (a prefix; empty is none), `word` (any text), `order`
    /// (`count` or `word`), `offset`, `limit` (1 to [`MAX_WORDS_PAGE`]),
    /// `group` (any text, even empty) and `null_group` (`true` or `false`).
    /// Other empty values are absent, unknown parameters (REST's `format`)
    /// are left to the caller, and each error is located at its parameter.
    pub fn parse<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut query = Self::default();
        let mut errors = Vec::new();
        let (mut group, mut null_group) = (None, None);
        for (key, value) in params {
            match key {
                "group" => group = Some(value),
                "null_group" => null_group = Some(value),
                "q" => query.prefix = Some(value.to_string()).filter(|q| !q.is_empty()),
                "word" => query.word = Some(value.to_string()),
                _ if value.trim().is_empty() => {}
                "order" => match value.trim() {
                    "count" => query.order = WordOrder::Count,
                    "word" => query.order = WordOrder::Word,
                    _ => errors.push(FieldError::query(
                        "order",
                        "Input should be count or word".into(),
                        "enum",
                    )),
                },
                "offset" => match crate::paging::offset(value) {
                    Ok(n) => query.offset = n,
                    Err(e) => errors.push(e),
                },
                "limit" => match crate::paging::limit(value, MAX_WORDS_PAGE) {
                    Ok(n) => query.limit = n,
                    Err(e) => errors.push(e),
                },
                _ => {}
            }
        }
        match GroupPick::parse(group, null_group) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<WordsQuery, Vec<FieldError>> {
        WordsQuery::parse(pairs.iter().copied())
    }

    fn located(pairs: &[(&str, &str)]) -> Vec<String> {
        parse(pairs)
            .expect_err("refused")
            .into_iter()
            .map(|e| e.loc.join("."))
            .collect()
    }

    #[test]
    fn nothing_asked_is_the_first_page_of_all_words_by_count() {
        assert_eq!(parse(&[]), Ok(WordsQuery::default()));
        let empty = [("q", ""), ("order", " "), ("offset", ""), ("limit", "")];
        assert_eq!(parse(&empty), Ok(WordsQuery::default()));
    }

    #[test]
    fn every_parameter_is_read() {
        let query = parse(&[
            ("q", " th"),
            ("word", "the"),
            ("order", "word"),
            ("offset", "20"),
            ("limit", "10000"),
            ("group", ""),
            ("format", "csv"),
        ])
        .expect("valid");
        assert_eq!(
            query,
            WordsQuery {
                group: GroupPick::One(Some(String::new())),
                order: WordOrder::Word,
                prefix: Some(" th".into()),
                word: Some("the".into()),
                offset: 20,
                limit: MAX_WORDS_PAGE,
            }
        );
        let nulls = parse(&[("null_group", "true")]).expect("valid");
        assert_eq!(nulls.group, GroupPick::One(None));
    }

    #[test]
    fn each_bad_value_is_refused_at_its_parameter() {
        assert_eq!(located(&[("order", "desc")]), ["query.order"]);
        assert_eq!(located(&[("limit", "0")]), ["query.limit"]);
        assert_eq!(located(&[("limit", "10001")]), ["query.limit"]);
        assert_eq!(located(&[("offset", "-1")]), ["query.offset"]);
        assert_eq!(located(&[("null_group", "yes")]), ["query.null_group"]);
        // Both picks, in either order, ask for two groups.
        for pairs in [
            [("group", "a"), ("null_group", "true")],
            [("null_group", "true"), ("group", "a")],
        ] {
            assert_eq!(located(&pairs), ["query.null_group"]);
        }
        assert_eq!(
            located(&[("order", "x"), ("limit", "x"), ("offset", "x")]),
            ["query.order", "query.limit", "query.offset"]
        );
    }
}
