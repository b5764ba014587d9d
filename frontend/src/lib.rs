//! The WASM entry point: hydrates the page the server rendered.
//!
//! Deliberately tiny: everything the browser runs lives in `tally-app` (built with
//! its `hydrate` feature), so this crate must never depend on server-only crates.

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the hydration script Leptos puts in every page.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(tally_app::App);
    // Hydration is synchronous: from here on the page is interactive. The mark lets
    // end-to-end tests (and curious users) tell a hydrated page from a static one.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
