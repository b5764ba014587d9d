//! Engine throughput against a classic single-threaded baseline, in one run.
//!
//! ```text
//! cargo bench -p tally-engine --bench throughput -- [--size 100MB] [--threads N] [--dir DIR] [--corpus FILE]
//! ```
//!
//! 1. Writes a deterministic corpus of `--size` bytes: a Zipf-distributed
//!    vocabulary, capitalised sentence starts, commas and full stops attached to
//!    words, lines of 40 to 110 characters (spaces and newlines only, so both
//!    counters cut words the same way).
//! 2. Runs, each in a child process of its own so that its peak RSS is its own:
//!    - (a) the baseline: 64 KiB reads, ASCII lowercase in place, split on space
//!      and newline, `HashMap<Vec<u8>, u64>` with a fast hasher, one thread;
//!    - (b) the engine, `whitespace` + `lower`, all cores;
//!    - (c) the engine, `words` + `lower`, all cores;
//!    - (d) a bigram baseline like (a): each line's words paired in order,
//!      `HashMap<Vec<u8>, u64>`, one thread;
//!    - (e) the engine counting bigrams, `whitespace` + `lower`, all cores;
//!    - (f) a grouped baseline: each line a column value of one of
//!      [`GROUPS`] groups (runs of lines of one group, as rows of a table
//!      ordered by its group column), counted in a `HashMap<Vec<u8>, u64>`
//!      per group, then all groups summed into one, one thread;
//!    - (g) the engine counting the same values per group (`finish_grouped`),
//!      all cores;
//!
//!    and checks that (a) and (b), (d) and (e), and (f) and (g) found the
//!    same counts.
//! 3. Measures how long the engine takes to return after a cancel.
//! 4. Prints MB/s, words/s, the speedups over (a), and peak RSS.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tally_engine::{
    CancelToken, Control, CountError, CountOptions, Engine, TextBatch, TokenizerKind,
};

/// Groups of the grouped rows: about the plays of the sample table.
const GROUPS: u32 = 48;
/// Lines of one group in a row before the next group's.
const GROUP_RUN: usize = 1024;
/// Values per batch, as the table scan hands them over.
const BATCH_VALUES: usize = 8192;

