//! Table data: Parquet files under the data directory, how they are imported,
//! previewed and scanned.
//!
//! What this module does not do: names and statistics live in the catalog
//! ([`crate::store::catalog`]); this module only reads and writes files.

pub mod filter;
pub mod leases;
pub mod preview;
pub mod reader;
pub mod scan;
pub mod store;

/// Imports live in a crate of their own (the fuzz targets build it alone).
pub use tally_import as import;
pub use tally_import::schema;

pub use leases::{TableLease, TableLeases};
pub use store::TableStore;
