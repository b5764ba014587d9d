//! [`Engine`] and [`Session`]: the parallel map-reduce over chunks of input.
//!
//! Inputs are cut at safe boundaries ([`crate::split`]) into chunks of about 1 MiB.
//! Each rayon worker counts its chunks into its own [`WordTable`]; at the end the
//! tables are merged pairwise in parallel and sorted. Cancellation and progress are
//! checked per chunk, so both react within milliseconds.
//!
//! Memory stays bounded whatever the input size: files are memory-mapped and the
//! pages of each processed window are released; streams are read in blocks through
//! a bounded channel. Only the distinct-word tables grow with the input.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::control::{Control, Progress};
use crate::normalize::{Normalizer, Worker};
use crate::options::{CountOptions, OptionsError, TokenizerKind};
use crate::split::{cut_at_or_after, last_cut};
use crate::table::WordTable;

/// Nominal chunk size: small enough to balance cores and react to a cancel within
/// a few milliseconds, large enough that per-chunk overhead is noise.
const CHUNK: usize = 1 << 20;
/// Pages of a mapped file are released after each window of this size.
const WINDOW: usize = 32 << 20;
/// Up to this many distinct words, a count's result is merged and sorted on the
/// calling thread rather than on the pool.
const SMALL_RESULT: usize = 16 * 1024;

/// A word and how many times it occurs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WordCount {
    pub word: String,
    pub count: u64,
}

/// What a count read and found.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct CountStats {
    pub bytes_read: u64,
    /// Lines of text inputs plus values of column inputs (nulls included).
    pub values_read: u64,
    /// Null column values, skipped.
    pub null_values: u64,
    /// Words counted (after case folding, the length floor and stopwords);
    /// n-grams, when the options ask for them.
    pub total_words: u64,
    pub distinct_words: u64,
    /// Invalid UTF-8 sequences met, each replaced by U+FFFD.
    pub invalid_utf8: u64,
    pub threads: usize,
    #[serde(serialize_with = "as_secs_f64")]
    pub elapsed: Duration,
}

fn as_secs_f64<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Every distinct word with its count, most frequent first (ties by word, in
/// code-point order), and the statistics of the count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CountResult {
    pub words: Vec<WordCount>,
    pub stats: CountStats,
}

/// One group's counts in a grouped count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCounts {
    /// The id its values were handed over with ([`TextBatch::group`]).
    pub group: u32,
    /// Most frequent first, ties by word, as in [`CountResult`].
    pub words: Vec<WordCount>,
    /// Words counted in this group (the sum of its counts).
    pub total_words: u64,
}

/// A grouped count: the counts of every group together, and of each group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupedResult {
    pub all: CountResult,
    /// One entry per group id from 0 (always) to the highest seen, in id order (a
    /// group whose values held no word has no words).
    pub groups: Vec<GroupCounts>,
}

