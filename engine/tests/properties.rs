//! The parallel engine gives exactly what the plain sequential reference gives, on
//! random inputs built to stress chunk boundaries: Unicode, punctuation, very long
//! words, CR/LF mixes, invalid UTF-8, and chunk sizes of a few bytes, so that cuts
//! fall everywhere, including next to multi-byte characters and inside long words.

use std::io::Read;
use std::sync::{Arc, LazyLock};

use proptest::prelude::*;
use tally_engine::{CaseMode, Control, CountOptions, Engine, Stopwords, TokenizerKind, reference};

static POOLS: LazyLock<Vec<Arc<rayon::ThreadPool>>> = LazyLock::new(|| {
    [1, 2, 3]
        .into_iter()
        .map(|n| {
            Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .expect("pool"),
            )
        })
        .collect()
});

fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-zA-Z]{1,8}".prop_map(String::into_bytes),
        2 => "[0-9]{1,4}".prop_map(String::into_bytes),
        3 => prop::sample::select(vec![" ", " ", "  ", "\t", "\n", "\r\n", "\r", "\u{3000}", "\u{a0}", "\u{85}"])
            .prop_map(|s| s.as_bytes().to_vec()),
        2 => prop::sample::select(vec![".", ",", ";", ":", "'", "\"", "!", "?", "-", "_", "...", "'s"])
            .prop_map(|s| s.as_bytes().to_vec()),
        2 => prop::sample::select(vec!["é", "Straße", "ΣΑΣ", "İ", "東京", "😀", "e\u{301}", "\u{903}", "ǅ", "\u{200d}", "ﬁ"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => (200usize..3000).prop_map(|n| "x".repeat(n).into_bytes()),
        1 => prop::sample::select(vec![vec![0xff], vec![0xc3], vec![0xe6, 0x9d], vec![0x80, 0x80], vec![0xf0, 0x9f, 0x98]]),
    ]
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..120).prop_map(|pieces| pieces.concat())
}

fn options() -> impl Strategy<Value = CountOptions> {
    (
        prop::sample::select(TokenizerKind::ALL.to_vec()),
        prop::bool::ANY,
        0usize..4,
        prop::sample::select(vec![
            Stopwords::None,
            Stopwords::English,
            Stopwords::Custom(vec!["a".into(), "É".into(), "ΣΑΣ".into(), "x".into()]),
        ]),
    )
        .prop_map(|(tokenizer, lower, min_length, stopwords)| CountOptions {
            tokenizer,
            case: if lower {
                CaseMode::Lower
            } else {
                CaseMode::Preserve
            },
            min_length,
            stopwords,
            n: None,
        })
}

/// `options` counting n-grams of `n` words.
fn ngrams(options: &CountOptions, n: usize) -> CountOptions {
    CountOptions {
        n: Some(n),
        ..options.clone()
    }
}

fn engine(options: &CountOptions, pool: usize, chunk: usize) -> Engine {
    Engine::new(options.clone())
        .expect("valid")
        .with_pool(POOLS[pool].clone())
        .with_chunk_size(chunk)
}

