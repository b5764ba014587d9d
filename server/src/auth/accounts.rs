//! [`Accounts`]: the rules of users, sessions, API tokens, the first admin's
//! setup and the audit log, over the [`AccountStore`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use tally_app::auth::{
    AuditEntry, AuditPage, Credential, NewToken, Principal, Role, TokenInfo, UserInfo,
    check_password, check_user_name,
};

use super::limiter::{LoginLimiter, LoginLimits};
use super::password;
use super::secret;
use super::store::{AccountRow, AccountStore, AuditRow, SessionRow, StoreError, TokenRow};
use crate::store::database::Database;
use crate::store::rfc3339_millis;

/// Sessions and the audit log, from the command line.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// A session unused this long ends (`--session-idle`).
    pub session_idle: Duration,
    /// A session ends this long after sign-in, however used (`--session-lifetime`).
    pub session_lifetime: Duration,
    pub login_limits: LoginLimits,
    /// Audit events older than this are deleted (`--audit-retention`).
    pub audit_retention: Duration,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            session_idle: Duration::from_secs(12 * 3600),
            session_lifetime: Duration::from_secs(7 * 24 * 3600),
            login_limits: LoginLimits::default(),
            audit_retention: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// How often a session's or token's last use is written: reads of the same
/// minute cost no write.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The most audit events one page holds.
pub const MAX_AUDIT_PAGE: u64 = 500;

/// The longest token lifetime a request may ask for, in days.
pub const MAX_TOKEN_DAYS: u32 = 3650;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The same answer for an unknown user and a wrong password.
    #[error("Invalid user name or password")]
    BadCredentials,
    #[error("Too many failed sign-ins: try again in {} s", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    /// Invalid input; the message starts with the field's name.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "This setup link is not valid: it was used, or the server restarted (see its log for the current one)"
    )]
    SetupClosed,
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NameTaken(_) => Self::Conflict(e.to_string()),
            StoreError::Db(db) => Self::Internal(db.to_string()),
        }
    }
}

/// A session just opened: the cookie value to send (never stored).
pub struct OpenedSession {
    pub cookie: String,
    pub account: AccountRow,
}

pub struct Accounts {
    store: AccountStore,
    settings: AccountSettings,
    limiter: LoginLimiter,
    /// The first admin's setup secret, while no account exists.
    setup_secret: Mutex<Option<String>>,
}