/// Why a count did not finish.
#[derive(Debug, thiserror::Error)]
pub enum CountError {
    #[error("cancelled")]
    Cancelled,
    #[error("{}: no such file", .0.display())]
    NotFound(PathBuf),
    #[error("{}: is a directory", .0.display())]
    IsADirectory(PathBuf),
    #[error("cannot read {what}: {source}")]
    Read {
        what: String,
        source: std::io::Error,
    },
    #[error("the input failed: {0}")]
    Source(Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot start the worker threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
    #[error(transparent)]
    Options(#[from] OptionsError),
}

impl CountError {
    fn io(what: &Path, source: std::io::Error) -> Self {
        match source.kind() {
            std::io::ErrorKind::NotFound => Self::NotFound(what.to_path_buf()),
            std::io::ErrorKind::IsADirectory => Self::IsADirectory(what.to_path_buf()),
            _ => Self::Read {
                what: what.display().to_string(),
                source,
            },
        }
    }
}

/// A batch of column values handed over by a table scan. `None` is a null.
pub trait TextBatch: Send {
    fn num_values(&self) -> usize;
    fn value(&self, index: usize) -> Option<&str>;
    /// The group of value `index`, for [`Session::finish_grouped`]: a dense
    /// id the caller gives each group (0 for a count that is not grouped).
    fn group(&self, _index: usize) -> u32 {
        0
    }
}

impl<S: AsRef<str> + Send> TextBatch for Vec<Option<S>> {
    fn num_values(&self) -> usize {
        self.len()
    }
    fn value(&self, index: usize) -> Option<&str> {
        self.get(index).and_then(|v| v.as_ref().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str> + Sync> TextBatch for &[S] {
    fn num_values(&self) -> usize {
        self.len()
    }
    fn value(&self, index: usize) -> Option<&str> {
        self.get(index).map(AsRef::as_ref)
    }
}

/// A configured word counter. Cheap to share; every count runs in a [`Session`].
pub struct Engine {
    options: CountOptions,
    normalizer: Normalizer,
    pool: Option<Arc<ThreadPool>>,
    chunk: usize,
}

impl Engine {
    /// An engine for validated `options`, running on rayon's global pool.
    /// With `options.n`, it counts n-grams: `n` consecutive words within each
    /// value, or each line of a text, joined by a space, after case folding,
    /// the length floor and stopwords (removed first, so an n-gram can join
    /// the words around one).
    pub fn new(options: CountOptions) -> Result<Self, OptionsError> {
        options.validate()?;
        let normalizer = Normalizer::new(&options);
        Ok(Self {
            options,
            normalizer,
            pool: None,
            chunk: CHUNK,
        })
    }

    /// Where text may be cut into chunks: for n-grams, as for `spark`, only at
    /// line ends (lines are the values, and no n-gram spans two).
    fn cut_kind(&self) -> TokenizerKind {
        if self.normalizer.lines_are_values() {
            TokenizerKind::Spark
        } else {
            self.options.tokenizer
        }
    }

    /// Runs on a pool of its own with `threads` workers (0: one per core).
    pub fn with_threads(mut self, threads: usize) -> Result<Self, CountError> {
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("tally-count-{i}"))
            .build()?;
        self.pool = Some(Arc::new(pool));
        Ok(self)
    }

    /// Runs on `pool` (the dispatcher's dedicated pool).
    pub fn with_pool(mut self, pool: Arc<ThreadPool>) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Changes the nominal chunk size; tests use tiny chunks to put many cuts in
    /// small inputs.
    #[doc(hidden)]
    pub fn with_chunk_size(mut self, bytes: usize) -> Self {
        self.chunk = bytes.max(1);
        self
    }

    pub fn options(&self) -> &CountOptions {
        &self.options
    }

    /// How many workers a count uses.
    pub fn threads(&self) -> usize {
        self.pool
            .as_ref()
            .map_or_else(rayon::current_num_threads, |p| p.current_num_threads())
    }

    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// Starts a count that may take several inputs; finish it with [`Session::finish`].
    pub fn session<'a>(&'a self, control: &'a Control) -> Session<'a> {
        let threads = self.threads();
        Session {
            engine: self,
            control,
            workers: (0..threads)
                .map(|_| Slot(Mutex::new(Worker::default())))
                .collect(),
            bytes_done: AtomicU64::new(0),
            values_done: AtomicU64::new(0),
            nulls: AtomicU64::new(0),
            words_done: AtomicU64::new(0),
            invalid_utf8: AtomicU64::new(0),
            bytes_total: None,
            values_total: None,
            started: Instant::now(),
            last_report_ms: AtomicU64::new(0),
        }
    }

    /// Counts one file.
    pub fn count_file(&self, path: &Path, control: &Control) -> Result<CountResult, CountError> {
        let mut session = self.session(control);
        session.expect_bytes(std::fs::metadata(path).ok().map(|m| m.len()));
        session.add_file(path)?;
        session.finish()
    }

    /// Counts a stream read to its end (standard input, a pipe, a socket).
    pub fn count_reader(
        &self,
        reader: impl Read + Send,
        control: &Control,
    ) -> Result<CountResult, CountError> {
        let mut session = self.session(control);
        session.add_reader(reader, "the input stream")?;
        session.finish()
    }

    /// Counts column values delivered in batches, for example by a table scan.
    pub fn count_batches<B, E, I>(
        &self,
        batches: I,
        values_total: Option<u64>,
        control: &Control,
    ) -> Result<CountResult, CountError>
    where
        B: TextBatch,
        E: std::error::Error + Send + Sync + 'static,
        I: Iterator<Item = Result<B, E>> + Send,
    {
        let mut session = self.session(control);
        session.expect_values(values_total);
        session.add_batches(batches)?;
        session.finish()
    }

    /// Counts an in-memory text, as if it were a file.
    pub fn count_bytes(&self, data: &[u8]) -> CountResult {
        let control = Control::new();
        let mut session = self.session(&control);
        // Nothing can cancel this count and memory input cannot fail to read.
        match session.add_bytes(data).and_then(|()| session.finish()) {
            Ok(result) => result,
            Err(e) => unreachable!("an uncancellable in-memory count failed: {e}"),
        }
    }
}

/// A worker on a cache line of its own: workers update their state on every
/// word, and two on one line would make the cores fight over it (false sharing).
#[repr(align(128))]
struct Slot(Mutex<Worker>);

/// One count in progress: inputs are added one after the other and counted in
/// parallel; [`Session::finish`] merges and sorts.
pub struct Session<'a> {
    engine: &'a Engine,
    control: &'a Control,
    workers: Vec<Slot>,
    bytes_done: AtomicU64,
    values_done: AtomicU64,
    nulls: AtomicU64,
    words_done: AtomicU64,
    invalid_utf8: AtomicU64,
    bytes_total: Option<u64>,
    values_total: Option<u64>,
    started: Instant,
    last_report_ms: AtomicU64,
}

impl Session<'_> {
    /// Declares the total size of all inputs, for progress fractions.
    pub fn expect_bytes(&mut self, total: Option<u64>) {
        self.bytes_total = total;
    }

    /// Declares the total number of values of all inputs, for progress fractions.
    pub fn expect_values(&mut self, total: Option<u64>) {
        self.values_total = total;
    }

    /// Counts a file: memory-mapped when it is a regular file, streamed otherwise.
    pub fn add_file(&mut self, path: &Path) -> Result<(), CountError> {
        let file = File::open(path).map_err(|e| CountError::io(path, e))?;
        let meta = file.metadata().map_err(|e| CountError::io(path, e))?;
        if meta.is_dir() {
            return Err(CountError::IsADirectory(path.to_path_buf()));
        }
        if !meta.is_file() || meta.len() == 0 {
            // Pipes, devices and /proc files report no (or a wrong) size: stream them.
            return self.add_reader(file, &path.display().to_string());
        }
        let map = map_file(&file).map_err(|e| CountError::io(path, e))?;
        self.add_mapped(&map)
    }

    /// Counts bytes already in memory, as a file.
    pub fn add_bytes(&mut self, data: &[u8]) -> Result<(), CountError> {
        let chunks = self.chunks(data, 0, data.len());
        self.count_chunks(data, &chunks)
    }

    fn add_mapped(&mut self, map: &memmap2::Mmap) -> Result<(), CountError> {
        let data: &[u8] = map;
        let mut start = 0;
        while start < data.len() {
            let chunks = self.chunks(data, start, (start + WINDOW).min(data.len()));
            let end = chunks.last().map_or(data.len(), |c| c.1);
            self.count_chunks(data, &chunks)?;
            release_pages(map, start, end - start);
            start = end;
        }
        Ok(())
    }

    /// Safe chunk bounds covering `data[start..]` up to at least `until`.
    fn chunks(&self, data: &[u8], start: usize, until: usize) -> Vec<(usize, usize)> {
        let kind = self.engine.cut_kind();
        let mut chunks = Vec::with_capacity((until - start) / self.engine.chunk + 1);
        let mut at = start;
        while at < until {
            let end = cut_at_or_after(data, (at + self.engine.chunk).min(data.len()), kind);
            chunks.push((at, end));
            at = end;
        }
        chunks
    }

    fn count_chunks(&self, data: &[u8], chunks: &[(usize, usize)]) -> Result<(), CountError> {
        self.engine.install(|| {
            chunks
                .par_iter()
                .try_for_each(|&(s, e)| self.count_chunk(&data[s..e]))
        })
    }

    /// Counts a stream, cut into blocks by a reader thread and counted by the
    /// workers; at most a few blocks are in memory at once.
    pub fn add_reader(
        &mut self,
        mut reader: impl Read + Send,
        what: &str,
    ) -> Result<(), CountError> {
        let kind = self.engine.cut_kind();
        let (tx, rx) = sync_channel::<Vec<u8>>(self.workers.len() + 1);
        let block = self.engine.chunk;
        let cancel = self.control.cancel.clone();
        std::thread::scope(|scope| {
            let producer = scope.spawn(move || -> std::io::Result<()> {
                let mut carry: Vec<u8> = Vec::new();
                while !cancel.is_cancelled() {
                    let mut buf = Vec::with_capacity(carry.len() + block);
                    buf.append(&mut carry);
                    let want = block as u64;
                    let got = reader.by_ref().take(want).read_to_end(&mut buf)? as u64;
                    if got < want {
                        // End of input: whatever is left is the last chunk.
                        if !buf.is_empty() {
                            let _ = tx.send(buf);
                        }
                        return Ok(());
                    }
                    match last_cut(&buf, kind) {
                        Some(cut) => {
                            carry.extend_from_slice(&buf[cut..]);
                            buf.truncate(cut);
                            if tx.send(buf).is_err() {
                                return Ok(()); // the workers stopped (cancelled)
                            }
                        }
                        None => carry = buf, // one long token or line: read on
                    }
                }
                Ok(())
            });
            let counted = self.engine.install(|| {
                rx.into_iter()
                    .par_bridge()
                    .try_for_each(|b| self.count_chunk(&b))
            });
            let produced = producer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            counted?;
            produced.map_err(|source| CountError::Read {
                what: what.to_string(),
                source,
            })?;
            self.check_cancelled()
        })
    }

    /// Counts column values batch by batch; batches are pulled in order and
    /// counted in parallel.
    pub fn add_batches<B, E, I>(&mut self, batches: I) -> Result<(), CountError>
    where
        B: TextBatch,
        E: std::error::Error + Send + Sync + 'static,
        I: Iterator<Item = Result<B, E>> + Send,
    {
        let mut batches = batches.peekable();
        let Some(first) = batches.next() else {
            return Ok(());
        };
        if batches.peek().is_none() {
            // A lone batch is counted by one thread either way: counting it
            // here spares waking the pool (whose idle workers then spin before
            // they sleep), which cost more than counting a small table.
            let batch = first.map_err(|e| CountError::Source(Box::new(e)))?;
            return self.count_batch(&batch);
        }
        self.engine.install(|| {
            std::iter::once(first)
                .chain(batches)
                .par_bridge()
                .try_for_each(|batch| {
                    let batch = batch.map_err(|e| CountError::Source(Box::new(e)))?;
                    self.count_batch(&batch)
                })
        })
    }

    fn count_batch(&self, batch: &impl TextBatch) -> Result<(), CountError> {
        const CHECK_EVERY: usize = 4096;
        let normalizer = &self.engine.normalizer;
        let n = batch.num_values();
        let mut from = 0;
        while from < n {
            self.check_cancelled()?;
            let to = (from + CHECK_EVERY).min(n);
            let (mut bytes, mut nulls) = (0_u64, 0_u64);
            let words = {
                let mut worker = self.worker();
                let before = worker.words;
                for i in from..to {
                    worker.enter_group(batch.group(i));
                    match batch.value(i) {
                        Some(v) => {
                            bytes += v.len() as u64;
                            normalizer.count_value(&mut worker, v);
                        }
                        None => nulls += 1,
                    }
                }
                worker.words - before
            };
            self.nulls.fetch_add(nulls, Ordering::Relaxed);
            self.advance(bytes, (to - from) as u64, words);
            from = to;
        }
        Ok(())
    }

    /// Counts one chunk of text bytes (a whole number of lines or tokens).
    fn count_chunk(&self, bytes: &[u8]) -> Result<(), CountError> {
        self.check_cancelled()?;
        let text = decode(bytes, &self.invalid_utf8);
        let lines = memchr::memchr_iter(b'\n', bytes).count() as u64
            + u64::from(!bytes.is_empty() && !bytes.ends_with(b"\n"));
        let words = {
            let mut worker = self.worker();
            let before = worker.words;
            self.engine.normalizer.count_text(&mut worker, &text);
            worker.words - before
        };
        self.advance(bytes.len() as u64, lines, words);
        Ok(())
    }

    /// This thread's worker. Each pool thread has its own, so the lock is never
    /// contended; a thread outside the pool shares the first one.
    fn worker(&self) -> MutexGuard<'_, Worker> {
        let index = rayon::current_thread_index()
            .filter(|&i| i < self.workers.len())
            .unwrap_or(0);
        self.workers[index]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn check_cancelled(&self) -> Result<(), CountError> {
        if self.control.cancel.is_cancelled() {
            Err(CountError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn advance(&self, bytes: u64, values: u64, words: u64) {
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
        self.values_done.fetch_add(values, Ordering::Relaxed);
        self.words_done.fetch_add(words, Ordering::Relaxed);
        let Some(report) = &self.control.progress else {
            return;
        };
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_report_ms.load(Ordering::Relaxed);
        let interval = self.control.interval.as_millis() as u64;
        if now >= last + interval
            && self
                .last_report_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            report(&self.progress());
        }
    }

    /// The progress so far.
    pub fn progress(&self) -> Progress {
        Progress {
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total,
            values_done: self.values_done.load(Ordering::Relaxed),
            values_total: self.values_total,
            words_done: self.words_done.load(Ordering::Relaxed),
            elapsed: self.started.elapsed(),
        }
    }

    /// Merges the workers' tables and sorts: most frequent first, ties by word.
    /// Values handed over with groups are counted together.
    pub fn finish(self) -> Result<CountResult, CountError> {
        self.check_cancelled()?;
        let tables: Vec<WordTable> = self.take_tables().into_iter().flatten().flatten().collect();
        let merged = self.merge(tables);
        self.check_cancelled()?;
        let words = self.sorted(&merged);
        drop(merged);
        self.check_cancelled()?;
        Ok(self.result(words))
    }

    /// Like [`Session::finish`], and each group's counts apart: the values
    /// handed over with each id of [`TextBatch::group`].
    pub fn finish_grouped(self) -> Result<GroupedResult, CountError> {
        self.check_cancelled()?;
        let mut by_group: Vec<Vec<WordTable>> = Vec::new();
        for worker_groups in self.take_tables() {
            if by_group.len() < worker_groups.len() {
                by_group.resize_with(worker_groups.len(), Vec::new);
            }
            for (group, table) in worker_groups.into_iter().enumerate() {
                by_group[group].extend(table);
            }
        }
        // A cancel is noticed between groups, however many there are.
        let merged: Vec<WordTable> = by_group
            .into_iter()
            .map(|tables| {
                self.check_cancelled()?;
                Ok(self.merge(tables))
            })
            .collect::<Result<_, CountError>>()?;
        let all = self.engine.install(|| WordTable::sum(&merged));
        self.check_cancelled()?;
        let all_words = self.sorted(&all);
        drop(all);
        // Each group's table goes as soon as its words are sorted out of it.
        let groups = self.engine.install(|| {
            merged
                .into_par_iter()
                .enumerate()
                .map(|(group, table)| {
                    self.check_cancelled()?;
                    let words = self.sorted(&table);
                    Ok(GroupCounts {
                        group: group as u32,
                        total_words: words.iter().map(|w| w.count).sum(),
                        words,
                    })
                })
                .collect::<Result<Vec<_>, CountError>>()
        })?;
        self.check_cancelled()?;
        Ok(GroupedResult {
            all: self.result(all_words),
            groups,
        })
    }

    /// Each worker's tables, by group id (none for a group it never met).
    fn take_tables(&self) -> Vec<Vec<Option<WordTable>>> {
        self.workers
            .iter()
            .map(|w| {
                w.0.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take_groups()
            })
            .collect()
    }

    /// One table of the counts of `tables`.
    fn merge(&self, tables: Vec<WordTable>) -> WordTable {
        let mut tables: Vec<WordTable> = tables.into_iter().filter(|t| !t.is_empty()).collect();
        // Small results are finished on this thread (see `add_batches`).
        match tables.len() {
            0 => WordTable::default(),
            1 => tables.swap_remove(0),
            _ => self.engine.install(|| WordTable::merge_all(tables)),
        }
    }

    /// The words of `table`, most frequent first, ties by word.
    fn sorted(&self, table: &WordTable) -> Vec<WordCount> {
        let engine = self.engine;
        // Sort keys carry the count and the word's first 8 bytes inline, so most
        // comparisons never follow the pointer to the word.
        let mut entries: Vec<(u64, u64, &[u8])> =
            table.entries().map(|(w, c)| (c, prefix(w), w)).collect();
        let by_count = |a: &(u64, u64, &[u8]), b: &(u64, u64, &[u8])| {
            b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then_with(|| a.2.cmp(b.2))
        };
        let to_word = |&(count, _, w): &(u64, u64, &[u8])| WordCount {
            word: String::from_utf8_lossy(w).into_owned(),
            count,
        };
        if entries.len() <= SMALL_RESULT {
            entries.sort_unstable_by(by_count);
            entries.iter().map(to_word).collect()
        } else {
            engine.install(|| {
                entries.par_sort_unstable_by(by_count);
                entries.par_iter().map(to_word).collect()
            })
        }
    }

    /// The result of `words`, with the count's statistics (the last
    /// progress report is sent here).
    fn result(&self, words: Vec<WordCount>) -> CountResult {
        let progress = self.progress();
        if let Some(report) = &self.control.progress {
            report(&progress);
        }
        let stats = CountStats {
            bytes_read: progress.bytes_done,
            values_read: progress.values_done,
            null_values: self.nulls.load(Ordering::Relaxed),
            total_words: progress.words_done,
            distinct_words: words.len() as u64,
            invalid_utf8: self.invalid_utf8.load(Ordering::Relaxed),
            threads: self.workers.len(),
            elapsed: progress.elapsed,
        };
        CountResult { words, stats }
    }
}

/// The first 8 bytes of `word`, big-endian, zero-padded: ordering these orders the
/// words by their first 8 bytes.
#[inline]
fn prefix(word: &[u8]) -> u64 {
    let mut bytes = [0_u8; 8];
    let n = word.len().min(8);
    bytes[..n].copy_from_slice(&word[..n]);
    u64::from_be_bytes(bytes)
}

/// The chunk as text: borrowed when valid, else with each invalid sequence
/// replaced by U+FFFD (as `String::from_utf8_lossy` does) and counted.
fn decode<'a>(bytes: &'a [u8], invalid: &AtomicU64) -> Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            let mut text = String::with_capacity(bytes.len() + 16);
            let mut bad = 0;
            for piece in bytes.utf8_chunks() {
                text.push_str(piece.valid());
                if !piece.invalid().is_empty() {
                    text.push(char::REPLACEMENT_CHARACTER);
                    bad += 1;
                }
            }
            invalid.fetch_add(bad, Ordering::Relaxed);
            Cow::Owned(text)
        }
    }
}

/// Maps a file read-only.
#[allow(unsafe_code)]
fn map_file(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and private to this count. Like every reader
    // of a file, the count assumes nobody truncates or rewrites it meanwhile; if
    // someone does, the bytes read may be wrong but memory safety holds on Linux
    // as long as the file is not truncated (truncation raises SIGBUS). Tally's
    // own files (imports) are written once, atomically, and never modified.
    let map = unsafe { memmap2::Mmap::map(file)? };
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Ok(map)
}

/// Drops the pages of `map[offset..offset + len]` from this process, so that a
/// large file's resident memory stays at about one window.
#[allow(unsafe_code)]
fn release_pages(map: &memmap2::Mmap, offset: usize, len: usize) {
    #[cfg(unix)]
    // SAFETY: the range is inside the map, and no slice into it is alive (every
    // chunk of the window has been counted). MADV_DONTNEED on a read-only shared
    // file mapping only unmaps the pages: a later access would fault them in from
    // the file again, with the same contents.
    unsafe {
        let _ = map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len);
    }
    #[cfg(not(unix))]
    let _ = (map, offset, len);
}
