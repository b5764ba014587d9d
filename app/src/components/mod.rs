//! Reusable pieces of the UI.

pub mod layout;
pub mod status_card;
