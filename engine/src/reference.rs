//! A plain, sequential word count with the same semantics as the engine, written
//! for obviousness rather than speed. Tests compare the engine against it.

use std::collections::HashMap;

use unicode_segmentation::UnicodeSegmentation;

use crate::engine::WordCount;
use crate::normalize::for_each_line;
use crate::options::{CaseMode, CountOptions, Stopwords, TokenizerKind};
use crate::stopwords::ENGLISH;

/// Counts `data` as one text file would be counted; returns sorted counts and the
/// number of invalid UTF-8 sequences.
pub fn count_text(options: &CountOptions, data: &[u8]) -> (Vec<WordCount>, u64) {
    let invalid = data
        .utf8_chunks()
        .filter(|c| !c.invalid().is_empty())
        .count() as u64;
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
    let mut tokens: Vec<String> = Vec::new();
    for value in values.iter().flatten() {
        match options.tokenizer {
            TokenizerKind::Whitespace => {
                tokens.extend(value.split_whitespace().map(str::to_string))
            }
            TokenizerKind::Words => tokens.extend(value.unicode_words().map(str::to_string)),
            TokenizerKind::Spark => tokens.extend(value.split(' ').map(str::to_string)),
        }
    }
    finish(options, tokens)
}

fn finish(options: &CountOptions, tokens: Vec<String>) -> Vec<WordCount> {
    let stop: Vec<String> = match &options.stopwords {
        Stopwords::None => Vec::new(),
        Stopwords::English => ENGLISH.iter().map(|w| w.to_string()).collect(),
        Stopwords::Custom(list) => list.iter().map(|w| w.trim().to_lowercase()).collect(),
    };
    let mut counts: HashMap<String, u64> = HashMap::new();
    for token in tokens {
        let word = match options.case {
            CaseMode::Lower => token.to_lowercase(),
            CaseMode::Preserve => token.clone(),
        };
        if word.chars().count() < options.min_length {
            continue;
        }
        if stop.contains(&token.to_lowercase()) {
            continue;
        }
        *counts.entry(word).or_default() += 1;
    }
    let mut words: Vec<WordCount> = counts
        .into_iter()
        .map(|(word, count)| WordCount { word, count })
        .collect();
    words.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.word.cmp(&b.word)));
    words
}
