//! The port the server implements for the UI's server functions.
//!
//! Server functions are thin adapters: they take the [`AppService`] the server put
//! into Leptos' context once at start-up, call one method, and return its result.
//! The same service backs the REST API, so no rule is written twice.

use std::sync::Arc;

use crate::domain::SystemStatus;

/// Everything the UI asks of the server.
#[async_trait::async_trait]
pub trait AppService: Send + Sync + 'static {
    /// A live reading of the server's and database's health.
    async fn system_status(&self) -> SystemStatus;
}

/// How the service travels in Leptos' context.
pub type SharedService = Arc<dyn AppService>;
