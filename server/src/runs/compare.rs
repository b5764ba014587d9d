//! [`Comparison`]: how the terms of one run changed in another.
//!
//! Both runs' results are read in term order (the word-ordered results file,
//! or the rows kept in the database, sorted) and merged in one pass into one
//! list of changes, still in term order: a prefix is then a range found by
//! binary search, and a page in another order is a partial selection of the
//! matching terms, never a sort of all of them. A comparison holds both
//! results in memory while it is answered, about 60 bytes a distinct term.

use std::cmp::Ordering;

use tally_app::compare::{ChangeSummary, CompareOrder, CompareQuery, TermChange};
use tally_app::run::WordCountRow;

/// Every term of two runs, in term order, with its counts in each.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    terms: Vec<TermChange>,
    summary: ChangeSummary,
}

impl Comparison {
    /// Merges two results, each sorted by word (as the word-ordered file is).
    pub fn merge(before: Vec<WordCountRow>, after: Vec<WordCountRow>) -> Self {
        let mut terms = Vec::with_capacity(before.len().max(after.len()));
        let mut before = before.into_iter().peekable();
        let mut after = after.into_iter().peekable();
        loop {
            let order = match (before.peek(), after.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(b), Some(a)) => b.word.cmp(&a.word),
            };
            let term = match order {
                Ordering::Less => before.next().map(|b| TermChange::new(b.word, b.count, 0)),
                Ordering::Greater => after.next().map(|a| TermChange::new(a.word, 0, a.count)),
                Ordering::Equal => match (before.next(), after.next()) {
                    (Some(b), Some(a)) => Some(TermChange::new(b.word, b.count, a.count)),
                    _ => None,
                },
            };
            terms.extend(term);
        }
        let mut summary = ChangeSummary::default();
        for t in &terms {
            let slot = match (t.before, t.after) {
                (0, _) => &mut summary.new,
                (_, 0) => &mut summary.vanished,
                (b, a) if b == a => &mut summary.unchanged,
                _ => &mut summary.changed,
            };
            *slot += 1;
        }
        Self { terms, summary }
    }

    pub fn summary(&self) -> ChangeSummary {
        self.summary
    }

    /// The terms `query` matches (its prefix and kind), in term order.
    fn matching<'a>(
        &'a self,
        query: &CompareQuery,
    ) -> impl Iterator<Item = &'a TermChange> + use<'a> {
        let kind = query.kind;
        let range = match query.q.as_deref() {
            Some(prefix) => {
                let start = self.terms.partition_point(|t| t.word.as_str() < prefix);
                let len = self.terms[start..].partition_point(|t| t.word.starts_with(prefix));
                start..start + len
            }
            None => 0..self.terms.len(),
        };
        self.terms[range]
            .iter()
            .filter(move |t| kind.holds(t.before, t.after))
    }

    /// How many terms `query` matches, and its page of them in its order.
    pub fn page(&self, query: &CompareQuery) -> (u64, Vec<TermChange>) {
        let offset = usize::try_from(query.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        if query.order == CompareOrder::Word {
            let total = self.matching(query).count();
            let page = self
                .matching(query)
                .skip(offset)
                .take(limit)
                .cloned()
                .collect();
            return (total as u64, page);
        }
        let mut matching: Vec<&TermChange> = self.matching(query).collect();
        let total = matching.len();
        let keep = offset.saturating_add(limit).min(total);
        let by = ranking(query.order);
        if keep > 0 && keep < total {
            matching.select_nth_unstable_by(keep - 1, by);
            matching.truncate(keep);
        }
        matching.sort_unstable_by(by);
        let page = matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        (total as u64, page)
    }

    /// Every term `query` matches, in its order (for downloads; paging ignored).
    pub fn all<'a>(&'a self, query: &CompareQuery) -> Vec<&'a TermChange> {
        let mut matching: Vec<&TermChange> = self.matching(query).collect();
        if query.order != CompareOrder::Word {
            let by = ranking(query.order);
            matching.sort_unstable_by(by);
        }
        matching
    }
}