/// The group of line `i`.
fn group_of(i: usize) -> u32 {
    ((i / GROUP_RUN) % GROUPS as usize) as u32
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        child(&args[pos + 1..]);
        return;
    }
    let size = flag(&args, "--size").map_or(100 << 20, |s| parse_size(&s));
    let threads: usize = flag(&args, "--threads").map_or(0, |t| t.parse().expect("--threads N"));
    let dir = flag(&args, "--dir").map(PathBuf::from);
    let temp;
    let dir = match dir {
        Some(d) => d,
        None => {
            temp = tempfile::tempdir().expect("temp dir");
            temp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir).expect("create --dir");
    // `--corpus FILE` measures an existing text instead of the generated one.
    let corpus = match flag(&args, "--corpus") {
        Some(path) => PathBuf::from(path),
        None => {
            let generated = dir.join(format!("corpus-{size}.txt"));
            if generated.metadata().ok().map(|m| m.len()) != Some(size as u64) {
                let started = Instant::now();
                tally_engine::corpus::write_text(&generated, size).expect("write the corpus");
                eprintln!(
                    "generated {} in {:.1?}",
                    generated.display(),
                    started.elapsed()
                );
            }
            generated
        }
    };
    let size = corpus
        .metadata()
        .map(|m| m.len() as usize)
        .expect("corpus size");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "machine: {cpus} logical CPUs; corpus: {:.1} MB ({})",
        size as f64 / 1e6,
        corpus.display()
    );
    println!(
        "{:<34} {:>9} {:>11} {:>13} {:>9} {:>11}",
        "run", "seconds", "MB/s", "words/s", "speedup", "peak RSS"
    );

    let base = run_child(&["baseline", corpus.to_str().expect("utf-8 path")]);
    report("baseline (1 thread, 64 KiB reads)", &base, &base, size);
    let t = threads.to_string();
    let ws = run_child(&[
        "engine",
        corpus.to_str().expect("utf-8 path"),
        "whitespace",
        &t,
    ]);
    report(
        &format!("engine whitespace+lower ({} thr)", ws.threads),
        &ws,
        &base,
        size,
    );
    let words = run_child(&["engine", corpus.to_str().expect("utf-8 path"), "words", &t]);
    report(
        &format!("engine words+lower ({} thr)", words.threads),
        &words,
        &base,
        size,
    );
    let base_bigrams = run_child(&["baseline-bigrams", corpus.to_str().expect("utf-8 path")]);
    report(
        "bigram baseline (1 thread)",
        &base_bigrams,
        &base_bigrams,
        size,
    );
    let bigrams = run_child(&[
        "engine-bigrams",
        corpus.to_str().expect("utf-8 path"),
        "whitespace",
        &t,
    ]);
    report(
        &format!("engine bigrams ({} thr)", bigrams.threads),
        &bigrams,
        &base_bigrams,
        size,
    );
    let base_grouped = run_child(&["baseline-grouped", corpus.to_str().expect("utf-8 path")]);
    report(
        &format!("grouped baseline ({GROUPS} groups, 1 thr)"),
        &base_grouped,
        &base_grouped,
        size,
    );
    let grouped = run_child(&["engine-grouped", corpus.to_str().expect("utf-8 path"), &t]);
    report(
        &format!("engine grouped ({} thr)", grouped.threads),
        &grouped,
        &base_grouped,
        size,
    );
    let cancel = run_child(&["cancel", corpus.to_str().expect("utf-8 path"), &t]);
    assert_eq!(
        (
            base_grouped.words,
            base_grouped.distinct,
            base_grouped.checksum
        ),
        (grouped.words, grouped.distinct, grouped.checksum),
        "the grouped baseline and the engine disagree"
    );
    println!(
        "groups: baseline and engine agree ({} words, {} distinct (group, word) pairs); speedup {:.2}x",
        grouped.words,
        grouped.distinct,
        base_grouped.secs / grouped.secs
    );
    assert_eq!(
        (
            base_bigrams.words,
            base_bigrams.distinct,
            base_bigrams.checksum
        ),
        (bigrams.words, bigrams.distinct, bigrams.checksum),
        "the bigram baseline and the engine disagree"
    );
    println!(
        "bigrams: baseline and engine agree ({} bigrams, {} distinct); speedup {:.2}x",
        bigrams.words,
        bigrams.distinct,
        base_bigrams.secs / bigrams.secs
    );

    assert_eq!(
        (base.words, base.distinct, base.checksum),
        (ws.words, ws.distinct, ws.checksum),
        "baseline and engine disagree"
    );
    println!(
        "counts: baseline and engine agree ({} words, {} distinct)",
        base.words, base.distinct
    );
    println!(
        "speedup whitespace: {:.2}x   speedup words: {:.2}x   cancel latency: {:.1} ms",
        base.secs / ws.secs,
        base.secs / words.secs,
        cancel.secs * 1000.0
    );
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn parse_size(s: &str) -> usize {
    let s = s.to_ascii_uppercase();
    let (num, mult) = if let Some(n) = s.strip_suffix("GB") {
        (n, 1 << 30)
    } else if let Some(n) = s.strip_suffix("MB") {
        (n, 1 << 20)
    } else if let Some(n) = s.strip_suffix("KB") {
        (n, 1 << 10)
    } else {
        (s.as_str(), 1)
    };
    num.trim().parse::<usize>().expect("--size like 100MB") * mult
}

/// What a child run reports.
struct Run {
    secs: f64,
    words: u64,
    distinct: u64,
    checksum: u64,
    peak_rss_kb: u64,
    threads: usize,
}

fn report(name: &str, run: &Run, base: &Run, size: usize) {
    println!(
        "{:<34} {:>9.3} {:>11.1} {:>13.0} {:>8.2}x {:>8} MiB",
        name,
        run.secs,
        size as f64 / 1e6 / run.secs,
        run.words as f64 / run.secs,
        base.secs / run.secs,
        run.peak_rss_kb / 1024
    );
}

fn run_child(args: &[&str]) -> Run {
    let out = Command::new(std::env::current_exe().expect("own path"))
        .arg("--child")
        .args(args)
        .output()
        .expect("run child");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = line.split_whitespace().collect();
    Run {
        secs: f[0].parse().expect("secs"),
        words: f[1].parse().expect("words"),
        distinct: f[2].parse().expect("distinct"),
        checksum: f[3].parse().expect("checksum"),
        peak_rss_kb: f[4].parse().expect("rss"),
        threads: f[5].parse().expect("threads"),
    }
}

