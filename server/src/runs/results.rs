//! [`ResultStore`]: a run's word counts as two sorted Parquet files.
//!
//! Measured here, SurrealDB stores about 13 000 `{run, word, count}` rows a
//! second, so a run of a million distinct words would take over a minute to
//! commit. Sorted files take about a second, and SurrealDB keeps what they are
//! about (the run record names its files once they are complete, which is the
//! commit marker readers respect).
//!
//! A small result (at most [`INLINE_WORDS`] distinct words, what most runs of
//! short texts produce) is kept in the database instead, written in the same
//! transaction that makes the run `succeeded`: two files, three fsyncs and two
//! new inodes took 4.3 ms of the 11.6 ms a two-word run cost the dispatcher.
//! [`ResultSource`] reads either kind.
//!
//! Each run has `<stem>.count.parquet` (most frequent first, ties by word) and
//! `<stem>.word.parquet` (by word), in row groups of [`GROUP_ROWS`] rows. A page in
//! either order reads the one or two row groups it covers. The word file carries
//! the first word of each row group in its key-value metadata (the fences), so a
//! prefix or an exact word is found by reading two row groups at most.
//!
//! A run counted per group of a column has one pair of files too: the rows
//! of all groups together first, then each group's rows in turn (in both
//! files, each segment in that file's order). The groups, their totals and
//! so where each segment starts are in both files' key-value metadata; a
//! query reads within its segment as it would read a whole file.

use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use tally_app::run::{GroupPick, RunGroup, WordCountRow, WordOrder};
use tally_app::words_query::WordsQuery;
use tally_engine::{GroupCounts, WordCount};

/// Rows per row group: a page never decodes more than two groups.
pub const GROUP_ROWS: usize = 16 * 1024;
/// The most distinct words a run keeps in the database rather than in files.
pub const INLINE_WORDS: usize = 1024;
const FENCES_KEY: &str = "tally.fences";
const GROUPS_KEY: &str = "tally.groups";

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("results file: {0}")]
    Io(#[from] io::Error),
    #[error("results file: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("results file: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("results file {0} is damaged: {1}")]
    Damaged(String, String),
    /// The query picked a group the run does not have.
    #[error("{0}")]
    NoSuchGroup(String),
}

/// One group's counts, as a grouped run stores them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupWords {
    /// The group column's value as text (`None`: null).
    pub group: Option<String>,
    pub total_words: u64,
    /// Most frequent first, ties by word.
    pub words: Vec<WordCount>,
}

impl GroupWords {
    /// The engine's groups named by `labels` (a group's id is its index), in
    /// the order of their values, null last. Ids past the labels (the
    /// engine's group 0 of a scan that met no row) hold no words and go.
    pub fn labelled(groups: Vec<GroupCounts>, labels: Vec<Option<String>>) -> Vec<Self> {
        let mut labels: Vec<Option<Option<String>>> = labels.into_iter().map(Some).collect();
        let mut named: Vec<Self> = groups
            .into_iter()
            .filter_map(|g| {
                let group = labels.get_mut(g.group as usize)?.take()?;
                Some(Self {
                    group,
                    total_words: g.total_words,
                    words: g.words,
                })
            })
            .collect();
        // A group whose rows held no word is still a group.
        named.extend(labels.into_iter().flatten().map(|group| Self {
            group,
            total_words: 0,
            words: Vec::new(),
        }));
        named.sort_by(|a, b| match (&a.group, &b.group) {
            (Some(a), Some(b)) => a.cmp(b),
            (a, b) => b.is_some().cmp(&a.is_some()),
        });
        named
    }

    fn summary(&self) -> RunGroup {
        RunGroup {
            group: self.group.clone(),
            total_words: self.total_words,
            distinct_words: self.words.len() as u64,
        }
    }
}

/// One page and the number of rows that match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultPage {
    pub total: u64,
    pub rows: Vec<WordCountRow>,
}

/// The directory of results files.
#[derive(Debug, Clone)]
pub struct ResultStore {
    dir: PathBuf,
}

