//! Hand-checked results for each tokenizer, and the engine's contract on errors,
//! cancellation and progress.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tally_engine::{
    CancelToken, CaseMode, Control, CountError, CountOptions, Engine, Stopwords, TokenizerKind,
};

fn counts(options: CountOptions, text: &str) -> Vec<(String, u64)> {
    Engine::new(options)
        .expect("valid options")
        .count_bytes(text.as_bytes())
        .words
        .into_iter()
        .map(|w| (w.word, w.count))
        .collect()
}

fn pairs(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(w, c)| (w.to_string(), *c)).collect()
}

#[test]
fn whitespace_lowercases_and_keeps_punctuation() {
    let got = counts(
        CountOptions::default(),
        "The cat, the CAT.\tThe\u{3000}end\r\n",
    );
    assert_eq!(
        got,
        pairs(&[("the", 3), ("cat,", 1), ("cat.", 1), ("end", 1)])
    );
}

#[test]
fn words_follow_uax29() {
    let options = CountOptions {
        tokenizer: TokenizerKind::Words,
        ..Default::default()
    };
    let got = counts(
        options,
        "Don't panic: it's 3.14, e.g. 1,000 -- naïve café's ___ don't",
    );
    assert_eq!(
        got,
        pairs(&[
            ("don't", 2),
            ("1,000", 1),
            ("3.14", 1),
            ("café's", 1),
            ("e.g", 1),
            ("it's", 1),
            ("naïve", 1),
            ("panic", 1),
        ])
    );
}

/// What `df.select(explode(split(col("text"), " ")))...groupBy().count()` gives.
#[test]
fn spark_splits_each_line_on_single_spaces() {
    let text = "To be,  or not\nto be\n\nBe\r\n";
    let got = counts(CountOptions::spark_compatible(), text);
    // "To be,  or not" -> To, be,, "", or, not ; "to be" -> to, be ; "" -> "" ; "Be" -> Be
    assert_eq!(
        got,
        pairs(&[
            ("", 2),
            ("Be", 1),
            ("To", 1),
            ("be", 1),
            ("be,", 1),
            ("not", 1),
            ("or", 1),
            ("to", 1)
        ])
    );
}

#[test]
fn spark_skips_null_values() {
    let engine = Engine::new(CountOptions::spark_compatible()).expect("valid");
    let batch: Vec<Option<&str>> = vec![Some("a b"), None, Some(""), Some("a")];
    let result = engine
        .count_batches(
            std::iter::once(Ok::<_, std::io::Error>(batch)),
            Some(4),
            &Control::new(),
        )
        .expect("counts");
    let got: Vec<_> = result
        .words
        .iter()
        .map(|w| (w.word.as_str(), w.count))
        .collect();
    assert_eq!(got, [("a", 2), ("", 1), ("b", 1)]);
    assert_eq!(result.stats.null_values, 1);
    assert_eq!(result.stats.values_read, 4);
}

#[test]
fn min_length_and_stopwords_apply_after_case_folding() {
    let options = CountOptions {
        min_length: 3,
        stopwords: Stopwords::English,
        ..Default::default()
    };
    let got = counts(options, "The the AND and ox Ox oxen OXEN İİ");
    // "İİ" lowercases to 4 chars (i + combining dot, twice), so it passes min_length 3.
    assert_eq!(got, pairs(&[("oxen", 2), ("i\u{307}i\u{307}", 1)]));
    let preserve = CountOptions {
        case: CaseMode::Preserve,
        stopwords: Stopwords::Custom(vec!["OX".into()]),
        ..Default::default()
    };
    assert_eq!(counts(preserve, "ox Ox oxen"), pairs(&[("oxen", 1)]));
}

#[test]
fn invalid_utf8_is_replaced_and_counted() {
    let engine = Engine::new(CountOptions::default()).expect("valid");
    let result = engine.count_bytes(b"ok \xff\xfe ok caf\xc3 \xe6\x9d");
    let got: Vec<_> = result
        .words
        .iter()
        .map(|w| (w.word.as_str(), w.count))
        .collect();
    assert_eq!(
        got,
        [
            ("ok", 2),
            ("caf\u{fffd}", 1),
            ("\u{fffd}", 1),
            ("\u{fffd}\u{fffd}", 1)
        ]
    );
    assert_eq!(result.stats.invalid_utf8, 4);
}