fn child(args: &[String]) {
    let path = Path::new(&args[1]);
    let threads = |i: usize| args.get(i).map_or(0, |t| t.parse().expect("threads"));
    let (secs, words, distinct, checksum, used) = match args[0].as_str() {
        mode @ ("baseline" | "baseline-bigrams") => {
            // Timed up to the same output as the engine's: every word with its
            // count, most frequent first.
            let started = Instant::now();
            let counts = if mode == "baseline" {
                baseline(path)
            } else {
                baseline_bigrams(path)
            };
            let mut sorted: Vec<(Vec<u8>, u64)> = counts.into_iter().collect();
            sorted.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let secs = started.elapsed().as_secs_f64();
            let words = sorted.iter().map(|e| e.1).sum();
            let sum = checksum(sorted.iter().map(|(w, c)| (w.as_slice(), *c)));
            (secs, words, sorted.len() as u64, sum, 1)
        }
        mode @ ("engine" | "engine-bigrams") => {
            let tokenizer: TokenizerKind = args[2].parse().expect("tokenizer");
            let engine = Engine::new(CountOptions {
                tokenizer,
                n: (mode == "engine-bigrams").then_some(2),
                ..Default::default()
            })
            .expect("options")
            .with_threads(threads(3))
            .expect("pool");
            let started = Instant::now();
            let result = engine.count_file(path, &Control::new()).expect("count");
            let secs = started.elapsed().as_secs_f64();
            let sum = checksum(result.words.iter().map(|w| (w.word.as_bytes(), w.count)));
            (
                secs,
                result.stats.total_words,
                result.stats.distinct_words,
                sum,
                engine.threads(),
            )
        }
        "baseline-grouped" => {
            // From the text in memory (a scan hands values over in memory)
            // to every group's words and all groups' together, each sorted.
            let text = std::fs::read(path).expect("read corpus");
            let started = Instant::now();
            let (all, groups) = baseline_grouped(&text);
            let secs = started.elapsed().as_secs_f64();
            let (words, distinct, sum) = grouped_digest(&all, &groups);
            (secs, words, distinct, sum, 1)
        }
        "engine-grouped" => {
            let text = std::fs::read_to_string(path).expect("read corpus");
            let engine = Engine::new(CountOptions::default())
                .expect("options")
                .with_threads(threads(2))
                .expect("pool");
            let started = Instant::now();
            let lines: Vec<(u32, &str)> = text
                .split('\n')
                .enumerate()
                .map(|(i, line)| (group_of(i), line))
                .collect();
            let batches = lines
                .chunks(BATCH_VALUES)
                .map(|c| Ok::<_, std::io::Error>(GroupedLines(c)));
            let control = Control::new();
            let mut session = engine.session(&control);
            session.add_batches(batches).expect("count");
            let result = session.finish_grouped().expect("finish");
            let secs = started.elapsed().as_secs_f64();
            let all: Vec<(Vec<u8>, u64)> = result
                .all
                .words
                .iter()
                .map(|w| (w.word.clone().into_bytes(), w.count))
                .collect();
            let groups: Vec<Vec<(Vec<u8>, u64)>> = result
                .groups
                .iter()
                .map(|g| {
                    g.words
                        .iter()
                        .map(|w| (w.word.clone().into_bytes(), w.count))
                        .collect()
                })
                .collect();
            let (words, distinct, sum) = grouped_digest(&all, &groups);
            (secs, words, distinct, sum, engine.threads())
        }
        "cancel" => {
            let engine = Engine::new(CountOptions::default())
                .expect("options")
                .with_threads(threads(2))
                .expect("pool");
            let token = CancelToken::new();
            let control = Control::new().with_cancel(token.clone());
            let latency = std::thread::scope(|s| {
                let run = s.spawn(|| {
                    let outcome = engine.count_file(path, &control);
                    (Instant::now(), outcome)
                });
                std::thread::sleep(Duration::from_millis(150));
                let cancelled = Instant::now();
                token.cancel();
                let (returned, outcome) = run.join().expect("no panic");
                assert!(
                    matches!(outcome, Err(CountError::Cancelled)),
                    "the count finished before the cancel"
                );
                returned.saturating_duration_since(cancelled)
            });
            (latency.as_secs_f64(), 0, 0, 0, engine.threads())
        }
        other => panic!("unknown child mode {other}"),
    };
    println!(
        "{secs} {words} {distinct} {checksum} {} {used}",
        tally_engine::corpus::peak_rss_kb()
    );
}