impl ResultStore {
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let dir = data_dir.join("results");
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, stem: &str, order: WordOrder) -> PathBuf {
        let suffix = match order {
            WordOrder::Count => "count",
            WordOrder::Word => "word",
        };
        self.dir.join(format!("{stem}.{suffix}.parquet"))
    }

    /// Writes both files for `stem` (durably: fsync, rename, fsync of the
    /// directory) and returns the bytes written. `words` is in count order, as
    /// the engine returns it; a grouped run adds its `groups` (perhaps none:
    /// a filter may keep no row), each in count order too. On any failure (a full disk) nothing of `stem` is left
    /// behind, finished or `.tmp`.
    pub fn write(
        &self,
        stem: &str,
        words: &[WordCount],
        groups: Option<&[GroupWords]>,
    ) -> Result<u64, ResultsError> {
        let written = self.write_both(stem, words, groups);
        if written.is_err() {
            for order in [WordOrder::Count, WordOrder::Word] {
                let path = self.path(stem, order);
                let _ = fs::remove_file(path.with_extension("parquet.tmp"));
                let _ = fs::remove_file(path);
            }
        }
        written
    }

    fn write_both(
        &self,
        stem: &str,
        words: &[WordCount],
        groups: Option<&[GroupWords]>,
    ) -> Result<u64, ResultsError> {
        // A grouped run's files say so even when it has no group.
        let summaries = groups
            .map(|groups| {
                let summaries: Vec<RunGroup> = groups.iter().map(GroupWords::summary).collect();
                serde_json::to_string(&summaries)
            })
            .transpose()
            .map_err(|e| ResultsError::Damaged(stem.into(), e.to_string()))?;
        let groups = groups.unwrap_or_default();
        let segments: Vec<&[WordCount]> = std::iter::once(words)
            .chain(groups.iter().map(|g| g.words.as_slice()))
            .collect();
        let rows = segments.iter().map(|s| s.len()).sum();
        let by_count_path = self.path(stem, WordOrder::Count);
        let write_by_count = || {
            let mut metadata = Vec::new();
            if let Some(summaries) = &summaries {
                metadata.push(KeyValue::new(GROUPS_KEY.into(), summaries.clone()));
            }
            write_file(
                &by_count_path,
                segments.iter().flat_map(|s| s.iter()),
                rows,
                metadata,
            )
        };
        let write_by_word = || self.write_by_word(stem, &segments, rows, summaries.as_deref());
        let (by_count, by_word) = if rows <= GROUP_ROWS {
            // One row group each: a thread of its own would cost more than it saves.
            (write_by_count(), write_by_word())
        } else {
            // The two files are independent: the count-ordered one is written on
            // a thread of its own while the words are sorted and the other is
            // written (the store time of a 1 GB run fell from 0.35 s to 0.2 s).
            std::thread::scope(|scope| {
                let by_count = scope.spawn(write_by_count);
                let by_word = write_by_word();
                let by_count = by_count.join().unwrap_or_else(|_| {
                    Err(io::Error::other("the results writer thread panicked").into())
                });
                (by_count, by_word)
            })
        };
        let bytes = by_count? + by_word?;
        File::open(&self.dir)?.sync_all()?;
        Ok(bytes)
    }

    /// The word-ordered file: each segment sorted by word, the first word of
    /// each row group as its fences.
    fn write_by_word(
        &self,
        stem: &str,
        segments: &[&[WordCount]],
        rows: usize,
        groups: Option<&str>,
    ) -> Result<u64, ResultsError> {
        let mut by_word: Vec<&WordCount> = Vec::with_capacity(rows);
        for segment in segments {
            let start = by_word.len();
            by_word.extend(segment.iter());
            by_word[start..].sort_unstable_by(|a, b| a.word.cmp(&b.word));
        }
        let fences: Vec<&str> = by_word
            .iter()
            .step_by(GROUP_ROWS)
            .map(|w| w.word.as_str())
            .collect();
        let fences = serde_json::to_string(&fences)
            .map_err(|e| ResultsError::Damaged(stem.into(), e.to_string()))?;
        let mut metadata = vec![KeyValue::new(FENCES_KEY.into(), fences)];
        if let Some(groups) = groups {
            metadata.push(KeyValue::new(GROUPS_KEY.into(), groups.to_string()));
        }
        write_file(
            &self.path(stem, WordOrder::Word),
            by_word.into_iter(),
            rows,
            metadata,
        )
    }

    /// Removes a run's files (missing ones are not an error).
    pub fn remove(&self, stem: &str) -> io::Result<()> {
        for order in [WordOrder::Count, WordOrder::Word] {
            match fs::remove_file(self.path(stem, order)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Removes files whose stem is not in `known` (left by a crash between the
    /// write and the commit, or by a delete interrupted after its commit).
    pub fn sweep(&self, known: &std::collections::HashSet<String>) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.split('.').next().unwrap_or("");
            if !known.contains(stem) || name.ends_with(".tmp") {
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// One page of a run's results.
    pub fn query(&self, stem: &str, q: &WordsQuery) -> Result<ResultPage, ResultsError> {
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let offset = usize::try_from(q.offset).unwrap_or(usize::MAX);
        let filter = match (&q.word, &q.prefix) {
            (Some(word), _) => Some((word.as_str(), true)),
            (None, Some(prefix)) if !prefix.is_empty() => Some((prefix.as_str(), false)),
            _ => None,
        };
        let Some((key, exact)) = filter else {
            let file = ResultFile::open(&self.path(stem, q.order))?;
            let segment = file.segment(&q.group)?;
            let start = segment.start.saturating_add(offset).min(segment.end);
            let rows = file.read(start..start.saturating_add(limit).min(segment.end))?;
            return Ok(ResultPage {
                total: segment.len() as u64,
                rows,
            });
        };
        let file = ResultFile::open(&self.path(stem, WordOrder::Word))?;
        let segment = file.segment(&q.group)?;
        let range = file.matching(segment, key, exact)?;
        let total = range.len();
        let rows = match q.order {
            WordOrder::Word => {
                let start = range.start.saturating_add(offset).min(range.end);
                file.read(start..start.saturating_add(limit).min(range.end))?
            }
            WordOrder::Count => {
                // The matching words are in word order: keep only the best
                // `offset + limit` of them in count order while reading them a
                // row group at a time, instead of loading every match (a
                // one-letter prefix of a large result is most of it).
                let keep = offset.saturating_add(limit);
                let mut best: BinaryHeap<Ranked> = BinaryHeap::with_capacity(keep.min(range.len()));
                let mut start = range.start;
                while start < range.end && keep > 0 {
                    let end = start.saturating_add(GROUP_ROWS).min(range.end);
                    for row in file.read(start..end)? {
                        let row = Ranked(row);
                        if best.len() < keep {
                            best.push(row);
                        } else if best.peek().is_some_and(|worst| row < *worst) {
                            best.pop();
                            best.push(row);
                        }
                    }
                    start = end;
                }
                best.into_sorted_vec()
                    .into_iter()
                    .skip(offset)
                    .take(limit)
                    .map(|r| r.0)
                    .collect()
            }
        };
        Ok(ResultPage {
            total: total as u64,
            rows,
        })
    }

    /// The rows of `pick` in count order, a row group at a time (for CSV
    /// downloads); of a grouped run, every group's rows by group unless one
    /// group is picked.
    fn chunks(&self, stem: &str, pick: &GroupPick) -> Result<Chunks, ResultsError> {
        let file = ResultFile::open(&self.path(stem, WordOrder::Count))?;
        let segments = match pick {
            GroupPick::One(wanted) => vec![(Some(wanted.clone()), file.segment(pick)?)],
            GroupPick::All if !file.grouped => vec![(None, 0..file.rows)],
            GroupPick::All => file
                .groups
                .iter()
                .map(|(group, range)| (Some(group.group.clone()), range.clone()))
                .collect(),
        };
        Ok(Chunks::File {
            grouped: file.grouped,
            file,
            segments: segments.into(),
        })
    }

    /// The groups of a grouped run (none for a run counted whole).
    fn group_list(&self, stem: &str) -> Result<Vec<RunGroup>, ResultsError> {
        let file = ResultFile::open(&self.path(stem, WordOrder::Count))?;
        Ok(file.groups.into_iter().map(|(group, _)| group).collect())
    }
}

/// Rows of one group (or of a run counted whole) read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The group's value (`Some(None)`: the group of nulls); `None` for a
    /// run counted whole.
    pub group: Option<Option<String>>,
    pub rows: Vec<WordCountRow>,
}

/// A run's rows in count order, read one row group per call: the caller
/// decides when to read the next (a download reads it when the client has
/// taken the last), so no thread waits on a slow client.
pub enum Chunks {
    File {
        file: ResultFile,
        grouped: bool,
        /// The segments still to read, each with its group's value.
        segments: std::collections::VecDeque<(Option<Option<String>>, Range<usize>)>,
    },
    Rows(Option<Vec<WordCountRow>>),
}

impl Chunks {
    /// Whether the rows come by group (a CSV download then has a group column).
    pub fn grouped(&self) -> bool {
        matches!(self, Self::File { grouped: true, .. })
    }

    /// The next rows, at most a row group of one segment, or `None` after
    /// the last. Blocks (reads the file).
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, ResultsError> {
        match self {
            Self::File { file, segments, .. } => {
                while let Some((group, range)) = segments.front_mut() {
                    if range.start >= range.end {
                        segments.pop_front();
                        continue;
                    }
                    // Up to the end of the row group the segment's next row is in.
                    let group_end = file.group_starts[file.group_of(range.start) + 1];
                    let end = group_end.min(range.end);
                    let rows = file.read(range.start..end)?;
                    range.start = end;
                    return Ok(Some(Chunk {
                        group: group.clone(),
                        rows,
                    }));
                }
                Ok(None)
            }
            Self::Rows(rows) => Ok(rows.take().map(|rows| Chunk { group: None, rows })),
        }
    }
}

/// A row ordered by rank: more frequent first, then by word. "Greater" is
/// worse, so a max-heap of these has the worst kept row on top.
#[derive(PartialEq, Eq)]
struct Ranked(WordCountRow);

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .0
            .count
            .cmp(&self.0.count)
            .then_with(|| self.0.word.cmp(&other.0.word))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Where a succeeded run's counts are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultsAt {
    /// The two files of this stem.
    Files(String),
    /// The run's `run_words` record.
    Database,
}

/// A succeeded run's counts, ready to read (files are read on demand, so the
/// methods block).
pub enum ResultSource {
    Files {
        store: Arc<ResultStore>,
        stem: String,
    },
    /// Every row, most frequent first (ties by word).
    Rows(Vec<WordCountRow>),
}

impl ResultSource {
    /// One page, with the same filters and orders for either kind.
    pub fn query(&self, q: &WordsQuery) -> Result<ResultPage, ResultsError> {
        let rows = match self {
            Self::Files { store, stem } => return store.query(stem, q),
            Self::Rows(rows) => rows,
        };
        if q.group != GroupPick::All {
            return Err(no_groups());
        }
        let mut matching: Vec<&WordCountRow> = match (&q.word, &q.prefix) {
            (Some(word), _) => rows.iter().filter(|r| r.word == *word).collect(),
            (None, Some(prefix)) => rows
                .iter()
                .filter(|r| r.word.starts_with(prefix.as_str()))
                .collect(),
            (None, None) => rows.iter().collect(),
        };
        if q.order == WordOrder::Word {
            matching.sort_unstable_by(|a, b| a.word.cmp(&b.word));
        }
        let offset = usize::try_from(q.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        Ok(ResultPage {
            total: matching.len() as u64,
            rows: matching
                .into_iter()
                .skip(offset)
                .take(limit)
                .cloned()
                .collect(),
        })
    }

    /// Every row of `pick`, sorted by word (for comparisons). Blocks (reads
    /// the file).
    pub fn by_word(self, pick: &GroupPick) -> Result<Vec<WordCountRow>, ResultsError> {
        match self {
            Self::Files { store, stem } => {
                let file = ResultFile::open(&store.path(&stem, WordOrder::Word))?;
                file.read(file.segment(pick)?)
            }
            Self::Rows(_) if *pick != GroupPick::All => Err(no_groups()),
            Self::Rows(mut rows) => {
                rows.sort_unstable_by(|a, b| a.word.cmp(&b.word));
                Ok(rows)
            }
        }
    }

    /// The rows of `pick` in count order, a row group at a time (for
    /// downloads). Blocks (opens the file).
    pub fn chunks(self, pick: &GroupPick) -> Result<Chunks, ResultsError> {
        match self {
            Self::Files { store, stem } => store.chunks(&stem, pick),
            Self::Rows(_) if *pick != GroupPick::All => Err(no_groups()),
            Self::Rows(rows) => Ok(Chunks::Rows(Some(rows))),
        }
    }

    /// The run's groups (none for a run counted whole). Blocks (opens the file).
    pub fn group_list(&self) -> Result<Vec<RunGroup>, ResultsError> {
        match self {
            Self::Files { store, stem } => store.group_list(stem),
            Self::Rows(_) => Ok(Vec::new()),
        }
    }
}

fn no_groups() -> ResultsError {
    ResultsError::NoSuchGroup("the run counted its rows together: it has no groups".into())
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("word", DataType::Utf8, false),
        Field::new("count", DataType::UInt64, false),
    ]))
}

