//! Reusable pieces of the UI.

pub mod data_card;
pub mod layout;
pub mod status_badge;
pub mod status_card;