/// Single-threaded, the classic optimised way.
fn baseline(path: &Path) -> HashMap<Vec<u8>, u64, foldhash::fast::RandomState> {
    let mut counts: HashMap<Vec<u8>, u64, foldhash::fast::RandomState> = HashMap::default();
    let mut file = File::open(path).expect("open corpus");
    let mut buf = vec![0_u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut count = |word: &[u8]| {
        if word.is_empty() {
            return;
        }
        match counts.get_mut(word) {
            Some(c) => *c += 1,
            None => {
                counts.insert(word.to_vec(), 1);
            }
        }
    };
    loop {
        let n = file.read(&mut buf).expect("read corpus");
        if n == 0 {
            break;
        }
        let data = &mut buf[..n];
        data.make_ascii_lowercase();
        let mut start = 0;
        for end in memchr::memchr2_iter(b' ', b'\n', data) {
            if carry.is_empty() {
                count(&data[start..end]);
            } else {
                carry.extend_from_slice(&data[start..end]);
                count(&carry);
                carry.clear();
            }
            start = end + 1;
        }
        carry.extend_from_slice(&data[start..]);
    }
    count(&carry);
    counts
}

/// The bigrams of each line, single-threaded, from the whole file read at once.
fn baseline_bigrams(path: &Path) -> HashMap<Vec<u8>, u64, foldhash::fast::RandomState> {
    let mut counts: HashMap<Vec<u8>, u64, foldhash::fast::RandomState> = HashMap::default();
    let mut text = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut text))
        .expect("read corpus");
    text.make_ascii_lowercase();
    let mut pair = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let mut previous: Option<&[u8]> = None;
        for word in line.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            if let Some(first) = previous {
                pair.clear();
                pair.extend_from_slice(first);
                pair.push(b' ');
                pair.extend_from_slice(word);
                match counts.get_mut(pair.as_slice()) {
                    Some(c) => *c += 1,
                    None => {
                        counts.insert(pair.clone(), 1);
                    }
                }
            }
            previous = Some(word);
        }
    }
    counts
}

/// Lines of the corpus as a grouped batch of column values.
struct GroupedLines<'a>(&'a [(u32, &'a str)]);

impl TextBatch for GroupedLines<'_> {
    fn num_values(&self) -> usize {
        self.0.len()
    }
    fn value(&self, index: usize) -> Option<&str> {
        self.0.get(index).map(|&(_, v)| v)
    }
    fn group(&self, index: usize) -> u32 {
        self.0.get(index).map_or(0, |&(g, _)| g)
    }
}

/// Sorted counts: most frequent first, ties by word.
type Sorted = Vec<(Vec<u8>, u64)>;

/// Each line's words counted in its group, single-threaded the classic way,
/// then all groups together; every list sorted as the engine sorts.
fn baseline_grouped(text: &[u8]) -> (Sorted, Vec<Sorted>) {
    type Counts = HashMap<Vec<u8>, u64, foldhash::fast::RandomState>;
    let mut counts: Vec<Counts> = Vec::new();
    let mut lower = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let group = group_of(i) as usize;
        // The engine answers every group up to the highest it was handed.
        if counts.len() <= group {
            counts.resize_with(group + 1, Counts::default);
        }
        let counts = &mut counts[group];
        for word in line.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            lower.clear();
            lower.extend(word.iter().map(u8::to_ascii_lowercase));
            match counts.get_mut(lower.as_slice()) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(lower.clone(), 1);
                }
            }
        }
    }
    let mut all = Counts::default();
    for group in &counts {
        for (word, &count) in group {
            match all.get_mut(word) {
                Some(c) => *c += count,
                None => {
                    all.insert(word.clone(), count);
                }
            }
        }
    }
    let mut groups: Vec<Sorted> = counts
        .into_iter()
        .map(|c| c.into_iter().collect())
        .collect();
    let by_count =
        |a: &(Vec<u8>, u64), b: &(Vec<u8>, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
    for group in &mut groups {
        group.sort_unstable_by(by_count);
    }
    let mut all: Sorted = all.into_iter().collect();
    all.sort_unstable_by(by_count);
    (all, groups)
}

/// Words, distinct (group, word) pairs and a digest of a grouped count.
fn grouped_digest(all: &Sorted, groups: &[Sorted]) -> (u64, u64, u64) {
    let words = all.iter().map(|e| e.1).sum();
    let distinct = groups.iter().map(|g| g.len() as u64).sum();
    let digests: Vec<u64> = std::iter::once(all)
        .chain(groups)
        .map(|list| checksum(list.iter().map(|(w, c)| (w.as_slice(), *c))))
        .collect();
    let mut h = std::hash::DefaultHasher::new();
    digests.hash(&mut h);
    (words, distinct, h.finish())
}

/// An order-sensitive digest of a sorted count list.
fn checksum<'a>(entries: impl Iterator<Item = (&'a [u8], u64)>) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for (w, c) in entries {
        w.hash(&mut h);
        c.hash(&mut h);
    }
    h.finish()
}
