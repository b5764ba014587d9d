//! One module per route.

pub mod dashboard;
pub mod datasets;
pub mod not_found;
pub mod run;
pub mod table;
pub mod workload;
pub mod workload_editor;
pub mod workloads;