/// A reader that hands out at most `step` bytes per read call.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn in_memory_text_matches_the_reference(data in text(), options in options(), pool in 0usize..3, chunk in 1usize..64) {
        let (want, invalid) = reference::count_text(&options, &data);
        let got = engine(&options, pool, chunk).count_bytes(&data);
        prop_assert_eq!(&got.words, &want);
        prop_assert_eq!(got.stats.invalid_utf8, invalid);
        prop_assert_eq!(got.stats.bytes_read, data.len() as u64);
        prop_assert_eq!(got.stats.total_words, want.iter().map(|w| w.count).sum::<u64>());
        prop_assert_eq!(got.stats.distinct_words, want.len() as u64);
    }

    #[test]
    fn streams_match_the_reference(data in text(), options in options(), pool in 0usize..3, chunk in 1usize..64, step in 1usize..50) {
        let (want, invalid) = reference::count_text(&options, &data);
        let got = engine(&options, pool, chunk)
            .count_reader(Trickle { data: &data, step }, &Control::new())
            .expect("counts");
        prop_assert_eq!(&got.words, &want);
        prop_assert_eq!(got.stats.invalid_utf8, invalid);
    }

    #[test]
    fn column_values_match_the_reference(
        values in prop::collection::vec(prop::option::weighted(0.9, text().prop_map(|b| String::from_utf8_lossy(&b).into_owned())), 0..40),
        options in options(),
        pool in 0usize..3,
        batch in 1usize..8,
    ) {
        let refs: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
        let want = reference::count_values(&options, &refs);
        let batches: Vec<Vec<Option<String>>> = values.chunks(batch).map(<[_]>::to_vec).collect();
        let got = engine(&options, pool, 64)
            .count_batches(batches.into_iter().map(Ok::<_, std::io::Error>), Some(values.len() as u64), &Control::new())
            .expect("counts");
        prop_assert_eq!(&got.words, &want);
        prop_assert_eq!(got.stats.values_read, values.len() as u64);
        prop_assert_eq!(got.stats.null_values, values.iter().filter(|v| v.is_none()).count() as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn mapped_files_match_the_reference(data in text(), options in options(), pool in 0usize..3, chunk in 1usize..256) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("input.txt");
        std::fs::write(&path, &data).expect("write");
        let (want, invalid) = reference::count_text(&options, &data);
        let got = engine(&options, pool, chunk).count_file(&path, &Control::new()).expect("counts");
        prop_assert_eq!(&got.words, &want);
        prop_assert_eq!(got.stats.invalid_utf8, invalid);
    }
}

