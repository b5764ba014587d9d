//! `tally-surrealdb`: SurrealDB's own server (`surreal start …`), built from
//! crates.io's `surrealdb-server` library at exactly the `surrealdb` version
//! Tally links, so the two share one compiled SurrealDB.
//!
//! It exists so that several Tally processes can be tested, and benchmarked,
//! on a real SurrealDB server without a download: the upstream `surreal`
//! binary is the same thin `main` over [`surrealdb_server::init`]. Its
//! storage is SurrealKV and memory only (`surrealkv://DIR`, `memory`); its
//! command line is upstream's (`tally-surrealdb start --help`).

// SurrealDB's query engine nests async functions deeper than rustc's default
// limit allows when the layouts are computed in an optimised build.
#![recursion_limit = "256"]

use std::process::ExitCode;

/// Upstream's start-up check for a newer release calls out to the internet;
/// a test machine may have no route, and a server should not phone home
/// unasked. Off unless the environment asks for it.
const VERSION_CHECK: &str = "SURREAL_ONLINE_VERSION_CHECK";

fn main() -> ExitCode {
    if std::env::var_os(VERSION_CHECK).is_none() {
        // SAFETY: nothing else runs yet (SurrealDB starts its runtime and
        // threads inside `init`, below), so no thread can read the
        // environment while it changes.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(VERSION_CHECK, "false");
        }
    }
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
