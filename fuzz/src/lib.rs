//! What the fuzz targets share: an import of fuzzer bytes as a file, within
//! small limits, that may fail with any `ImportError` but must never panic,
//! hang or use memory without bound.

use tally_app::catalog::SourceFormat;
use tally_engine::CancelToken;
use tally_import::{ImportLimits, ImportOptions, ImportSource, convert};

/// Limits small enough that a fuzzer reaches them.
const LIMITS: ImportLimits = ImportLimits {
    max_columns: 64,
    max_record_bytes: 64 << 10,
    max_parquet_expansion: 100,
    read_rate: None,
};

/// Imports `data` as a file of `format`. The first byte, when `options_byte`,
/// picks the CSV delimiter and quote and whether invalid UTF-8 is replaced.
pub fn import(format: SourceFormat, data: &[u8], options_byte: bool) {
    let (options, data) = match (options_byte, data.split_first()) {
        (true, Some((&first, rest))) => {
            let delimiters = [b',', b';', b'\t', b'|'];
            let quotes = [b'"', b'\''];
            let options = ImportOptions {
                format: Some(format),
                delimiter: delimiters[usize::from(first & 3)],
                quote: quotes[usize::from((first >> 2) & 1)],
                replace_invalid_utf8: first & 8 != 0,
            };
            (options, rest)
        }
        _ => (
            ImportOptions {
                format: Some(format),
                replace_invalid_utf8: data.first().is_some_and(|b| b & 1 == 1),
                ..ImportOptions::default()
            },
            data,
        ),
    };
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("input");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let sources = [ImportSource {
        name: "input".into(),
        path,
    }];
    let out = dir.path().join("out.parquet");
    // Errors are answers; only a panic, a hang or a crash is a finding.
    let _ = convert(&sources, &options, &LIMITS, &CancelToken::new(), &out);
}