#[test]
fn thread_count_does_not_change_the_result() {
    let mut data = Vec::new();
    for i in 0..20_000u32 {
        data.extend_from_slice(format!("w{} Word{} é{} ", i % 97, i % 13, i % 7).as_bytes());
        if i % 11 == 0 {
            data.extend_from_slice(b"\r\n");
        }
    }
    for kind in TokenizerKind::ALL {
        let options = CountOptions {
            tokenizer: kind,
            ..Default::default()
        };
        let one = engine(&options, 0, 1 << 12).count_bytes(&data).words;
        let three = engine(&options, 2, 1 << 10).count_bytes(&data).words;
        assert_eq!(one, three, "{kind:?}");
        assert_eq!(one, reference::count_text(&options, &data).0, "{kind:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn ngrams_of_a_text_match_the_reference(data in text(), options in options(), n in 2usize..=5, pool in 0usize..3, chunk in 1usize..64) {
        let want = reference::count_text_ngrams(&options, &data, n);
        let got = engine(&ngrams(&options, n), pool, chunk).count_bytes(&data);
        prop_assert_eq!(&got.words, &want);
        prop_assert_eq!(got.stats.total_words, want.iter().map(|w| w.count).sum::<u64>());
    }

    #[test]
    fn ngrams_of_a_stream_match_the_reference(data in text(), options in options(), n in 2usize..=5, pool in 0usize..3, chunk in 1usize..64, step in 1usize..50) {
        let want = reference::count_text_ngrams(&options, &data, n);
        let got = engine(&ngrams(&options, n), pool, chunk)
            .count_reader(Trickle { data: &data, step }, &Control::new())
            .expect("counts");
        prop_assert_eq!(&got.words, &want);
    }

    #[test]
    fn ngrams_of_column_values_match_the_reference(
        values in prop::collection::vec(prop::option::weighted(0.9, text().prop_map(|b| String::from_utf8_lossy(&b).into_owned())), 0..40),
        options in options(),
        n in 2usize..=5,
        pool in 0usize..3,
        batch in 1usize..8,
    ) {
        let refs: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
        let want = reference::count_value_ngrams(&options, &refs, n);
        let batches: Vec<Vec<Option<String>>> = values.chunks(batch).map(<[_]>::to_vec).collect();
        let got = engine(&ngrams(&options, n), pool, 64)
            .count_batches(batches.into_iter().map(Ok::<_, std::io::Error>), Some(values.len() as u64), &Control::new())
            .expect("counts");
        prop_assert_eq!(&got.words, &want);
    }
}

/// Column values with the group of each, as a table scan hands them over.
struct GroupedBatch(Vec<(u32, Option<String>)>);

impl tally_engine::TextBatch for GroupedBatch {
    fn num_values(&self) -> usize {
        self.0.len()
    }
    fn value(&self, index: usize) -> Option<&str> {
        self.0.get(index).and_then(|(_, v)| v.as_deref())
    }
    fn group(&self, index: usize) -> u32 {
        self.0.get(index).map_or(0, |&(g, _)| g)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn grouped_counts_match_the_reference_group_by_group(
        values in prop::collection::vec((0u32..5, prop::option::weighted(0.9, text().prop_map(|b| String::from_utf8_lossy(&b).into_owned()))), 0..40),
        options in options(),
        n in prop::option::of(2usize..=5),
        pool in 0usize..3,
        batch in 1usize..8,
    ) {
        let options = CountOptions { n, ..options };
        let refs: Vec<(u32, Option<&str>)> = values.iter().map(|(g, v)| (*g, v.as_deref())).collect();
        let want = reference::count_grouped_values(&options, &refs);
        let all: Vec<Option<&str>> = refs.iter().map(|&(_, v)| v).collect();
        let want_all = reference::count_values(&options, &all);
        let batches: Vec<GroupedBatch> = values.chunks(batch).map(|c| GroupedBatch(c.to_vec())).collect();
        let engine = engine(&options, pool, 64);
        let control = Control::new();
        let mut session = engine.session(&control);
        session.add_batches(batches.into_iter().map(Ok::<_, std::io::Error>)).expect("counts");
        let got = session.finish_grouped().expect("finishes");
        prop_assert_eq!(&got.all.words, &want_all);
        prop_assert_eq!(got.all.stats.total_words, want_all.iter().map(|w| w.count).sum::<u64>());
        // Every group up to the highest seen, in id order, even one whose
        // values held no word.
        prop_assert_eq!(got.groups.len(), want.len());
        for (i, (group, want)) in got.groups.iter().zip(&want).enumerate() {
            prop_assert_eq!(group.group as usize, i);
            prop_assert_eq!(&group.words, want);
            prop_assert_eq!(group.total_words, want.iter().map(|w| w.count).sum::<u64>());
        }
    }
}

#[test]
fn ngrams_stay_within_a_value_and_join_the_words_around_a_stopword() {
    let options = CountOptions {
        stopwords: Stopwords::English,
        n: Some(2),
        ..Default::default()
    };
    let bigrams = engine(&options, 1, 64);
    let values = vec![
        Some("Cats and the dogs"),
        Some("Question marks"),
        None,
        Some("alone"),
    ];
    let got = bigrams
        .count_batches(
            std::iter::once(Ok::<_, std::io::Error>(values)),
            None,
            &Control::new(),
        )
        .expect("counts")
        .words;
    let pairs: Vec<(&str, u64)> = got.iter().map(|w| (w.word.as_str(), w.count)).collect();
    // "and" and "the" are English stopwords: "cats dogs" joins the words
    // around them; nothing pairs "dogs" with "question" (two values) or
    // "alone" (a value of one word).
    assert_eq!(pairs, [("cats dogs", 1), ("question marks", 1)]);
    // A text's lines are its values.
    let text = bigrams.count_bytes(b"red apple\ngreen pear\r\nblue").words;
    let pairs: Vec<&str> = text.iter().map(|w| w.word.as_str()).collect();
    assert_eq!(pairs, ["green pear", "red apple"]);
}

#[test]
fn ngram_sizes_outside_two_to_five_are_refused_naming_the_field() {
    for n in [0, 1, 6, 100] {
        let err = Engine::new(CountOptions {
            n: Some(n),
            ..Default::default()
        })
        .err()
        .expect("refused");
        assert_eq!(err.field(), "n");
        assert!(err.to_string().contains(&n.to_string()), "{err}");
    }
}
