//! Authentication and request protection: who may ask Tally what.
//!
//! - [`mode`]: the `--auth` setting, and whether this server needs a sign-in.
//! - [`guard`]: the one middleware every request passes: `Host` check, cross-site
//!   check, identity (session cookie or API token) and the role [`policy`] asks.
//! - [`headers`]: the security headers of every answer (CSP and friends).
//! - [`accounts`]: users, sessions and API tokens (stored by [`store`]), with
//!   passwords hashed by [`password`] and secrets made by [`secret`].
//! - [`limiter`]: how many failed sign-ins a user name or an address may make.
//!
//! What this module does not do: decide what an operation means. The service
//! layer never checks roles; the policy table is the one place that does.

pub mod accounts;
pub mod guard;
pub mod headers;
pub mod limiter;
pub mod mode;
pub mod password;
pub mod policy;
pub mod secret;
pub mod store;

pub use accounts::{Accounts, AuthError};
pub use mode::{AuthMode, Protection};
