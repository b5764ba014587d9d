//! Who is asking: roles, the identity a request carries, and users and API
//! tokens as the account pages show them.
//!
//! The server decides every permission (see the server's `auth::policy`); the
//! UI only reads [`CurrentUser`] to hide what the server would refuse.

use serde::{Deserialize, Serialize};

/// What a user or token may do. Ordered: each role can do everything the
/// roles before it can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also creates, edits, runs, cancels and deletes workloads, and imports tables.
    Editor,
    /// Also deletes tables, manages users and tokens, and reads the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "viewer" => Ok(Self::Viewer),
            "editor" => Ok(Self::Editor),
            "admin" => Ok(Self::Admin),
            other => Err(format!(
                "'{other}' is not a role: use viewer, editor or admin"
            )),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity a page is rendered for, as the UI needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    /// The signed-in user's name; `None` when the server needs no sign-in.
    pub name: Option<String>,
    pub role: Role,
}

impl CurrentUser {
    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// Who made a request, as the server resolved it. Put into each request's
/// extensions by the server's guard, before any handler or server function runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user the request acts for; `None` on a server that needs no sign-in.
    pub user_id: Option<u64>,
    /// The user's name, or `local` on a server that needs no sign-in.
    pub name: String,
    /// What the request may do (a token's role, never more than its user's).
    pub role: Role,
    /// How the request proved who it is.
    pub via: Credential,
    /// The peer address the request came from.
    pub address: String,
}

/// How a request was authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A server that needs no sign-in (loopback, `--auth auto`).
    Open,
    /// A browser session; the value is the session's storage key.
    Session(String),
    /// An API token, by id.
    Token(u64),
}

impl Principal {
    pub fn current_user(&self) -> CurrentUser {
        CurrentUser {
            name: self.user_id.map(|_| self.name.clone()),
            role: self.role,
        }
    }

    /// The server acting on its own (loading the sample data, the command line).
    pub fn system(name: &str) -> Self {
        Self {
            user_id: None,
            name: name.to_string(),
            role: Role::Admin,
            via: Credential::Open,
            address: "server".into(),
        }
    }

    /// How the audit log names the actor: `ann`, `ann (token 4)` or `local`.
    pub fn actor(&self) -> String {
        match self.via {
            Credential::Token(id) => format!("{} (token {id})", self.name),
            _ => self.name.clone(),
        }
    }
}

/// A user, as the admin pages list them (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserInfo {
    pub id: u64,
    pub name: String,
    pub role: Role,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When the password was last set (RFC 3339, UTC).
    pub password_changed_at: String,
}

/// An API token, as its owner and the admins see it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: u64,
    pub name: String,
    pub role: Role,
    /// The user whose name the token acts in.
    pub owner: String,
    pub created_at: String,
    /// When it stops working (RFC 3339), if ever.
    pub expires_at: Option<String>,
    /// Last time a request used it, to the minute.
    pub last_used_at: Option<String>,
}

/// A token just created: the only answer that carries its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    /// `tally_...`: send it as `Authorization: Bearer <token>`. Shown once.
    pub token: String,
}

/// One change, as the audit log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: u64,
    /// RFC 3339, UTC.
    pub at: String,
    /// Who: a user (`ann`, `ann (token 4)`), `local` on a server without
    /// sign-in, or `anonymous` for a failed sign-in.
    pub actor: String,
    /// The peer address the request came from.
    pub address: String,
    /// What: `workload.create`, `run.cancel`, `table.delete`, `login.failed`, ...
    pub action: String,
    /// What it was done to: `workload 4`, `p.d.t`, a user name.
    pub target: String,
    pub detail: String,
}

/// A page of the audit log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Entries matching the filter.
    pub total: u64,
}

/// User names: 1 to 64 characters from `A-Z a-z 0-9 . _ -`, starting with a
/// letter or digit. Case-sensitive.
pub fn check_user_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.len() > 64 {
        return Err("name: must be 1 to 64 characters".into());
    }
    let first_ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    let all_ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !first_ok || !all_ok {
        return Err(
            "name: use letters, digits, '.', '_' and '-', starting with a letter or digit".into(),
        );
    }
    Ok(name.to_string())
}

/// Passwords: at least [`MIN_PASSWORD_CHARS`] characters, at most 1 024 bytes.
pub fn check_password(raw: &str) -> Result<(), String> {
    if raw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "password: must be at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if raw.len() > 1024 {
        return Err("password: must be at most 1024 bytes".into());
    }
    Ok(())
}

/// The shortest accepted password (NIST SP 800-63B's minimum for a chosen one is 8).
pub const MIN_PASSWORD_CHARS: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Admin > Role::Editor && Role::Editor > Role::Viewer);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("root").is_err());
        let editor = CurrentUser {
            name: Some("ed".into()),
            role: Role::Editor,
        };
        assert!(editor.can(Role::Viewer) && editor.can(Role::Editor) && !editor.can(Role::Admin));
    }

    #[test]
    fn user_names_and_passwords_are_checked() {
        assert_eq!(check_user_name(" ann.lee ").as_deref(), Ok("ann.lee"));
        for bad in ["", "-ann", "a b", "ann<script>", &"x".repeat(65)] {
            assert!(check_user_name(bad).is_err(), "{bad}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password("long enough pass").is_ok());
        assert!(check_password(&"x".repeat(1025)).is_err());
    }
}
