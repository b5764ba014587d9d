//! The parquet import path: any bytes are refused with an error or imported,
//! never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_app::catalog::SourceFormat;

fuzz_target!(|data: &[u8]| {
    // The importer turns a panic of the Parquet reader into an error; the
    // fuzzing harness's panic hook would abort before that. A panic that
    // escapes the importer still aborts (it cannot unwind out of libFuzzer's
    // entry point), so it is still found.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    tally_fuzz::import(SourceFormat::Parquet, data, false);
});