#[test]
fn empty_input_and_no_trailing_newline() {
    let engine = Engine::new(CountOptions::default()).expect("valid");
    let empty = engine.count_bytes(b"");
    assert!(empty.words.is_empty());
    assert_eq!(empty.stats.values_read, 0);
    let one = engine.count_bytes(b"a\nb");
    assert_eq!(
        one.stats.values_read, 2,
        "the last line counts without its newline"
    );
}

#[test]
fn missing_files_and_directories_are_clear_errors() {
    let engine = Engine::new(CountOptions::default()).expect("valid");
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope.txt");
    let err = engine
        .count_file(&missing, &Control::new())
        .expect_err("missing");
    assert!(matches!(err, CountError::NotFound(_)), "{err:?}");
    assert!(err.to_string().ends_with("nope.txt: no such file"), "{err}");
    let err = engine
        .count_file(dir.path(), &Control::new())
        .expect_err("a directory");
    assert!(matches!(err, CountError::IsADirectory(_)), "{err:?}");
}

const LINE: &str = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod\n";

/// Whole lines of [`LINE`], about `megabytes` MiB.
fn big_text(megabytes: usize) -> Vec<u8> {
    LINE.repeat((megabytes << 20) / LINE.len()).into_bytes()
}

#[test]
fn a_cancelled_count_returns_cancelled_and_no_result() {
    let data = big_text(64);
    let token = CancelToken::new();
    let control = Control::new().with_cancel(token.clone());
    let engine = Engine::new(CountOptions::default())
        .expect("valid")
        .with_threads(2)
        .expect("pool");
    let cancelled_at = Arc::new(Mutex::new(None::<Instant>));
    std::thread::scope(|s| {
        let handle = s.spawn(|| engine.count_reader(&data[..], &control));
        std::thread::sleep(Duration::from_millis(30));
        token.cancel();
        *cancelled_at.lock().expect("lock") = Some(Instant::now());
        let outcome = handle.join().expect("no panic");
        let latency = cancelled_at.lock().expect("lock").expect("set").elapsed();
        assert!(matches!(outcome, Err(CountError::Cancelled)), "{outcome:?}");
        // Generous: the contract is "within 200 ms"; the benchmark measures it.
        assert!(latency < Duration::from_secs(2), "took {latency:?}");
    });
    let already = Control::new().with_cancel({
        let t = CancelToken::new();
        t.cancel();
        t
    });
    assert!(matches!(
        engine.count_reader(&b"a b"[..], &already),
        Err(CountError::Cancelled)
    ));
}

#[test]
fn progress_is_reported_while_counting_and_at_the_end() {
    let data = big_text(48);
    let calls = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(Mutex::new(None));
    let control = Control::new()
        .progress_interval(Duration::from_millis(5))
        .on_progress({
            let (calls, last) = (calls.clone(), last.clone());
            move |p| {
                calls.fetch_add(1, Ordering::Relaxed);
                *last.lock().expect("lock") = Some(*p);
            }
        });
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.txt");
    std::fs::write(&path, &data).expect("write");
    let engine = Engine::new(CountOptions::default())
        .expect("valid")
        .with_threads(2)
        .expect("pool");
    let result = engine.count_file(&path, &control).expect("counts");
    let final_progress = last.lock().expect("lock").expect("reported");
    assert!(
        calls.load(Ordering::Relaxed) >= 2,
        "reported during the count and at the end"
    );
    assert_eq!(final_progress.bytes_done, data.len() as u64);
    assert_eq!(final_progress.bytes_total, Some(data.len() as u64));
    assert_eq!(final_progress.fraction(), Some(1.0));
    assert_eq!(final_progress.words_done, result.stats.total_words);
    let lines = (data.len() / LINE.len()) as u64;
    assert_eq!(result.stats.values_read, lines);
    assert_eq!(
        result.stats.total_words,
        lines * LINE.split_whitespace().count() as u64
    );
    assert_eq!(result.words.len(), 11);
}
