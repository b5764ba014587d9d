//! The signed-in user of the page, for the UI to hide what the server would
//! refuse anyway. Read once from the request on the server and shared with the
//! hydrated page (a [`SharedValue`]), so both render the same buttons.

use leptos::prelude::*;

use crate::auth::{CurrentUser, Role};

/// Who the page is for: `None` when nobody is signed in (the sign-in page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageUser(pub Option<CurrentUser>);

/// Puts the page's user into context; called once, by the app root.
pub fn provide_page_user() {
    let user = SharedValue::new(from_request).into_inner();
    provide_context(PageUser(user));
}

#[cfg(feature = "ssr")]
fn from_request() -> Option<CurrentUser> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::auth::Principal>().cloned())
        .map(|who| who.current_user())
}

#[cfg(not(feature = "ssr"))]
fn from_request() -> Option<CurrentUser> {
    None
}

/// The page's user, if signed in.
pub fn use_page_user() -> Option<CurrentUser> {
    use_context::<PageUser>().and_then(|u| u.0)
}

/// Whether the page's user has at least `role`.
pub fn can(role: Role) -> bool {
    use_page_user().is_some_and(|u| u.can(role))
}
