//! A plain, sequential word count with the same semantics as the engine, written
//! for obviousness rather than speed. Tests compare the engine against it.

use std::collections::HashMap;

use unicode_segmentation::UnicodeSegmentation;

use crate::engine::WordCount;
use crate::normalize::for_each_line;
use crate::options::{CaseMode, CountOptions, Stopwords, TokenizerKind};
use crate::stopwords::ENGLISH;

/// Counts `data` as one text file would be counted (n-grams, when the options
/// ask for them); returns sorted counts and the number of invalid UTF-8
/// sequences.
pub fn count_text(options: &CountOptions, data: &[u8]) -> (Vec<WordCount>, u64) {
    let invalid = data
        .utf8_chunks()
        .filter(|c| !c.invalid().is_empty())
        .count() as u64;
    if let Some(n) = options.n {
        return (count_text_ngrams(options, data, n), invalid);
    }
    let text = String::from_utf8_lossy(data);
    let mut tokens: Vec<String> = Vec::new();
    match options.tokenizer {
        TokenizerKind::Whitespace => tokens.extend(text.split_whitespace().map(str::to_string)),
        TokenizerKind::Words => tokens.extend(text.unicode_words().map(str::to_string)),
        TokenizerKind::Spark => for_each_line(&text, |line| {
            tokens.extend(line.split(' ').map(str::to_string))
        }),
    }
    (finish(options, tokens), invalid)
}

/// Counts column values (`None` is a null, skipped).
pub fn count_values(options: &CountOptions, values: &[Option<&str>]) -> Vec<WordCount> {
    if let Some(n) = options.n {
        return count_value_ngrams(options, values, n);
    }
    let mut tokens: Vec<String> = Vec::new();
    for value in values.iter().flatten() {
        tokens.extend(tokens_of(options.tokenizer, value));
    }
    finish(options, tokens)
}

/// Counts column values per group: `values` are (group id, value) pairs;
/// the answer has one entry per group id from 0 (always) to the highest given (words
/// or n-grams, as `options` ask), each counted as [`count_values`] would.
pub fn count_grouped_values(
    options: &CountOptions,
    values: &[(u32, Option<&str>)],
) -> Vec<Vec<WordCount>> {
    let groups = values
        .iter()
        .map(|&(g, _)| g as usize + 1)
        .max()
        .unwrap_or(1);
    (0..groups)
        .map(|group| {
            let of_group: Vec<Option<&str>> = values
                .iter()
                .filter(|&&(g, _)| g as usize == group)
                .map(|&(_, v)| v)
                .collect();
            count_values(options, &of_group)
        })
        .collect()
}

/// Counts the n-grams of `n` words within each value (`None` is a null).
pub fn count_value_ngrams(
    options: &CountOptions,
    values: &[Option<&str>],
    n: usize,
) -> Vec<WordCount> {
    let stop = stopword_list(options);
    let grams = values
        .iter()
        .flatten()
        .flat_map(|value| ngrams_of(options, &stop, value, n))
        .collect();
    sorted(grams)
}

/// Counts the n-grams of `n` words within each line of a text file.
pub fn count_text_ngrams(options: &CountOptions, data: &[u8], n: usize) -> Vec<WordCount> {
    let stop = stopword_list(options);
    let text = String::from_utf8_lossy(data);
    let mut grams = Vec::new();
    for_each_line(&text, |line| {
        grams.extend(ngrams_of(options, &stop, line, n))
    });
    sorted(grams)
}

/// The n-grams of one value: its words that count, `n` at a time, joined.
fn ngrams_of(options: &CountOptions, stop: &[String], value: &str, n: usize) -> Vec<String> {
    let words = words_of(options, stop, tokens_of(options.tokenizer, value));
    words.windows(n).map(|w| w.join(" ")).collect()
}

fn tokens_of(kind: TokenizerKind, value: &str) -> Vec<String> {
    match kind {
        TokenizerKind::Whitespace => value.split_whitespace().map(str::to_string).collect(),
        TokenizerKind::Words => value.unicode_words().map(str::to_string).collect(),
        TokenizerKind::Spark => value.split(' ').map(str::to_string).collect(),
    }
}

/// The stopwords, lowercased, as the options name them.
fn stopword_list(options: &CountOptions) -> Vec<String> {
    match &options.stopwords {
        Stopwords::None => Vec::new(),
        Stopwords::English => ENGLISH.iter().map(|w| w.to_string()).collect(),
        Stopwords::Custom(list) => list.iter().map(|w| w.trim().to_lowercase()).collect(),
    }
}

/// The words that count among `tokens`: cased, long enough, not stopwords.
fn words_of(options: &CountOptions, stop: &[String], tokens: Vec<String>) -> Vec<String> {
    tokens
        .into_iter()
        .filter_map(|token| {
            let word = match options.case {
                CaseMode::Lower => token.to_lowercase(),
                CaseMode::Preserve => token.clone(),
            };
            let short = word.chars().count() < options.min_length;
            (!short && !stop.contains(&token.to_lowercase())).then_some(word)
        })
        .collect()
}

fn finish(options: &CountOptions, tokens: Vec<String>) -> Vec<WordCount> {
    sorted(words_of(options, &stopword_list(options), tokens))
}

/// Counts of `terms`, most frequent first, ties by term.
fn sorted(terms: Vec<String>) -> Vec<WordCount> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for term in terms {
        *counts.entry(term).or_default() += 1;
    }
    let mut words: Vec<WordCount> = counts
        .into_iter()
        .map(|(word, count)| WordCount { word, count })
        .collect();
    words.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.word.cmp(&b.word)));
    words
}
