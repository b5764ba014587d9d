//! Tally's word-count engine: text in, counts out.
//!
//! It reads whole files (memory-mapped, cut across cores at safe boundaries),
//! streams (standard input) and batches of column values, and counts words in
//! parallel on a rayon pool. It knows nothing of HTTP, databases or async
//! runtimes; the `tally` server and its `count` subcommand are its callers.
//!
//! ```
//! use tally_engine::{CountOptions, Engine, TokenizerKind};
//!
//! let options = CountOptions { tokenizer: TokenizerKind::Words, ..Default::default() };
//! let result = Engine::new(options).unwrap().count_bytes(b"The cat; the hat.");
//! assert_eq!(result.words[0].word, "the");
//! assert_eq!(result.words[0].count, 2);
//! ```
//!
//! Results are deterministic: the same input and options give the same words and
//! counts, in the same order, whatever the number of threads.

//!
//! Without its default `count` feature the crate is only [`CountOptions`] and its
//! parts: the shape of a workload's options, shared with the WASM UI.

#[cfg(feature = "count")]
mod control;
#[cfg(feature = "count")]
#[doc(hidden)]
pub mod corpus;
#[cfg(feature = "count")]
mod engine;
#[cfg(feature = "count")]
mod normalize;
mod options;
#[cfg(feature = "count")]
pub mod reference;
#[cfg(feature = "count")]
mod split;
pub mod stopwords;
#[cfg(feature = "count")]
mod table;
#[cfg(feature = "count")]
mod tokenize;

#[cfg(feature = "count")]
pub use control::{CancelToken, Control, Pace, Progress};
#[cfg(feature = "count")]
pub use engine::{
    CountError, CountResult, CountStats, Engine, GroupCounts, GroupedResult, Session, TextBatch,
    WordCount,
};
pub use options::{
    CaseMode, CountOptions, MAX_CUSTOM_STOPWORDS, MAX_MIN_LENGTH, MAX_NGRAM, MAX_STOPWORD_CHARS,
    OptionsError, Stopwords, TokenizerKind,
};
