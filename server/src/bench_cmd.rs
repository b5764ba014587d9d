//! `tally bench-import`: import and scan throughput on this machine (hidden from
//! `--help`; see docs/benchmarks.md).
//!
//! Generates a CSV of `--size` bytes (an integer `id` and a `text` column of
//! synthetic sentences), then runs, each in a child process so that its peak
//! RSS is its own:
//! - the baseline: parsing the CSV with the `csv` crate and checking its UTF-8,
//!   doing nothing with the values;
//! - the import: the same file through Tally's importer (two passes, type
//!   inference, Parquet with zstd);
//! - the scan: the stored `text` column read back as batches for the engine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Args;
use tally_app::catalog::{Column, ColumnType, SourceFormat, TableInfo};
use tally_engine::corpus::Sentences;

use crate::tables::import::{self, ImportOptions, ImportSource};
use crate::tables::scan::TableScan;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Size of the generated CSV, such as 500MB or 1GB.
    #[arg(long, default_value = "500MB")]
    pub size: String,
    /// Where to write the CSV and the table (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Internal: run one measurement and print its figures.
    #[arg(long, hide = true)]
    pub child: Option<String>,
}

fn parse_size(s: &str) -> Result<u64, String> {
    crate::cli::parse_bytes(s).map_err(|e| format!("--size: {e}"))
}

pub fn run(args: &BenchArgs) -> Result<(), String> {
    let size = parse_size(&args.size)?;
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let csv = dir.join(format!("bench-{size}.csv"));
    if let Some(mode) = &args.child {
        return child(mode, &csv, &dir);
    }
    if std::fs::metadata(&csv).map(|m| m.len()).ok() != Some(size) {
        let started = Instant::now();
        write_csv(&csv, size).map_err(|e| format!("cannot write {}: {e}", csv.display()))?;
        eprintln!("generated {} in {:.1?}", csv.display(), started.elapsed());
    }
    let mb = size as f64 / 1e6;
    println!("CSV: {mb:.1} MB ({})", csv.display());
    println!(
        "{:<40} {:>9} {:>9} {:>10}",
        "run", "seconds", "MB/s", "peak RSS"
    );
    let mut results = Vec::new();
    for mode in ["parse", "import", "scan"] {
        let out = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
            .args(["bench-import", "--size", &args.size, "--dir"])
            .arg(&dir)
            .args(["--child", mode])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "{mode} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let line = String::from_utf8_lossy(&out.stdout).to_string();
        let f: Vec<f64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let [secs, bytes, rss_kb] = f[..] else {
            return Err(format!("{mode} printed no figures: {line}"));
        };
        let name = match mode {
            "parse" => "baseline: csv crate parse + UTF-8 check",
            "import" => "import: CSV -> Parquet (2 passes)",
            _ => "scan: text column -> engine batches",
        };
        println!(
            "{name:<40} {secs:>9.2} {:>9.1} {:>6} MiB",
            bytes / 1e6 / secs,
            rss_kb as u64 / 1024
        );
        results.push(secs);
    }
    println!(
        "import: {:.2}x the time of a bare CSV parse of the same file (baseline)",
        results[1] / results[0]
    );
    Ok(())
}

fn write_csv(path: &Path, size: u64) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    out.write_all(b"id,text\n")?;
    let (mut written, mut id) = (8_u64, 0_u64);
    let mut sentences = Sentences::new();
    let mut line = String::new();
    loop {
        sentences.next_line(&mut line);
        let row = format!("{id},\"{}\"\n", line.replace('"', "\"\""));
        if written + row.len() as u64 > size {
            break;
        }
        out.write_all(row.as_bytes())?;
        written += row.len() as u64;
        id += 1;
    }
    // Pad to exactly `size` with one last short row.
    let rest = size - written;
    if rest > 0 {
        let pad = format!(
            "{id},{}\n",
            "x".repeat((rest as usize).saturating_sub(format!("{id},\n").len()))
        );
        out.write_all(&pad.as_bytes()[..rest as usize])?;
    }
    out.flush()
}

fn child(mode: &str, csv: &Path, dir: &Path) -> Result<(), String> {
    let table = dir.join("bench-table.parquet");
    let started = Instant::now();
    let bytes = match mode {
        "parse" => {
            let mut reader = csv::ReaderBuilder::new()
                .from_path(csv)
                .map_err(|e| e.to_string())?;
            let mut record = csv::ByteRecord::new();
            let mut bytes = 0_u64;
            while reader
                .read_byte_record(&mut record)
                .map_err(|e| e.to_string())?
            {
                for field in record.iter() {
                    std::str::from_utf8(field).map_err(|e| e.to_string())?;
                    bytes += field.len() as u64;
                }
            }
            std::fs::metadata(csv)
                .map_err(|e| e.to_string())?
                .len()
                .max(bytes)
        }
        "import" => {
            let _ = std::fs::remove_file(&table);
            let sources = [ImportSource {
                name: "bench.csv".into(),
                path: csv.to_path_buf(),
            }];
            let options = ImportOptions {
                format: Some(SourceFormat::Csv),
                ..ImportOptions::default()
            };
            let limits = import::ImportLimits::default();
            let cancel = tally_engine::CancelToken::new();
            import::convert(&sources, &options, &limits, &cancel, &table)
                .map_err(|e| e.to_string())?;
            std::fs::metadata(csv).map_err(|e| e.to_string())?.len()
        }
        "scan" => {
            let info = TableInfo {
                project: "bench".into(),
                dataset: "bench".into(),
                name: "bench".into(),
                columns: vec![
                    Column {
                        name: "id".into(),
                        kind: ColumnType::Integer,
                    },
                    Column {
                        name: "text".into(),
                        kind: ColumnType::String,
                    },
                ],
                row_count: 0,
                stored_bytes: 0,
                source_format: SourceFormat::Csv,
                created_at: String::new(),
            };
            let scan = TableScan::open(&table, &info, "text", &Default::default(), None, None)
                .map_err(|e| e.to_string())?;
            let mut bytes = 0_u64;
            for batch in scan {
                bytes += batch.map_err(|e| e.to_string())?.text_bytes() as u64;
            }
            bytes
        }
        other => return Err(format!("unknown mode {other}")),
    };
    println!(
        "{} {bytes} {}",
        started.elapsed().as_secs_f64(),
        tally_engine::corpus::peak_rss_kb()
    );
    Ok(())
}

/// `tally gen-corpus FILE --size 1GB`: writes the benchmarks' synthetic text.
#[derive(Debug, clap::Args)]
pub struct CorpusArgs {
    /// Where to write the text.
    pub file: PathBuf,
    /// How much text, such as 100MB or 1GB.
    #[arg(long, default_value = "100MB")]
    pub size: String,
}

pub fn gen_corpus(args: &CorpusArgs) -> Result<(), String> {
    let size = usize::try_from(parse_size(&args.size)?).map_err(|e| e.to_string())?;
    tally_engine::corpus::write_text(&args.file, size)
        .map_err(|e| format!("cannot write {}: {e}", args.file.display()))
}
