//! `tally count`: the engine on files or standard input, from the command line.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use tally_engine::{
    CaseMode, Control, CountError, CountOptions, CountResult, Engine, Stopwords, TokenizerKind,
};

/// Count the words of files (or standard input) and print them, most frequent first.
#[derive(Debug, Clone, Args)]
pub struct CountArgs {
    /// Files to count together; `-` (or none) reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// How text is cut into words.
    #[arg(long, value_enum, default_value_t = Tokenizer::Whitespace)]
    pub tokenizer: Tokenizer,

    /// Whether words are lowercased before counting.
    #[arg(long, value_enum, default_value_t = Case::Lower)]
    pub case: Case,

    /// Skip words shorter than N characters.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub min_length: usize,

    /// Count n-grams of N consecutive words (2 to 5) within each line, instead
    /// of words.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(2..=5))]
    pub ngram: Option<u8>,

    /// Words to skip: `none`, `english` (built in), or a file with one word per line.
    #[arg(long, value_name = "english|none|FILE", default_value = "none")]
    pub stopwords: String,

    /// Print only the N most frequent words.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Tokenizer {
    /// Split on Unicode whitespace; punctuation stays attached.
    Whitespace,
    /// Unicode words (UAX #29) with a letter or digit.
    Words,
    /// The prototype's Spark job: split each line on single spaces.
    Spark,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Case {
    Lower,
    Preserve,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// `word count`, one per line.
    Text,
    /// `{"words": [{"word", "count"}...], "stats": {...}}`
    Json,
    /// `word,count` with a header row.
    Csv,
}

/// Why `tally count` failed; printed as `error: ...`.
#[derive(Debug, thiserror::Error)]
pub enum CountCmdError {
    #[error(transparent)]
    Count(#[from] CountError),
    #[error("--stopwords: cannot read {path}: {source}")]
    Stopwords { path: String, source: io::Error },
    #[error("cannot write the output: {0}")]
    Output(io::Error),
}

impl CountArgs {
    fn options(&self) -> Result<CountOptions, CountCmdError> {
        let stopwords = match self.stopwords.as_str() {
            "none" => Stopwords::None,
            "english" => Stopwords::English,
            path => Stopwords::Custom(read_stopwords(Path::new(path))?),
        };
        Ok(CountOptions {
            tokenizer: match self.tokenizer {
                Tokenizer::Whitespace => TokenizerKind::Whitespace,
                Tokenizer::Words => TokenizerKind::Words,
                Tokenizer::Spark => TokenizerKind::Spark,
            },
            case: match self.case {
                Case::Lower => CaseMode::Lower,
                Case::Preserve => CaseMode::Preserve,
            },
            min_length: self.min_length,
            stopwords,
            n: self.ngram.map(usize::from),
        })
    }
}

/// One word per line; blank lines and `#` comments are ignored.
fn read_stopwords(path: &Path) -> Result<Vec<String>, CountCmdError> {
    let text = std::fs::read_to_string(path).map_err(|source| CountCmdError::Stopwords {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// Runs the command, writing to standard output.
pub fn run(args: &CountArgs) -> Result<(), CountCmdError> {
    let engine = Engine::new(args.options()?)
        .map_err(CountError::from)?
        .with_threads(args.threads)?;
    let control = Control::new();
    let mut session = engine.session(&control);
    let stdin_only = args.files.is_empty() || args.files.iter().all(|f| f.as_os_str() == "-");
    if !stdin_only {
        let total = args
            .files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        session.expect_bytes(Some(total));
    }
    if args.files.is_empty() {
        session.add_reader(io::stdin(), "standard input")?;
    }
    for file in &args.files {
        if file.as_os_str() == "-" {
            session.add_reader(io::stdin(), "standard input")?;
        } else {
            session.add_file(file)?;
        }
    }
    let result = session.finish()?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    match write_result(&mut out, &result, args.format, args.top).and_then(|()| out.flush()) {
        // `tally count big.txt | head` closes the pipe early: not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(CountCmdError::Output),
    }
}

fn write_result(
    out: &mut impl Write,
    result: &CountResult,
    format: Format,
    top: Option<usize>,
) -> io::Result<()> {
    let words = &result.words[..top.unwrap_or(usize::MAX).min(result.words.len())];
    match format {
        Format::Text => {
            for w in words {
                writeln!(out, "{} {}", w.word, w.count)?;
            }
        }
        Format::Csv => {
            writeln!(out, "word,count")?;
            for w in words {
                writeln!(out, "{},{}", csv_field(&w.word), w.count)?;
            }
        }
        Format::Json => {
            let doc = serde_json::json!({ "words": words, "stats": result.stats });
            serde_json::to_writer(&mut *out, &doc).map_err(io::Error::other)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled.
pub fn csv_field(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains([',', '"', '\n', '\r']) || value.starts_with(' ') || value.ends_with(' ') {
        format!("\"{}\"", value.replace('"', "\"\"")).into()
    } else {
        value.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(""), "");
    }
}
