//! What to count: the tokenizer and the normalisation applied to each word.
//!
//! [`CountOptions`] is part of a workload's definition (it is stored, sent over
//! HTTP and shown in the UI), so it is serde-serialisable and validated by
//! [`CountOptions::validate`] before an engine accepts it.

use serde::{Deserialize, Serialize};

/// How text is cut into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenizerKind {
    /// Split on Unicode whitespace (the `White_Space` property); punctuation stays
    /// attached to words.
    #[default]
    Whitespace,
    /// Unicode word segmentation (UAX #29), keeping only segments that contain a
    /// letter or a digit: `"Don't panic!"` gives `Don't` and `panic`.
    Words,
    /// Exactly the prototype's PySpark job: `split(value, ' ')` on the single space
    /// character. Each line of a file (or each value of a column) is one value; empty
    /// strings between consecutive spaces, and empty lines, count as the empty word;
    /// null values are skipped.
    Spark,
}

impl TokenizerKind {
    pub const ALL: [TokenizerKind; 3] = [Self::Whitespace, Self::Words, Self::Spark];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whitespace => "whitespace",
            Self::Words => "words",
            Self::Spark => "spark",
        }
    }
}

impl std::str::FromStr for TokenizerKind {
    type Err = OptionsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| OptionsError::UnknownTokenizer(s.to_string()))
    }
}

/// Whether words are case-folded before counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CaseMode {
    /// Full Unicode lowercase of each word (`str::to_lowercase`, so a final Σ
    /// becomes ς).
    #[default]
    Lower,
    /// Count words exactly as written.
    Preserve,
}

impl CaseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lower => "lower",
            Self::Preserve => "preserve",
        }
    }
}

impl std::str::FromStr for CaseMode {
    type Err = OptionsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lower" => Ok(Self::Lower),
            "preserve" => Ok(Self::Preserve),
            other => Err(OptionsError::UnknownCase(other.to_string())),
        }
    }
}

/// Words left out of the counts. Matching ignores case: `The` is a stopword when
/// the list has `the`, whatever [`CaseMode`] is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Stopwords {
    #[default]
    None,
    /// The built-in English list ([`crate::stopwords::ENGLISH`]).
    English,
    /// A list of your own.
    Custom(Vec<String>),
}

/// The most custom stopwords accepted, and the longest one (in characters).
pub const MAX_CUSTOM_STOPWORDS: usize = 10_000;
pub const MAX_STOPWORD_CHARS: usize = 200;
/// The largest accepted `min_length`.
pub const MAX_MIN_LENGTH: usize = 1_000;

/// Everything that decides which words are counted and how they are spelled.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CountOptions {
    pub tokenizer: TokenizerKind,
    pub case: CaseMode,
    /// Words shorter than this many characters (after case folding) are not counted.
    pub min_length: usize,
    pub stopwords: Stopwords,
    /// Words per counted term: n-grams of `n` consecutive words (2 to
    /// [`MAX_NGRAM`]) within each value; `None` counts single words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
}

impl CountOptions {
    /// The prototype's behaviour: `spark` tokenizer, case preserved, nothing dropped.
    pub fn spark_compatible() -> Self {
        Self {
            tokenizer: TokenizerKind::Spark,
            case: CaseMode::Preserve,
            min_length: 0,
            stopwords: Stopwords::None,
            n: None,
        }
    }

    /// Checks the options; the error names the field at fault.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if let Some(n) = self.n
            && !(2..=MAX_NGRAM).contains(&n)
        {
            return Err(OptionsError::NgramSize(n));
        }
        if self.min_length > MAX_MIN_LENGTH {
            return Err(OptionsError::MinLengthTooLarge(self.min_length));
        }
        if let Stopwords::Custom(words) = &self.stopwords {
            if words.len() > MAX_CUSTOM_STOPWORDS {
                return Err(OptionsError::TooManyStopwords(words.len()));
            }
            for (index, word) in words.iter().enumerate() {
                if word.trim().is_empty() {
                    return Err(OptionsError::EmptyStopword { index });
                }
                if word.chars().count() > MAX_STOPWORD_CHARS {
                    return Err(OptionsError::StopwordTooLong { index });
                }
            }
        }
        Ok(())
    }
}

/// The longest n-grams counted: five consecutive words.
pub const MAX_NGRAM: usize = 5;

