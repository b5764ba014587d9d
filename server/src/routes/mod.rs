//! HTTP routes outside the Leptos app: one module per resource.

pub mod docs;
pub mod fallback;
pub mod health;
