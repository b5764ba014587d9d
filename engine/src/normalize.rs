//! From tokens to counted words: case folding, the length floor and stopwords,
//! applied in that order, then the per-worker [`WordTable`]. For n-grams the
//! words that pass are joined, n consecutive ones at a time within one value,
//! by a single space: stopwords are removed before the n-grams are formed.

use std::collections::VecDeque;

use crate::options::{CaseMode, CountOptions, TokenizerKind};
use crate::stopwords::StopwordSet;
use crate::table::WordTable;
use crate::tokenize::{self, Shape};

/// The immutable part, shared by all workers.
pub(crate) struct Normalizer {
    kind: TokenizerKind,
    case: CaseMode,
    min_length: usize,
    stopwords: StopwordSet,
    /// Words per counted term: 1 for words, 2 to 5 for n-grams.
    ngram: usize,
}

/// One worker's mutable state: its counts and scratch buffers.
#[derive(Default)]
pub(crate) struct Worker {
    /// The counts of the group being counted (the only group of a count
    /// that is not grouped).
    pub(crate) table: WordTable,
    /// The tables of the other groups, by group id: made when a group is
    /// first met (an empty table still allocates its partitions, and a
    /// worker meets only some of the groups), and none at the current one's
    /// place until the worker moves on.
    groups: Vec<Option<WordTable>>,
    group: u32,
    pub(crate) words: u64,
    lowered: String,
    folded: String,
    grams: Grams,
}

impl Worker {
    /// Counts what follows into group `group`'s table. Values of one group
    /// tend to come together (a table's rows are often ordered), so this is
    /// one compare per value until the group changes.
    #[inline]
    pub(crate) fn enter_group(&mut self, group: u32) {
        if group != self.group {
            self.switch_group(group);
        }
    }

    fn switch_group(&mut self, group: u32) {
        let needed = group.max(self.group) as usize + 1;
        if self.groups.len() < needed {
            self.groups.resize_with(needed, || None);
        }
        let next = self.groups[group as usize].take().unwrap_or_default();
        let left = std::mem::replace(&mut self.table, next);
        self.groups[self.group as usize] = Some(left);
        self.group = group;
    }

    /// Every group's table, by group id (none for a group this worker never
    /// met), leaving the worker empty.
    pub(crate) fn take_groups(&mut self) -> Vec<Option<WordTable>> {
        let mut groups = std::mem::take(&mut self.groups);
        let current = self.group as usize;
        if groups.len() <= current {
            groups.resize_with(current + 1, || None);
        }
        groups[current] = Some(std::mem::take(&mut self.table));
        self.group = 0;
        groups
    }
}

/// The last words of the value being counted, for n-grams.
#[derive(Default)]
struct Grams {
    words: VecDeque<String>,
    /// Strings of words that left the window, reused for the next ones.
    spare: Vec<String>,
    joined: String,
}

impl Grams {
    /// Forgets the words of the previous value: n-grams never span values.
    fn clear(&mut self) {
        self.spare.extend(self.words.drain(..));
    }

    /// Takes the next word; once `n` are held, answers the n-gram of the last `n`.
    fn push(&mut self, word: &str, n: usize) -> Option<&str> {
        if self.words.len() == n
            && let Some(oldest) = self.words.pop_front()
        {
            self.spare.push(oldest);
        }
        let mut held = self.spare.pop().unwrap_or_default();
        held.clear();
        held.push_str(word);
        self.words.push_back(held);
        if self.words.len() < n {
            return None;
        }
        self.joined.clear();
        for (i, w) in self.words.iter().enumerate() {
            if i > 0 {
                self.joined.push(' ');
            }
            self.joined.push_str(w);
        }
        Some(&self.joined)
    }
}

impl Normalizer {
    pub(crate) fn new(options: &CountOptions) -> Self {
        Self {
            kind: options.tokenizer,
            case: options.case,
            min_length: options.min_length,
            stopwords: StopwordSet::new(&options.stopwords),
            ngram: options.n.unwrap_or(1),
        }
    }

    /// Whether each line of a text is a value of its own: for `spark`, and for
    /// n-grams (which never span lines). Such text is only cut at line ends.
    pub(crate) fn lines_are_values(&self) -> bool {
        self.kind == TokenizerKind::Spark || self.ngram > 1
    }

    /// Counts a piece of a text file. For `spark` and for n-grams, each line is
    /// a value (lines end at `\n`, `\r\n` or `\r`, as Hadoop's line reader cuts
    /// them).
    pub(crate) fn count_text(&self, worker: &mut Worker, text: &str) {
        if self.lines_are_values() {
            for_each_line(text, |line| self.count_value(worker, line));
        } else {
            self.count_value(worker, text);
        }
    }