fn write_file<'a>(
    path: &Path,
    words: impl Iterator<Item = &'a WordCount>,
    len: usize,
    metadata: Vec<KeyValue>,
) -> Result<u64, ResultsError> {
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp)?;
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(GROUP_ROWS));
    if !metadata.is_empty() {
        props = props.set_key_value_metadata(Some(metadata));
    }
    let schema = schema();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props.build()))?;
    let mut words = words.peekable();
    let mut written = 0;
    // Always at least one (possibly empty) batch, so an empty result is a valid file.
    loop {
        let chunk: Vec<&WordCount> = words.by_ref().take(GROUP_ROWS).collect();
        let word_col: StringArray = chunk.iter().map(|w| Some(w.word.as_str())).collect();
        let count_col: UInt64Array = chunk.iter().map(|w| Some(w.count)).collect();
        let columns: Vec<ArrayRef> = vec![Arc::new(word_col), Arc::new(count_col)];
        writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
        written += chunk.len();
        if words.peek().is_none() {
            break;
        }
    }
    debug_assert_eq!(written, len);
    let file = writer.into_inner()?;
    file.sync_all()?;
    let bytes = file.metadata()?.len();
    drop(file);
    fs::rename(&tmp, path)?;
    Ok(bytes)
}

/// An open results file: its footer, read once per query.
pub struct ResultFile {
    path: PathBuf,
    rows: usize,
    /// The first row of each group, and the total at the end.
    group_starts: Vec<usize>,
    fences: Vec<String>,
    /// Whether the run was counted per group.
    grouped: bool,
    /// The rows of all groups together: the whole file of a run counted whole.
    all: Range<usize>,
    /// A grouped run's groups and the rows of each (after `all`).
    groups: Vec<(RunGroup, Range<usize>)>,
}