impl Accounts {
    pub fn new(db: Database, settings: AccountSettings) -> Self {
        Self {
            store: AccountStore::new(db),
            limiter: LoginLimiter::new(settings.login_limits),
            settings,
            setup_secret: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &AccountSettings {
        &self.settings
    }

    /// When no account exists, a fresh setup secret (the URL to log carries
    /// it); `None` once there is one.
    pub async fn open_setup(&self) -> Result<Option<String>, AuthError> {
        if self.store.count_accounts().await? > 0 {
            return Ok(None);
        }
        let secret = secret::random().map_err(|e| AuthError::Internal(e.to_string()))?;
        *self.setup_secret.lock().unwrap_or_else(|e| e.into_inner()) = Some(secret.clone());
        Ok(Some(secret))
    }

    /// Whether `candidate` is the current setup secret.
    pub fn setup_secret_is(&self, candidate: &str) -> bool {
        let current = self.setup_secret.lock().unwrap_or_else(|e| e.into_inner());
        current
            .as_deref()
            .is_some_and(|s| secret::same(s, candidate))
    }

    /// Creates the first admin with the setup secret, voids the secret and
    /// signs the new admin in.
    pub async fn complete_setup(
        &self,
        candidate: &str,
        name: &str,
        password: &str,
        address: &str,
    ) -> Result<OpenedSession, AuthError> {
        if !self.setup_secret_is(candidate) || self.store.count_accounts().await? > 0 {
            return Err(AuthError::SetupClosed);
        }
        let account = self.insert_account(name, password, Role::Admin).await?;
        *self.setup_secret.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let who = principal_of(&account, Credential::Open, address);
        self.record(
            &who,
            "user.create",
            &account.name,
            "first admin, from the setup link",
        )
        .await;
        self.open_session(account).await
    }

    async fn insert_account(
        &self,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<AccountRow, AuthError> {
        let name = check_user_name(name).map_err(AuthError::Invalid)?;
        check_password(password).map_err(AuthError::Invalid)?;
        let hash = hash_blocking(password).await?;
        Ok(self.store.insert_account(&name, role, hash).await?)
    }

    /// Signs a user in with a password; every failure answers the same
    /// [`AuthError::BadCredentials`], and past the limits, [`AuthError::TooManyAttempts`].
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        address: &str,
    ) -> Result<OpenedSession, AuthError> {
        let name = name.trim();
        if let Some(wait) = self.limiter.wait(name, address, Instant::now()) {
            return Err(AuthError::TooManyAttempts(wait));
        }
        let account = self.store.account_by_name(name).await?;
        let candidate = password.to_string();
        let matches = match &account {
            Some(account) => {
                let hash = account.password_hash.clone();
                tokio::task::spawn_blocking(move || password::verify(&candidate, &hash))
                    .await
                    .map_err(|e| AuthError::Internal(e.to_string()))?
            }
            None => {
                tokio::task::spawn_blocking(move || password::verify_nobody(&candidate))
                    .await
                    .map_err(|e| AuthError::Internal(e.to_string()))?;
                false
            }
        };
        match account {
            Some(account) if matches => {
                self.limiter.succeeded(name);
                let who = principal_of(&account, Credential::Open, address);
                self.record(&who, "login", &account.name, "").await;
                self.open_session(account).await
            }
            _ => {
                self.limiter.failed(name, address, Instant::now());
                let who = anonymous(address);
                self.record(&who, "login.failed", name, "").await;
                Err(AuthError::BadCredentials)
            }
        }
    }

    async fn open_session(&self, account: AccountRow) -> Result<OpenedSession, AuthError> {
        let cookie = secret::random().map_err(|e| AuthError::Internal(e.to_string()))?;
        let now = Utc::now();
        let row = SessionRow {
            account: account.num,
            created_at: now,
            last_seen_at: now,
            expires_at: now
                .checked_add_signed(delta(self.settings.session_lifetime))
                .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC),
        };
        self.store
            .insert_session(&secret::digest(&cookie), row)
            .await?;
        Ok(OpenedSession { cookie, account })
    }

    /// Ends the session of `who` (a no-op for other credentials).
    pub async fn sign_out(&self, who: &Principal) -> Result<(), AuthError> {
        if let Credential::Session(key) = &who.via {
            self.store.delete_session(key).await?;
            self.record(who, "logout", &who.name, "").await;
        }
        Ok(())
    }

    /// The principal a session cookie stands for, if it is live.
    pub async fn from_session(
        &self,
        cookie: &str,
        address: &str,
    ) -> Result<Option<Principal>, AuthError> {
        if !secret::looks_like_session(cookie) {
            return Ok(None);
        }
        let key = secret::digest(cookie);
        let Some(session) = self.store.session(&key).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        let idle = delta(self.settings.session_idle);
        if now >= session.expires_at || now - session.last_seen_at > idle {
            self.store.delete_session(&key).await?;
            return Ok(None);
        }
        let Some(account) = self.account_of(session.account).await? else {
            self.store.delete_session(&key).await?;
            return Ok(None);
        };
        // Written at most once a minute, and often enough for a short idle timeout.
        if now - session.last_seen_at > TOUCH_EVERY.min(idle / 4) {
            self.store.touch_session(&key, now).await?;
        }
        Ok(Some(principal_of(
            &account,
            Credential::Session(key),
            address,
        )))
    }

    /// The principal an API token stands for, if it is live: its own role,
    /// never more than its owner's today.
    pub async fn from_token(
        &self,
        token: &str,
        address: &str,
    ) -> Result<Option<Principal>, AuthError> {
        if !secret::looks_like_token(token) {
            return Ok(None);
        }
        let Some(row) = self.store.token_by_digest(&secret::digest(token)).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        if row.expires_at.is_some_and(|end| now >= end) {
            return Ok(None);
        }
        let Some(account) = self.account_of(row.account).await? else {
            return Ok(None);
        };
        if row.last_used_at.is_none_or(|last| now - last > TOUCH_EVERY) {
            self.store.touch_token(row.num, now).await?;
        }
        let mut who = principal_of(&account, Credential::Token(row.id()), address);
        who.role = who.role.min(row.role());
        Ok(Some(who))
    }

    async fn account_of(&self, num: i64) -> Result<Option<AccountRow>, AuthError> {
        Ok(self.store.account(u64::try_from(num).unwrap_or(0)).await?)
    }

    // --- users (admins) ---------------------------------------------------------

    pub async fn users(&self) -> Result<Vec<UserInfo>, AuthError> {
        Ok(self.store.accounts().await?.iter().map(user_info).collect())
    }

    pub async fn create_user(
        &self,
        who: &Principal,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<UserInfo, AuthError> {
        let account = self.insert_account(name, password, role).await?;
        self.record(who, "user.create", &account.name, &format!("role {role}"))
            .await;
        Ok(user_info(&account))
    }

    async fn existing(&self, id: u64) -> Result<AccountRow, AuthError> {
        self.store
            .account(id)
            .await?
            .ok_or_else(|| AuthError::NotFound(format!("User {id} does not exist")))
    }

    /// Refuses to leave the server without an admin.
    async fn keep_an_admin(&self, account: &AccountRow, action: &str) -> Result<(), AuthError> {
        if account.role() == Role::Admin && self.store.count_admins().await? <= 1 {
            return Err(AuthError::Conflict(format!(
                "{} is the only admin: make another user admin before you {action}",
                account.name
            )));
        }
        Ok(())
    }

    pub async fn set_role(
        &self,
        who: &Principal,
        id: u64,
        role: Role,
    ) -> Result<UserInfo, AuthError> {
        let mut account = self.existing(id).await?;
        if role != Role::Admin {
            self.keep_an_admin(&account, "change their role").await?;
        }
        self.store.set_role(account.num, role).await?;
        self.record(
            who,
            "user.role",
            &account.name,
            &format!("{} -> {role}", account.role),
        )
        .await;
        account.role = role.as_str().to_string();
        Ok(user_info(&account))
    }

    /// Sets a user's password (an admin's, or one's own) and ends their sessions.
    pub async fn set_password(
        &self,
        who: &Principal,
        id: u64,
        password: &str,
    ) -> Result<UserInfo, AuthError> {
        if who.role < Role::Admin && who.user_id != Some(id) {
            return Err(AuthError::Forbidden(
                "Only an admin can set another user's password".into(),
            ));
        }
        let account = self.existing(id).await?;
        check_password(password).map_err(AuthError::Invalid)?;
        let hash = hash_blocking(password).await?;
        self.store.set_password(account.num, hash).await?;
        self.record(who, "user.password", &account.name, "sessions ended")
            .await;
        let account = self.existing(id).await?;
        Ok(user_info(&account))
    }

    pub async fn delete_user(&self, who: &Principal, id: u64) -> Result<UserInfo, AuthError> {
        let account = self.existing(id).await?;
        self.keep_an_admin(&account, "delete them").await?;
        self.store.delete_account(account.num).await?;
        self.record(
            who,
            "user.delete",
            &account.name,
            "with their sessions and tokens",
        )
        .await;
        Ok(user_info(&account))
    }

    // --- tokens -----------------------------------------------------------------

    /// The tokens `who` may see: an admin's are everyone's.
    pub async fn tokens(&self, who: &Principal) -> Result<Vec<TokenInfo>, AuthError> {
        let owner = if who.role == Role::Admin {
            None
        } else {
            Some(owner_num(who)?)
        };
        let rows = self.store.tokens(owner).await?;
        let accounts = self.store.accounts().await?;
        Ok(rows
            .iter()
            .map(|row| {
                let owner = accounts
                    .iter()
                    .find(|a| a.num == row.account)
                    .map_or_else(|| format!("user {}", row.account), |a| a.name.clone());
                token_info(row, owner)
            })
            .collect())
    }

    /// Creates a token for `who`, with a role no higher than theirs.
    pub async fn create_token(
        &self,
        who: &Principal,
        name: &str,
        role: Role,
        expires_in_days: Option<u32>,
    ) -> Result<NewToken, AuthError> {
        let account = owner_num(who)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AuthError::Invalid(
                "name: must be 1 to 100 characters".into(),
            ));
        }
        if role > who.role {
            return Err(AuthError::Invalid(format!(
                "role: a token cannot have more power than its creator ({} here)",
                who.role
            )));
        }
        let expires_at = match expires_in_days {
            None | Some(0) => None,
            Some(days) if days > MAX_TOKEN_DAYS => {
                return Err(AuthError::Invalid(format!(
                    "expires_in_days: at most {MAX_TOKEN_DAYS} (or none for no expiry)"
                )));
            }
            Some(days) => Some(Utc::now() + chrono::TimeDelta::days(i64::from(days))),
        };
        let token = secret::new_token().map_err(|e| AuthError::Internal(e.to_string()))?;
        let row = self
            .store
            .insert_token(secret::digest(&token), name, role, account, expires_at)
            .await?;
        self.record(
            who,
            "token.create",
            &format!("token {}", row.num),
            &format!("{name}, role {role}"),
        )
        .await;
        Ok(NewToken {
            info: token_info(&row, who.name.clone()),
            token,
        })
    }

