//! Reusable pieces of the UI.

pub mod activity;
pub mod count_options;
pub mod data_card;
pub mod layout;
pub mod run_progress;
pub mod runs_table;
pub mod source_name;
pub mod status_badge;
pub mod status_card;
pub mod word_chart;
pub mod word_table;
