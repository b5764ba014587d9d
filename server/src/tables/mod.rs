//! Table data: Parquet files under the data directory, how they are imported,
//! previewed and scanned.
//!
//! What this module does not do: names and statistics live in the catalog
//! ([`crate::catalog`]); this module only reads and writes files.

pub mod import;
pub mod leases;
pub mod preview;
pub mod scan;
pub mod schema;
pub mod store;

pub use leases::{TableLease, TableLeases};
pub use store::TableStore;