impl ResultFile {
    fn open(path: &Path) -> Result<Self, ResultsError> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?;
        let meta = builder.metadata();
        let mut group_starts = vec![0usize];
        for group in meta.row_groups() {
            let last = group_starts.last().copied().unwrap_or(0);
            group_starts.push(last + usize::try_from(group.num_rows()).unwrap_or(0));
        }
        let damaged = |why: String| ResultsError::Damaged(path.display().to_string(), why);
        let metadata = |key: &str| {
            meta.file_metadata()
                .key_value_metadata()
                .and_then(|kv| kv.iter().find(|k| k.key == key))
                .and_then(|k| k.value.clone())
        };
        let fences = metadata(FENCES_KEY)
            .map(|json| serde_json::from_str::<Vec<String>>(&json))
            .transpose()
            .map_err(|e| damaged(e.to_string()))?
            .unwrap_or_default();
        let summaries = metadata(GROUPS_KEY)
            .map(|json| serde_json::from_str::<Vec<RunGroup>>(&json))
            .transpose()
            .map_err(|e| damaged(e.to_string()))?;
        let grouped = summaries.is_some();
        let summaries = summaries.unwrap_or_default();
        let rows = group_starts.last().copied().unwrap_or(0);
        // The groups' rows are the file's last ones, in their order.
        let grouped_rows = summaries.iter().try_fold(0_usize, |sum, g| {
            sum.checked_add(usize::try_from(g.distinct_words).ok()?)
        });
        let mut start = grouped_rows
            .and_then(|n| rows.checked_sub(n))
            .ok_or_else(|| damaged("its groups hold more rows than the file".into()))?;
        let all = 0..start;
        let groups = summaries
            .into_iter()
            .map(|g| {
                let end = start + g.distinct_words as usize;
                let range = start..end;
                start = end;
                (g, range)
            })
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            rows,
            group_starts,
            fences,
            grouped,
            all,
            groups,
        })
    }

    /// The rows of `pick`: the rows of all groups together (the whole file
    /// of a run counted whole), or of one group.
    fn segment(&self, pick: &GroupPick) -> Result<Range<usize>, ResultsError> {
        let GroupPick::One(wanted) = pick else {
            return Ok(self.all.clone());
        };
        if !self.grouped {
            return Err(no_groups());
        }
        self.groups
            .iter()
            .find(|(g, _)| g.group == *wanted)
            .map(|(_, range)| range.clone())
            .ok_or_else(|| {
                ResultsError::NoSuchGroup(match wanted {
                    Some(value) => format!("the run has no group '{value}'"),
                    None => "the run has no group of nulls".into(),
                })
            })
    }

    /// Rows `range` (in file order), decoding only the groups that hold them.
    fn read(&self, range: Range<usize>) -> Result<Vec<WordCountRow>, ResultsError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let first = self.group_of(range.start);
        let last = self.group_of(range.end - 1);
        let base = self.group_starts[first];
        let selection = RowSelection::from(vec![
            RowSelector::skip(range.start - base),
            RowSelector::select(range.len()),
        ]);
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&self.path)?)?
            .with_row_groups((first..=last).collect())
            .with_row_selection(selection)
            .with_batch_size(range.len().min(GROUP_ROWS))
            .build()?;
        let mut rows = Vec::with_capacity(range.len());
        for batch in reader {
            let batch = batch?;
            let words = batch.column(0).as_string::<i32>();
            let counts = batch.column(1).as_primitive::<UInt64Type>();
            for i in 0..batch.num_rows() {
                rows.push(WordCountRow {
                    word: words.value(i).to_string(),
                    count: counts.value(i),
                });
            }
        }
        Ok(rows)
    }

    fn group_of(&self, row: usize) -> usize {
        self.group_starts
            .partition_point(|&start| start <= row)
            .saturating_sub(1)
    }

    /// The rows of `segment` of a word-ordered file whose word is `key`
    /// (`exact`) or starts with it.
    fn matching(
        &self,
        segment: Range<usize>,
        key: &str,
        exact: bool,
    ) -> Result<Range<usize>, ResultsError> {
        let start = self.first_where(segment.clone(), |w| w >= key)?;
        let end = self.first_where(segment, |w| {
            if exact {
                w > key
            } else {
                w > key && !w.starts_with(key)
            }
        })?;
        Ok(start..end.max(start))
    }

    /// The first row of `segment` whose word satisfies `pred`, a predicate
    /// that is false and then true along the segment's sorted words
    /// (`segment.end` when none does).
    fn first_where(
        &self,
        segment: Range<usize>,
        pred: impl Fn(&str) -> bool,
    ) -> Result<usize, ResultsError> {
        if segment.is_empty() {
            return Ok(segment.start);
        }
        // The row groups the segment covers; the fences of those that start
        // inside it are words of the segment, in order. The boundary falls in
        // the group before the first of them that satisfies the predicate.
        let first = self.group_of(segment.start);
        let last = self.group_of(segment.end - 1);
        let inside = self.fences.get(first + 1..=last).unwrap_or_default();
        let group = first + inside.partition_point(|f| !pred(f));
        let start = self.group_starts[group].max(segment.start);
        let end = self.group_starts[group + 1].min(segment.end);
        let rows = self.read(start..end)?;
        Ok(start + rows.partition_point(|r| !pred(&r.word)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: usize) -> Vec<WordCount> {
        // Counts fall with the index, with ties, so both orders differ.
        let mut words: Vec<WordCount> = (0..n)
            .map(|i| WordCount {
                word: format!("w{:06}", (i * 7919) % n),
                count: (n - i) as u64 / 3 + 1,
            })
            .collect();
        words.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.word.cmp(&b.word)));
        words
    }

    fn rows(words: &[&WordCount]) -> Vec<WordCountRow> {
        words
            .iter()
            .map(|w| WordCountRow {
                word: w.word.clone(),
                count: w.count,
            })
            .collect()
    }

    #[test]
    fn pages_prefixes_and_words_match_a_plain_filter() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ResultStore::open(dir.path()).expect("open");
        let all = words(50_000);
        store.write("run-1", &all, None).expect("write");
        let mut by_word: Vec<&WordCount> = all.iter().collect();
        by_word.sort_by(|a, b| a.word.cmp(&b.word));

        let page = |order, prefix: Option<&str>, word: Option<&str>, offset, limit| {
            store
                .query(
                    "run-1",
                    &WordsQuery {
                        group: GroupPick::All,
                        order,
                        prefix: prefix.map(String::from),
                        word: word.map(String::from),
                        offset,
                        limit,
                    },
                )
                .expect("query")
        };
        let first = page(WordOrder::Count, None, None, 0, 100);
        assert_eq!(first.total, 50_000);
        assert_eq!(first.rows, rows(&all.iter().take(100).collect::<Vec<_>>()));
        // A page across a row-group boundary.
        let across = page(WordOrder::Word, None, None, GROUP_ROWS as u64 - 5, 10);
        assert_eq!(across.rows, rows(&by_word[GROUP_ROWS - 5..GROUP_ROWS + 5]));

        for prefix in ["w0", "w01", "w0333", "w049999", "x", "", "w04999"] {
            let expected: Vec<&WordCount> = by_word
                .iter()
                .copied()
                .filter(|w| w.word.starts_with(prefix))
                .collect();
            let got = page(WordOrder::Word, Some(prefix), None, 3, 20);
            assert_eq!(got.total, expected.len() as u64, "prefix {prefix}");
            assert_eq!(
                got.rows,
                rows(
                    &expected
                        .iter()
                        .copied()
                        .skip(3)
                        .take(20)
                        .collect::<Vec<_>>()
                )
            );
            let mut by_count = expected.clone();
            by_count.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.word.cmp(&b.word)));
            let got = page(WordOrder::Count, Some(prefix), None, 0, 7);
            assert_eq!(
                got.rows,
                rows(&by_count.into_iter().take(7).collect::<Vec<_>>())
            );
        }
        let exact = page(WordOrder::Count, None, Some("w016384"), 0, 10);
        assert_eq!(exact.total, 1);
        assert_eq!(exact.rows[0].word, "w016384");
        assert_eq!(
            page(WordOrder::Count, None, Some("w0163840"), 0, 10).total,
            0
        );
        assert_eq!(page(WordOrder::Count, None, None, 60_000, 10).rows, vec![]);
    }

    #[test]
    fn rows_kept_in_the_database_answer_as_files_do() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(ResultStore::open(dir.path()).expect("open"));
        let all = words(3_000);
        store.write("run-1", &all, None).expect("write");
        let files = ResultSource::Files {
            store,
            stem: "run-1".into(),
        };
        let in_rows = ResultSource::Rows(rows(&all.iter().collect::<Vec<_>>()));
        for order in [WordOrder::Count, WordOrder::Word] {
            for (prefix, word) in [
                (None, None),
                (Some("w001"), None),
                (Some(""), None),
                (Some("x"), None),
                (None, Some("w000042")),
                (None, Some("w00004")),
            ] {
                for (offset, limit) in [(0, 10), (7, 25), (2_990, 50), (5_000, 10)] {
                    let q = WordsQuery {
                        group: GroupPick::All,
                        order,
                        prefix: prefix.map(String::from),
                        word: word.map(String::from),
                        offset,
                        limit,
                    };
                    assert_eq!(
                        in_rows.query(&q).expect("rows"),
                        files.query(&q).expect("files"),
                        "{q:?}"
                    );
                }
            }
        }
        let collect = |source: ResultSource| {
            let mut got = Vec::new();
            let mut chunks = source.chunks(&GroupPick::All).expect("open");
            assert!(!chunks.grouped());
            while let Some(chunk) = chunks.next_chunk().expect("read") {
                assert_eq!(chunk.group, None);
                got.extend(chunk.rows);
            }
            got
        };
        assert_eq!(collect(in_rows), collect(files));
    }

    #[test]
    fn both_kinds_read_whole_in_word_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(ResultStore::open(dir.path()).expect("open"));
        let all = words(GROUP_ROWS + 100);
        store.write("run-1", &all, None).expect("write");
        let mut expected = rows(&all.iter().collect::<Vec<_>>());
        let in_rows = ResultSource::Rows(expected.clone());
        expected.sort_by(|a, b| a.word.cmp(&b.word));
        let files = ResultSource::Files {
            store,
            stem: "run-1".into(),
        };
        assert_eq!(files.by_word(&GroupPick::All).expect("files"), expected);
        assert_eq!(in_rows.by_word(&GroupPick::All).expect("rows"), expected);
    }

    /// Words of one group: `n` words whose names and counts depend on the
    /// group, so that groups differ and overlap.
    fn group_words(group: usize, n: usize) -> Vec<WordCount> {
        let mut words: Vec<WordCount> = (0..n)
            .map(|i| WordCount {
                word: format!("w{:06}", (i * 31 + group * 7) % (n * 2)),
                count: ((i * (group + 3)) % 50) as u64 + 1,
            })
            .collect();
        words.sort_by(|a, b| a.word.cmp(&b.word));
        words.dedup_by(|a, b| a.word == b.word);
        words.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.word.cmp(&b.word)));
        words
    }

    #[test]
    fn each_group_of_a_grouped_run_answers_as_a_run_of_its_own() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(ResultStore::open(dir.path()).expect("open"));
        // Groups across row-group boundaries, an empty one and the nulls.
        let groups: Vec<GroupWords> = [
            (Some("a"), 10),
            (Some("b"), GROUP_ROWS + 300),
            (Some("c"), 0),
            (Some("d"), 2 * GROUP_ROWS + 7),
            (None, 25),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (group, n))| {
            let words = group_words(i, n);
            GroupWords {
                group: group.map(str::to_string),
                total_words: words.iter().map(|w| w.count).sum(),
                words,
            }
        })
        .collect();
        let all = words(GROUP_ROWS + 50);
        store.write("run-1", &all, Some(&groups)).expect("write");
        let files = ResultSource::Files {
            store: store.clone(),
            stem: "run-1".into(),
        };
        let listed = files.group_list().expect("groups");
        assert_eq!(
            listed,
            groups.iter().map(GroupWords::summary).collect::<Vec<_>>()
        );
        // All groups together are the run's own counts.
        let whole = ResultSource::Rows(rows(&all.iter().collect::<Vec<_>>()));
        let q =
            |group: GroupPick, order, prefix: Option<&str>, word: Option<&str>, offset, limit| {
                WordsQuery {
                    group,
                    order,
                    prefix: prefix.map(String::from),
                    word: word.map(String::from),
                    offset,
                    limit,
                }
            };
        for order in [WordOrder::Count, WordOrder::Word] {
            let query = q(GroupPick::All, order, Some("w01"), None, 5, 40);
            assert_eq!(
                files.query(&query).expect("files"),
                whole.query(&query).expect("rows")
            );
        }
        for g in &groups {
            let own = ResultSource::Rows(rows(&g.words.iter().collect::<Vec<_>>()));
            let pick = GroupPick::One(g.group.clone());
            for order in [WordOrder::Count, WordOrder::Word] {
                for (prefix, word) in [
                    (None, None),
                    (Some("w0"), None),
                    (Some("w001"), None),
                    (Some("w0000"), None),
                    (Some("x"), None),
                    (None, Some("w000062")),
                ] {
                    for (offset, limit) in [(0, 10), (3, 100), (GROUP_ROWS as u64 - 4, 9)] {
                        let mut grouped = q(pick.clone(), order, prefix, word, offset, limit);
                        let got = files.query(&grouped).expect("files");
                        grouped.group = GroupPick::All;
                        assert_eq!(
                            got,
                            own.query(&grouped).expect("rows"),
                            "{:?} {grouped:?}",
                            g.group
                        );
                    }
                }
            }
            let mut by_word = rows(&g.words.iter().collect::<Vec<_>>());
            by_word.sort_by(|a, b| a.word.cmp(&b.word));
            let source = ResultSource::Files {
                store: store.clone(),
                stem: "run-1".into(),
            };
            assert_eq!(source.by_word(&pick).expect("by word"), by_word);
        }
        // A download of all groups: each group's rows in count order, by group.
        let mut chunks = ResultSource::Files {
            store: store.clone(),
            stem: "run-1".into(),
        }
        .chunks(&GroupPick::All)
        .expect("chunks");
        assert!(chunks.grouped());
        let mut got: Vec<(Option<String>, WordCountRow)> = Vec::new();
        while let Some(chunk) = chunks.next_chunk().expect("read") {
            let group = chunk.group.expect("grouped rows name their group");
            got.extend(chunk.rows.into_iter().map(|r| (group.clone(), r)));
        }
        let want: Vec<(Option<String>, WordCountRow)> = groups
            .iter()
            .flat_map(|g| {
                g.words.iter().map(|w| {
                    (
                        g.group.clone(),
                        WordCountRow {
                            word: w.word.clone(),
                            count: w.count,
                        },
                    )
                })
            })
            .collect();
        assert_eq!(got, want);
        // A group the run does not have, and groups of a run counted whole.
        let missing = q(
            GroupPick::One(Some("zz".into())),
            WordOrder::Count,
            None,
            None,
            0,
            10,
        );
        assert!(
            matches!(files.query(&missing), Err(ResultsError::NoSuchGroup(m)) if m.contains("'zz'"))
        );
        assert!(matches!(
            whole.query(&missing),
            Err(ResultsError::NoSuchGroup(_))
        ));
    }

    #[test]
    fn a_grouped_run_without_groups_still_reads_as_grouped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(ResultStore::open(dir.path()).expect("open"));
        store.write("run-1", &[], Some(&[])).expect("write");
        let files = ResultSource::Files {
            store,
            stem: "run-1".into(),
        };
        assert_eq!(files.group_list().expect("groups"), vec![]);
        let missing = WordsQuery {
            group: GroupPick::One(Some("hamlet".into())),
            limit: 10,
            ..Default::default()
        };
        assert!(
            matches!(files.query(&missing), Err(ResultsError::NoSuchGroup(m)) if m.contains("'hamlet'"))
        );
        let chunks = files.chunks(&GroupPick::All).expect("chunks");
        assert!(chunks.grouped(), "its download has a group column");
    }

    #[test]
    fn groups_are_named_and_ordered_by_value_with_nulls_last() {
        let counts = |group: u32, total: u64| GroupCounts {
            group,
            words: if total == 0 {
                Vec::new()
            } else {
                vec![WordCount {
                    word: "w".into(),
                    count: total,
                }]
            },
            total_words: total,
        };
        // Group 3 met only rows without words: the engine may not list it.
        let labelled = GroupWords::labelled(
            vec![counts(0, 5), counts(1, 2), counts(2, 7)],
            vec![Some("b".into()), None, Some("a".into()), Some("c".into())],
        );
        let names: Vec<(Option<&str>, u64)> = labelled
            .iter()
            .map(|g| (g.group.as_deref(), g.total_words))
            .collect();
        assert_eq!(
            names,
            vec![(Some("a"), 7), (Some("b"), 5), (Some("c"), 0), (None, 2)]
        );
        // A scan that met no row: the engine's lone group 0 has no label.
        assert!(GroupWords::labelled(vec![counts(0, 0)], Vec::new()).is_empty());
    }

    #[test]
    fn empty_results_and_sweeping() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ResultStore::open(dir.path()).expect("open");
        store.write("run-1", &[], None).expect("write");
        store.write("run-2", &words(10), None).expect("write");
        let q = WordsQuery {
            limit: 10,
            ..Default::default()
        };
        assert_eq!(store.query("run-1", &q).expect("query").total, 0);
        let known = ["run-2".to_string()].into_iter().collect();
        assert_eq!(store.sweep(&known).expect("sweep"), 2);
        assert_eq!(store.query("run-2", &q).expect("query").total, 10);
        assert!(store.query("run-1", &q).is_err());
    }
}
