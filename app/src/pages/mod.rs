//! One module per route.

pub mod account;
pub mod admin;
pub mod compare;
pub mod dashboard;
pub mod datasets;
pub mod login;
pub mod not_found;
pub mod run;
pub mod runs;
pub mod table;
pub mod workload;
pub mod workload_editor;
pub mod workloads;
