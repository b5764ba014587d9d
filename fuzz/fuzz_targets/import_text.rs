//! The text import path: any bytes are refused with an error or imported,
//! never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_app::catalog::SourceFormat;

fuzz_target!(|data: &[u8]| {
    tally_fuzz::import(SourceFormat::Text, data, false);
});
