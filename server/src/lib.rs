//! The `tally` server: configuration, start-up, persistence and HTTP routes.
//!
//! `main.rs` only parses the command line and calls into this library, so that the
//! integration tests can start the real application (see [`startup::Application`]).

pub mod admin_cmd;
pub mod auth;
pub mod bench_cmd;
pub mod cli;
pub mod count_cmd;
pub mod data_dir;
pub mod error;
pub mod import_cmd;
pub mod limits;
pub mod metrics;
pub mod routes;
pub mod runs;
pub mod sample;
pub mod service;
pub mod site;
pub mod startup;
pub mod store;
pub mod tables;
pub mod telemetry;