    /// Revokes a token: its owner's or, for an admin, anyone's.
    pub async fn revoke_token(&self, who: &Principal, id: u64) -> Result<TokenInfo, AuthError> {
        let missing = || AuthError::NotFound(format!("Token {id} does not exist"));
        let row = self.store.token(id).await?.ok_or_else(missing)?;
        let own = who.user_id.and_then(|u| i64::try_from(u).ok()) == Some(row.account);
        if !own && who.role < Role::Admin {
            return Err(missing());
        }
        self.store.delete_token(row.num).await?;
        self.record(
            who,
            "token.revoke",
            &format!("token {}", row.num),
            &row.name,
        )
        .await;
        let owner = self
            .store
            .account(u64::try_from(row.account).unwrap_or(0))
            .await?
            .map_or_else(|| format!("user {}", row.account), |a| a.name);
        Ok(token_info(&row, owner))
    }

    // --- audit ------------------------------------------------------------------

    /// Records what `who` did. A failure to record is logged, not returned:
    /// the change it describes has already been made.
    pub async fn record(&self, who: &Principal, action: &str, target: &str, detail: &str) {
        let outcome = self
            .store
            .insert_audit(
                who.actor(),
                who.address.clone(),
                action,
                target.to_string(),
                detail.to_string(),
            )
            .await;
        if let Err(e) = outcome {
            tracing::error!(error = %e, action, target, "cannot record an audit event");
        }
    }

