//! The built-in English stopword list and the matcher used while counting.

use std::collections::HashSet;

use crate::options::Stopwords;

/// Common English function words: articles, pronouns, auxiliaries, prepositions,
/// conjunctions and their frequent contractions. All lowercase.
pub const ENGLISH: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren't",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "can't",
    "cannot",
    "could",
    "couldn't",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "he",
    "he'd",
    "he'll",
    "he's",
    "her",
    "here",
    "here's",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "how's",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "itself",
    "let's",
    "me",
    "more",
    "most",
    "mustn't",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "shan't",
    "she",
    "she'd",
    "she'll",
    "she's",
    "should",
    "shouldn't",
    "so",
    "some",
    "such",
    "than",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they'd",
    "they'll",
    "they're",
    "they've",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "wasn't",
    "we",
    "we'd",
    "we'll",
    "we're",
    "we've",
    "were",
    "weren't",
    "what",
    "what's",
    "when",
    "when's",
    "where",
    "where's",
    "which",
    "while",
    "who",
    "who's",
    "whom",
    "why",
    "why's",
    "will",
    "with",
    "won't",
    "would",
    "wouldn't",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// A case-insensitive stopword set (entries and candidates are compared lowercased).
#[cfg_attr(not(feature = "count"), allow(dead_code))]
#[derive(Debug, Clone, Default)]
pub(crate) struct StopwordSet {
    words: HashSet<Box<str>, foldhash::fast::FixedState>,
}

#[cfg_attr(not(feature = "count"), allow(dead_code))]
impl StopwordSet {
    pub(crate) fn new(stopwords: &Stopwords) -> Self {
        let list: Vec<String> = match stopwords {
            Stopwords::None => Vec::new(),
            Stopwords::English => ENGLISH.iter().map(|w| (*w).to_string()).collect(),
            Stopwords::Custom(words) => words.iter().map(|w| w.trim().to_string()).collect(),
        };
        Self {
            words: list
                .iter()
                .map(|w| w.to_lowercase().into_boxed_str())
                .collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether `lowercased` (already lowercase) is a stopword.
    pub(crate) fn contains_lowercased(&self, lowercased: &str) -> bool {
        self.words.contains(lowercased)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_english_list_is_lowercase_sorted_and_unique() {
        for pair in ENGLISH.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
        assert!(ENGLISH.iter().all(|w| w.to_lowercase() == *w));
    }

    #[test]
    fn custom_entries_match_case_insensitively() {
        let set = StopwordSet::new(&Stopwords::Custom(vec![" Foo ".into(), "ΣΑΣ".into()]));
        assert!(set.contains_lowercased("foo"));
        assert!(
            set.contains_lowercased("σας"),
            "final sigma folds like str::to_lowercase"
        );
        assert!(!set.contains_lowercased("bar"));
        assert!(StopwordSet::new(&Stopwords::None).is_empty());
    }
}
