//! One module per route.

pub mod dashboard;
pub mod datasets;
pub mod not_found;
pub mod table;
pub mod workloads;
