//! Every tokenizer and case mode, words and n-grams: the parallel engine counts
//! any bytes exactly as the plain reference implementation does (and never
//! panics).

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tally_engine::{CaseMode, CountOptions, Engine, Stopwords, TokenizerKind, reference};

fuzz_target!(|data: &[u8]| {
    let Some((&first, text)) = data.split_first() else {
        return;
    };
    let options = CountOptions {
        tokenizer: [
            TokenizerKind::Whitespace,
            TokenizerKind::Words,
            TokenizerKind::Spark,
        ][usize::from(first % 3)],
        case: if first & 4 == 0 {
            CaseMode::Lower
        } else {
            CaseMode::Preserve
        },
        min_length: usize::from((first >> 3) & 3),
        stopwords: if first & 32 == 0 {
            Stopwords::None
        } else {
            Stopwords::English
        },
        // The top two bits: words, or n-grams of 2 to 4 words.
        n: match first >> 6 {
            0 => None,
            k => Some(usize::from(k) + 1),
        },
    };
    let Ok(engine) = Engine::new(options.clone()) else {
        return;
    };
    // One pool for every input: a pool per input is slow, and its threads
    // outlive it, which the leak sanitizer reports.
    static POOL: OnceLock<Option<Arc<rayon::ThreadPool>>> = OnceLock::new();
    let Some(pool) = POOL
        .get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .ok()
                .map(Arc::new)
        })
        .clone()
    else {
        return;
    };
    // Small chunks, so that chunk boundaries fall inside words and lines.
    let got = engine.with_pool(pool).with_chunk_size(7).count_bytes(text);
    let (want, invalid) = reference::count_text(&options, text);
    assert_eq!(got.words, want, "{options:?}");
    assert_eq!(got.stats.invalid_utf8, invalid, "{options:?}");
});