/// Why a [`CountOptions`] was refused. Each message starts with the field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("tokenizer: unknown tokenizer '{0}' (expected whitespace, words or spark)")]
    UnknownTokenizer(String),
    #[error("case: unknown case mode '{0}' (expected lower or preserve)")]
    UnknownCase(String),
    #[error("min_length: {0} is larger than the maximum of {MAX_MIN_LENGTH}")]
    MinLengthTooLarge(usize),
    #[error("stopwords: {0} custom stopwords is more than the maximum of {MAX_CUSTOM_STOPWORDS}")]
    TooManyStopwords(usize),
    #[error("stopwords: entry {index} is empty")]
    EmptyStopword { index: usize },
    #[error("stopwords: entry {index} is longer than {MAX_STOPWORD_CHARS} characters")]
    StopwordTooLong { index: usize },
    #[error("n: {0} is not an n-gram size Tally counts (2 to {MAX_NGRAM})")]
    NgramSize(usize),
}

impl OptionsError {
    /// The option the error is about, for placing the message next to its field.
    pub fn field(&self) -> &'static str {
        match self {
            Self::UnknownTokenizer(_) => "tokenizer",
            Self::UnknownCase(_) => "case",
            Self::MinLengthTooLarge(_) => "min_length",
            Self::TooManyStopwords(_)
            | Self::EmptyStopword { .. }
            | Self::StopwordTooLong { .. } => "stopwords",
            Self::NgramSize(_) => "n",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_whitespace_lower_and_nothing_dropped() {
        let o: CountOptions = serde_json::from_str("{}").expect("empty object is valid");
        assert_eq!(o, CountOptions::default());
        assert_eq!(o.tokenizer, TokenizerKind::Whitespace);
        assert_eq!(o.case, CaseMode::Lower);
        assert_eq!(o.min_length, 0);
        assert_eq!(o.stopwords, Stopwords::None);
    }

    #[test]
    fn serde_shape_is_readable() {
        let o = CountOptions {
            tokenizer: TokenizerKind::Words,
            case: CaseMode::Preserve,
            min_length: 3,
            stopwords: Stopwords::Custom(vec!["foo".into()]),
            n: None,
        };
        let json = serde_json::to_string(&o).expect("serialises");
        assert_eq!(
            json,
            r#"{"tokenizer":"words","case":"preserve","min_length":3,"stopwords":{"custom":["foo"]}}"#
        );
        assert_eq!(
            serde_json::from_str::<CountOptions>(&json).expect("round trip"),
            o
        );
        let english: CountOptions =
            serde_json::from_str(r#"{"stopwords":"english"}"#).expect("named list");
        assert_eq!(english.stopwords, Stopwords::English);
        // `n` appears only for n-grams, so word counts keep their old shape.
        let bigrams: CountOptions = serde_json::from_str(r#"{"n":2}"#).expect("n");
        assert_eq!(bigrams.n, Some(2));
        assert_eq!(
            serde_json::to_string(&bigrams).expect("serialises"),
            r#"{"tokenizer":"whitespace","case":"lower","min_length":0,"stopwords":"none","n":2}"#
        );
    }

    #[test]
    fn unknown_values_and_fields_are_rejected() {
        assert!(serde_json::from_str::<CountOptions>(r#"{"tokenizer":"regex"}"#).is_err());
        assert!(serde_json::from_str::<CountOptions>(r#"{"colour":"red"}"#).is_err());
        assert!(serde_json::from_str::<CountOptions>(r#"{"min_length":-1}"#).is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut o = CountOptions {
            min_length: 5000,
            ..Default::default()
        };
        let e = o.validate().expect_err("too large");
        assert_eq!(e.field(), "min_length");
        assert!(e.to_string().starts_with("min_length:"));
        o.min_length = 2;
        o.stopwords = Stopwords::Custom(vec!["ok".into(), "  ".into()]);
        assert_eq!(o.validate(), Err(OptionsError::EmptyStopword { index: 1 }));
        o.stopwords = Stopwords::Custom(vec!["x".repeat(201)]);
        assert_eq!(o.validate().expect_err("long").field(), "stopwords");
        o.stopwords = Stopwords::English;
        assert_eq!(o.validate(), Ok(()));
    }

    #[test]
    fn names_parse_back() {
        for k in TokenizerKind::ALL {
            assert_eq!(k.as_str().parse::<TokenizerKind>(), Ok(k));
        }
        assert_eq!("preserve".parse::<CaseMode>(), Ok(CaseMode::Preserve));
        assert!("upper".parse::<CaseMode>().is_err());
    }
}