    /// Counts one value (a column value, or a line when lines are values).
    #[inline]
    pub(crate) fn count_value(&self, worker: &mut Worker, value: &str) {
        if self.ngram > 1 {
            worker.grams.clear();
        }
        match self.kind {
            // The common case: the tokenizer tells each token's shape as it
            // cuts it, so case folding and the length floor need no rescan.
            TokenizerKind::Whitespace => tokenize::whitespace_shaped(value, &mut |token, shape| {
                self.count_token(worker, token, shape)
            }),
            kind => tokenize::tokenize(kind, value, &mut |token| {
                self.count_token(worker, token, Shape::of(token))
            }),
        }
    }

    #[inline]
    fn count_token(&self, worker: &mut Worker, token: &str, shape: Shape) {
        // ASCII with nothing to check but the length: folded and counted in
        // its table key, without a lowercased copy.
        if self.ngram == 1
            && shape != Shape::Unicode
            && self.stopwords.is_empty()
            && token.len() >= self.min_length
        {
            let lower = self.case == CaseMode::Lower && shape == Shape::AsciiUpper;
            if worker.table.add_ascii(token.as_bytes(), lower, 1).is_some() {
                worker.words += 1;
                return;
            }
        }
        let Worker {
            table,
            words,
            lowered,
            folded,
            grams,
            ..
        } = worker;
        let word = match self.case {
            CaseMode::Preserve => token,
            CaseMode::Lower => lowercase_shaped(token, shape, lowered),
        };
        if self.min_length > 0 {
            let len = match shape {
                Shape::Unicode => char_len(word),
                _ => word.len(),
            };
            if len < self.min_length {
                return;
            }
        }
        if !self.stopwords.is_empty() {
            let key = match self.case {
                CaseMode::Lower => word,
                CaseMode::Preserve => lowercase_shaped(token, shape, folded),
            };
            if self.stopwords.contains_lowercased(key) {
                return;
            }
        }
        if self.ngram == 1 {
            table.add(word.as_bytes(), 1);
            *words += 1;
        } else if let Some(gram) = grams.push(word, self.ngram) {
            table.add(gram.as_bytes(), 1);
            *words += 1;
        }
    }
}

/// `token.to_lowercase()` of a token whose [`Shape`] is known, without
/// allocating: the token itself when it is already lowercase ASCII, else
/// written into `buf`.
#[inline]
fn lowercase_shaped<'a>(token: &'a str, shape: Shape, buf: &'a mut String) -> &'a str {
    match shape {
        Shape::AsciiLower => token,
        Shape::AsciiUpper => {
            buf.clear();
            buf.push_str(token);
            buf.make_ascii_lowercase();
            buf
        }
        Shape::Unicode if token.contains('\u{3a3}') => {
            // Σ lowercases by context (final sigma): only the str method knows.
            *buf = token.to_lowercase();
            buf
        }
        Shape::Unicode => {
            buf.clear();
            for c in token.chars() {
                buf.extend(c.to_lowercase());
            }
            buf
        }
    }
}

#[inline]
fn char_len(word: &str) -> usize {
    if word.is_ascii() {
        word.len()
    } else {
        word.chars().count()
    }
}

/// Calls `f` with each line of `text`; a final line without terminator counts, an
/// empty remainder after the last terminator does not.
pub(crate) fn for_each_line(text: &str, mut f: impl FnMut(&str)) {
    let mut rest = text;
    while !rest.is_empty() {
        match memchr::memchr2(b'\n', b'\r', rest.as_bytes()) {
            None => {
                f(rest);
                break;
            }
            Some(i) => {
                f(&rest[..i]);
                let terminator = if rest.as_bytes()[i..].starts_with(b"\r\n") {
                    2
                } else {
                    1
                };
                rest = &rest[i + terminator..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_agrees_with_str_to_lowercase() {
        let mut buf = String::new();
        for s in [
            "abc",
            "ABC",
            "ÀÉÎ",
            "ὈΔΥΣΣΕΎΣ",
            "İstanbul",
            "ǅ",
            "straße",
            "ΣΑΣ",
            "aΣ",
        ] {
            assert_eq!(
                lowercase_shaped(s, Shape::of(s), &mut buf),
                s.to_lowercase(),
                "{s}"
            );
        }
    }

    #[test]
    fn lines_end_at_lf_crlf_and_cr() {
        let mut got = Vec::new();
        for_each_line("a\nb\r\nc\rd\n\ne", |l| got.push(l.to_string()));
        assert_eq!(got, ["a", "b", "c", "d", "", "e"]);
        got.clear();
        for_each_line("x\n", |l| got.push(l.to_string()));
        assert_eq!(got, ["x"]);
    }
}