    /// A page of the audit log, newest first (`limit` at most [`MAX_AUDIT_PAGE`]).
    pub async fn audit_page(
        &self,
        action: Option<String>,
        actor: Option<String>,
        offset: u64,
        limit: u64,
    ) -> Result<AuditPage, AuthError> {
        let limit = limit.clamp(1, MAX_AUDIT_PAGE);
        let (rows, total) = self.store.audit(action, actor, offset, limit).await?;
        Ok(AuditPage {
            items: rows.into_iter().map(audit_entry).collect(),
            total,
        })
    }

    /// Deletes expired sessions and audit events past their retention.
    pub async fn sweep(&self) -> Result<(), AuthError> {
        let now = Utc::now();
        let idle_before = now
            .checked_sub_signed(delta(self.settings.session_idle))
            .unwrap_or(now);
        self.store.delete_expired_sessions(now, idle_before).await?;
        if let Some(before) = now.checked_sub_signed(delta(self.settings.audit_retention)) {
            self.store.delete_audit_before(before).await?;
        }
        Ok(())
    }

    /// `tally admin create-user`: creates a user with no one signed in.
    pub async fn create_user_offline(
        &self,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<UserInfo, AuthError> {
        let who = Principal {
            address: "command line".into(),
            ..Principal::system("tally admin")
        };
        self.create_user(&who, name, password, role).await
    }
}

/// A setting's duration as a time span; past chrono's range (hundreds of
/// millions of years), its longest span, so a huge setting means "never".
fn delta(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

async fn hash_blocking(password: &str) -> Result<String, AuthError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?
        .map_err(|e| AuthError::Internal(e.to_string()))
}

fn owner_num(who: &Principal) -> Result<i64, AuthError> {
    who.user_id
        .and_then(|id| i64::try_from(id).ok())
        .ok_or_else(|| {
            AuthError::Conflict(
                "API tokens belong to users: this server runs without sign-in (--auth), so none is needed"
                    .into(),
            )
        })
}

/// A request that has not proved who it is.
pub fn anonymous(address: &str) -> Principal {
    Principal {
        user_id: None,
        name: "anonymous".into(),
        role: Role::Viewer,
        via: Credential::Open,
        address: address.to_string(),
    }
}

fn principal_of(account: &AccountRow, via: Credential, address: &str) -> Principal {
    Principal {
        user_id: Some(account.id()),
        name: account.name.clone(),
        role: account.role(),
        via,
        address: address.to_string(),
    }
}

fn user_info(account: &AccountRow) -> UserInfo {
    UserInfo {
        id: account.id(),
        name: account.name.clone(),
        role: account.role(),
        created_at: rfc3339_millis(account.created_at),
        password_changed_at: rfc3339_millis(account.password_changed_at),
    }
}

fn audit_entry(row: AuditRow) -> AuditEntry {
    AuditEntry {
        id: u64::try_from(row.num).unwrap_or(0),
        at: rfc3339_millis(row.at),
        actor: row.actor,
        address: row.address,
        action: row.action,
        target: row.target,
        detail: row.detail,
    }
}

fn token_info(row: &TokenRow, owner: String) -> TokenInfo {
    TokenInfo {
        id: row.id(),
        name: row.name.clone(),
        role: row.role(),
        owner,
        created_at: rfc3339_millis(row.created_at),
        expires_at: row.expires_at.map(rfc3339_millis),
        last_used_at: row.last_used_at.map(rfc3339_millis),
    }
}

/// The account pages' port, over the same rules as the REST API.
#[async_trait::async_trait]
impl tally_app::service::AccountService for Accounts {
    async fn users(&self) -> Result<Vec<UserInfo>, tally_app::error::AppError> {
        Ok(answer(Accounts::users(self).await)?)
    }

