//! How the UI names the counting options: the form's choices and the pages
//! that show a definition use the same words, never the raw enum values.

use tally_engine::{CaseMode, Stopwords, TokenizerKind};

use crate::catalog::SourceFormat;
use crate::workload::WorkloadType;

pub fn workload_type(kind: WorkloadType) -> &'static str {
    match kind {
        WorkloadType::Wordcount => "Word count",
        WorkloadType::Ngram => "N-grams",
    }
}

/// An n-gram size as the form offers it: "2 (bigrams)".
pub fn ngram_size(n: usize) -> String {
    match n {
        2 => "2 (bigrams)".into(),
        3 => "3 (trigrams)".into(),
        n => n.to_string(),
    }
}

pub fn tokenizer(kind: TokenizerKind) -> &'static str {
    match kind {
        TokenizerKind::Whitespace => "Whitespace",
        TokenizerKind::Words => "Words (Unicode)",
        TokenizerKind::Spark => "Spark (single spaces)",
    }
}

/// The file format a table was imported from, as the upload form names it.
pub fn source_format(format: SourceFormat) -> &'static str {
    match format {
        SourceFormat::Csv => "CSV",
        SourceFormat::Jsonl => "JSON Lines",
        SourceFormat::Parquet => "Parquet",
        SourceFormat::Text => "Plain text",
    }
}

pub fn case(mode: CaseMode) -> &'static str {
    match mode {
        CaseMode::Lower => "Lowercase everything",
        CaseMode::Preserve => "Keep as written",
    }
}

/// The stopwords choice; a list of one's own is summarised by its length.
pub fn stopwords(stopwords: &Stopwords) -> String {
    match stopwords {
        Stopwords::None => "Count every word".into(),
        Stopwords::English => "Skip common English words".into(),
        Stopwords::Custom(words) if words.len() == 1 => "Skip my own list (1 word)".into(),
        Stopwords::Custom(words) => format!(
            "Skip my own list ({} words)",
            crate::format::thousands(words.len() as u64)
        ),
    }
}

/// The minimum length: `0` keeps every word.
pub fn min_length(chars: usize) -> String {
    match chars {
        0 => "Every word".into(),
        1 => "1 character or more".into(),
        n => format!("{n} characters or more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_has_a_label_of_words() {
        for kind in TokenizerKind::ALL {
            assert_ne!(tokenizer(kind), kind.as_str());
        }
        assert_eq!(case(CaseMode::Preserve), "Keep as written");
        assert_eq!(
            stopwords(&Stopwords::Custom(vec!["a".into()])),
            "Skip my own list (1 word)"
        );
        assert_eq!(
            stopwords(&Stopwords::Custom(vec!["a".into(); 1200])),
            "Skip my own list (1,200 words)"
        );
        assert_eq!(min_length(0), "Every word");
        assert_eq!(min_length(3), "3 characters or more");
    }
}
