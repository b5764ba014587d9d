//! Server functions: the UI's calls to the server, each at a stable endpoint under
//! `/api/fn/` so that they can also be called with curl (see the README).

use leptos::prelude::*;

use crate::domain::SystemStatus;

/// `POST /api/fn/system/status`: the Dashboard's status card.
#[server(prefix = "/api/fn", endpoint = "system/status")]
pub async fn get_system_status() -> Result<SystemStatus, ServerFnError> {
    let service = service()?;
    Ok(service.system_status().await)
}

/// The service the server provided in context; an error (not a panic) if it is missing.
#[cfg(feature = "ssr")]
fn service() -> Result<crate::service::SharedService, ServerFnError> {
    use_context::<crate::service::SharedService>()
        .ok_or_else(|| ServerFnError::new("the Tally service is not available on this server"))
}