    async fn create_user(
        &self,
        who: &Principal,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<UserInfo, tally_app::error::AppError> {
        Ok(answer(
            Accounts::create_user(self, who, name, password, role).await,
        )?)
    }

    async fn set_user_role(
        &self,
        who: &Principal,
        id: u64,
        role: Role,
    ) -> Result<UserInfo, tally_app::error::AppError> {
        Ok(answer(self.set_role(who, id, role).await)?)
    }

    async fn set_user_password(
        &self,
        who: &Principal,
        id: u64,
        password: &str,
    ) -> Result<UserInfo, tally_app::error::AppError> {
        Ok(answer(self.set_password(who, id, password).await)?)
    }

    async fn delete_user(
        &self,
        who: &Principal,
        id: u64,
    ) -> Result<UserInfo, tally_app::error::AppError> {
        Ok(answer(Accounts::delete_user(self, who, id).await)?)
    }

    async fn tokens(&self, who: &Principal) -> Result<Vec<TokenInfo>, tally_app::error::AppError> {
        Ok(answer(Accounts::tokens(self, who).await)?)
    }

    async fn create_token(
        &self,
        who: &Principal,
        name: &str,
        role: Role,
        expires_in_days: Option<u32>,
    ) -> Result<NewToken, tally_app::error::AppError> {
        Ok(answer(
            Accounts::create_token(self, who, name, role, expires_in_days).await,
        )?)
    }

    async fn revoke_token(
        &self,
        who: &Principal,
        id: u64,
    ) -> Result<TokenInfo, tally_app::error::AppError> {
        Ok(answer(Accounts::revoke_token(self, who, id).await)?)
    }

    async fn audit(
        &self,
        action: Option<String>,
        actor: Option<String>,
        offset: u64,
        limit: u64,
    ) -> Result<tally_app::auth::AuditPage, tally_app::error::AppError> {
        Ok(answer(self.audit_page(action, actor, offset, limit).await)?)
    }
}

/// Maps an account error the way the REST API does (one status table).
fn answer<T>(result: Result<T, AuthError>) -> Result<T, crate::error::ServiceError> {
    result.map_err(crate::error::ServiceError::from)
}