/// The order of `order`: first what comes first; ties by term, so that every
/// page is deterministic.
fn ranking(order: CompareOrder) -> fn(&&TermChange, &&TermChange) -> Ordering {
    // A new term had no count to be relative to: it rose more than any other.
    fn relative(t: &TermChange) -> f64 {
        t.relative.unwrap_or(f64::INFINITY)
    }
    match order {
        CompareOrder::Rise => |a, b| b.change.cmp(&a.change).then_with(|| a.word.cmp(&b.word)),
        CompareOrder::Fall => |a, b| a.change.cmp(&b.change).then_with(|| a.word.cmp(&b.word)),
        CompareOrder::RelativeRise => |a, b| {
            relative(b)
                .total_cmp(&relative(a))
                .then_with(|| b.change.cmp(&a.change))
                .then_with(|| a.word.cmp(&b.word))
        },
        CompareOrder::RelativeFall => |a, b| {
            relative(a)
                .total_cmp(&relative(b))
                .then_with(|| a.change.cmp(&b.change))
                .then_with(|| a.word.cmp(&b.word))
        },
        CompareOrder::Word => |a, b| a.word.cmp(&b.word),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tally_app::compare::ChangeKind;

    use super::*;

    fn rows(map: &BTreeMap<String, u64>) -> Vec<WordCountRow> {
        map.iter()
            .map(|(word, &count)| WordCountRow {
                word: word.clone(),
                count,
            })
            .collect()
    }

    /// Two results from a small deterministic generator: shared, new and
    /// vanished terms, equal and tied counts.
    fn results(seed: u64, n: u64) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let (mut before, mut after) = (BTreeMap::new(), BTreeMap::new());
        for _ in 0..n {
            let word = format!(
                "{}{}",
                ["a", "ab", "b", "th", "the"][(next() % 5) as usize],
                next() % 40
            );
            match next() % 4 {
                0 => {
                    before.insert(word, next() % 9 + 1);
                }
                1 => {
                    after.insert(word, next() % 9 + 1);
                }
                _ => {
                    let count = next() % 9 + 1;
                    before.insert(word.clone(), count);
                    after.insert(
                        word,
                        if next() % 3 == 0 {
                            count
                        } else {
                            next() % 9 + 1
                        },
                    );
                }
            }
        }
        (before, after)
    }

    /// The same page the plain way: every term, filtered, fully sorted.
    fn reference(
        before: &BTreeMap<String, u64>,
        after: &BTreeMap<String, u64>,
        q: &CompareQuery,
    ) -> (u64, Vec<TermChange>) {
        let mut words: Vec<&String> = before.keys().chain(after.keys()).collect();
        words.sort();
        words.dedup();
        let mut terms: Vec<TermChange> = words
            .into_iter()
            .map(|w| {
                TermChange::new(
                    w.clone(),
                    before.get(w).copied().unwrap_or(0),
                    after.get(w).copied().unwrap_or(0),
                )
            })
            .filter(|t| q.q.as_deref().is_none_or(|p| t.word.starts_with(p)))
            .filter(|t| q.kind.holds(t.before, t.after))
            .collect();
        let by = ranking(q.order);
        terms.sort_by(|a, b| by(&a, &b));
        let total = terms.len() as u64;
        let page = terms
            .into_iter()
            .skip(q.offset as usize)
            .take(q.limit as usize)
            .collect();
        (total, page)
    }

    #[test]
    fn every_page_matches_a_plain_sort_of_every_term() {
        for seed in 0..20 {
            let (before, after) = results(seed, 300);
            let comparison = Comparison::merge(rows(&before), rows(&after));
            for order in CompareOrder::ALL {
                for kind in ChangeKind::ALL {
                    for q in [None, Some("th"), Some("a1"), Some("zz"), Some("")] {
                        for (offset, limit) in [(0, 10), (5, 7), (0, 1_000), (290, 20)] {
                            let query = CompareQuery {
                                q: q.map(String::from),
                                group: Default::default(),
                                kind,
                                order,
                                offset,
                                limit,
                            };
                            assert_eq!(
                                comparison.page(&query),
                                reference(&before, &after, &query),
                                "seed {seed}: {query:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_summary_counts_each_kind_once() {
        let (before, after) = results(7, 500);
        let comparison = Comparison::merge(rows(&before), rows(&after));
        let s = comparison.summary();
        let all = CompareQuery {
            limit: u64::MAX,
            ..CompareQuery::default()
        };
        let count = |kind| {
            comparison
                .page(&CompareQuery {
                    kind,
                    ..all.clone()
                })
                .0
        };
        assert_eq!(s.new, count(ChangeKind::New));
        assert_eq!(s.vanished, count(ChangeKind::Vanished));
        assert_eq!(s.changed, count(ChangeKind::Changed));
        assert_eq!(s.unchanged, count(ChangeKind::Unchanged));
        assert_eq!(
            s.new + s.vanished + s.changed + s.unchanged,
            count(ChangeKind::All)
        );
        assert!(s.new > 0 && s.vanished > 0 && s.changed > 0 && s.unchanged > 0);
        assert_eq!(comparison.all(&all).len() as u64, count(ChangeKind::All));
    }

    #[test]
    fn new_terms_rise_most_relatively_and_vanished_ones_fall_most() {
        let before = BTreeMap::from([("gone".to_string(), 2), ("up".to_string(), 1)]);
        let after = BTreeMap::from([("new".to_string(), 1), ("up".to_string(), 9)]);
        let comparison = Comparison::merge(rows(&before), rows(&after));
        let first = |order| {
            comparison
                .page(&CompareQuery {
                    order,
                    ..CompareQuery::default()
                })
                .1[0]
                .word
                .clone()
        };
        assert_eq!(first(CompareOrder::Rise), "up");
        assert_eq!(first(CompareOrder::RelativeRise), "new");
        assert_eq!(first(CompareOrder::Fall), "gone");
        assert_eq!(first(CompareOrder::RelativeFall), "gone");
        assert_eq!(first(CompareOrder::Word), "gone");
    }
}
