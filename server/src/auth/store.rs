//! [`AccountStore`]: accounts, sessions, API tokens and audit events in SurrealDB
//! (migration 6). Plain persistence: the rules live in [`super::accounts`].

use chrono::{DateTime, Utc};
use surrealdb::IndexedResults;
use surrealdb::types::SurrealValue;
use tally_app::auth::Role;

use crate::store::database::{Database, DbError};
use crate::store::sequence::{ACCOUNT_IDS, AUDIT_IDS, IdSequence, TOKEN_IDS};

#[derive(Debug, Clone, SurrealValue)]
pub struct AccountRow {
    pub num: i64,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

impl AccountRow {
    /// The stored role; the schema admits only valid ones, and anything else
    /// (another client's doing) gets the least power.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }

    pub fn id(&self) -> u64 {
        u64::try_from(self.num).unwrap_or(0)
    }
}

#[derive(Debug, Clone, SurrealValue)]
pub struct SessionRow {
    pub account: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, SurrealValue)]
pub struct TokenRow {
    pub num: i64,
    pub digest: String,
    pub name: String,
    pub role: String,
    pub account: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }

    pub fn id(&self) -> u64 {
        u64::try_from(self.num).unwrap_or(0)
    }
}

#[derive(Debug, Clone, SurrealValue)]
pub struct AuditRow {
    pub num: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub address: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Debug, SurrealValue)]
struct Count {
    n: i64,
}

/// A failure of the store: the database's, or a name already taken.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("name: '{0}' is already taken")]
    NameTaken(String),
}

impl From<surrealdb::Error> for StoreError {
    fn from(e: surrealdb::Error) -> Self {
        Self::Db(DbError::from(e))
    }
}

pub struct AccountStore {
    db: Database,
    account_ids: IdSequence,
    token_ids: IdSequence,
    audit_ids: IdSequence,
}

impl AccountStore {
    pub fn new(db: Database) -> Self {
        Self {
            account_ids: IdSequence::new(db.clone(), ACCOUNT_IDS),
            token_ids: IdSequence::new(db.clone(), TOKEN_IDS),
            audit_ids: IdSequence::new(db.clone(), AUDIT_IDS),
            db,
        }
    }

    async fn count(&self, sql: &str) -> Result<u64, StoreError> {
        let mut res = self.db.execute(|client| client.query(sql)).await?;
        let rows: Vec<Count> = res.take(0)?;
        Ok(rows.first().map_or(0, |c| u64::try_from(c.n).unwrap_or(0)))
    }

    pub async fn count_accounts(&self) -> Result<u64, StoreError> {
        self.count("SELECT count() AS n FROM account GROUP ALL")
            .await
    }

    pub async fn count_admins(&self) -> Result<u64, StoreError> {
        self.count("SELECT count() AS n FROM account WHERE role = 'admin' GROUP ALL")
            .await
    }

    /// Creates an account; a name already taken (checked by the unique index,
    /// so two concurrent creates cannot both win) is [`StoreError::NameTaken`].
    pub async fn insert_account(
        &self,
        name: &str,
        role: Role,
        password_hash: String,
    ) -> Result<AccountRow, StoreError> {
        if self.account_by_name(name).await?.is_some() {
            return Err(StoreError::NameTaken(name.to_string()));
        }
        let now = Utc::now();
        let row = AccountRow {
            num: i64::try_from(self.account_ids.next().await?).unwrap_or(i64::MAX),
            name: name.to_string(),
            role: role.as_str().to_string(),
            password_hash,
            created_at: now,
            password_changed_at: now,
        };
        let outcome = self
            .db
            .client()
            .query("CREATE type::record('account', $row.num) CONTENT $row RETURN NONE")
            .bind(("row", row.clone()))
            .await
            .and_then(IndexedResults::check);
        match outcome {
            Ok(_) => Ok(row),
            Err(e) if crate::store::database::is_index_collision(&e) => {
                Err(StoreError::NameTaken(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The first record `sql` answers, with `$key` bound to `key`.
    async fn first<T, K>(&self, sql: &'static str, key: K) -> Result<Option<T>, StoreError>
    where
        T: SurrealValue,
        K: SurrealValue + Clone + Send + Sync + 'static,
    {
        let mut res = self
            .db
            .execute(|client| client.query(sql).bind(("key", key.clone())))
            .await?;
        let rows: Vec<T> = res.take(0)?;
        Ok(rows.into_iter().next())
    }

    pub async fn account_by_name(&self, name: &str) -> Result<Option<AccountRow>, StoreError> {
        self.first(
            "SELECT * OMIT id FROM account WHERE name = $key LIMIT 1",
            name.to_string(),
        )
        .await
    }

    pub async fn account(&self, id: u64) -> Result<Option<AccountRow>, StoreError> {
        let Ok(num) = i64::try_from(id) else {
            return Ok(None);
        };
        self.first("SELECT * OMIT id FROM type::record('account', $key)", num)
            .await
    }

    pub async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let mut res = self
            .db
            .execute(|client| client.query("SELECT * OMIT id FROM account ORDER BY id"))
            .await?;
        Ok(res.take(0)?)
    }

    pub async fn set_role(&self, id: i64, role: Role) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query("UPDATE type::record('account', $id) SET role = $role RETURN NONE")
                    .bind(("id", id))
                    .bind(("role", role.as_str().to_string()))
            })
            .await?;
        Ok(())
    }

    /// Sets a new password hash and ends every session of the account, in one
    /// transaction: a stolen session dies with the old password.
    pub async fn set_password(&self, id: i64, password_hash: String) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query(
                        "BEGIN TRANSACTION;
                         UPDATE type::record('account', $id)
                             SET password_hash = $hash, password_changed_at = time::now() RETURN NONE;
                         DELETE account_session WHERE account = $id RETURN NONE;
                         COMMIT TRANSACTION;",
                    )
                    .bind(("id", id))
                    .bind(("hash", password_hash.clone()))
            })
            .await?;
        Ok(())
    }

    /// Deletes an account with its sessions and tokens.
    pub async fn delete_account(&self, id: i64) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query(
                        "BEGIN TRANSACTION;
                         DELETE account_session WHERE account = $id RETURN NONE;
                         DELETE api_token WHERE account = $id RETURN NONE;
                         DELETE type::record('account', $id) RETURN NONE;
                         COMMIT TRANSACTION;",
                    )
                    .bind(("id", id))
            })
            .await?;
        Ok(())
    }

    pub async fn insert_session(&self, key: &str, row: SessionRow) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query("CREATE type::record('account_session', $key) CONTENT $row RETURN NONE")
                    .bind(("key", key.to_string()))
                    .bind(("row", row.clone()))
            })
            .await?;
        Ok(())
    }

    pub async fn session(&self, key: &str) -> Result<Option<SessionRow>, StoreError> {
        self.first(
            "SELECT * OMIT id FROM type::record('account_session', $key)",
            key.to_string(),
        )
        .await
    }

    pub async fn touch_session(&self, key: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query("UPDATE type::record('account_session', $key) SET last_seen_at = $now RETURN NONE")
                    .bind(("key", key.to_string()))
                    .bind(("now", now))
            })
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, key: &str) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query("DELETE type::record('account_session', $key) RETURN NONE")
                    .bind(("key", key.to_string()))
            })
            .await?;
        Ok(())
    }

    /// Deletes sessions past their absolute end or idle since before `idle_before`.
    pub async fn delete_expired_sessions(
        &self,
        now: DateTime<Utc>,
        idle_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query(
                        "DELETE account_session WHERE expires_at <= $now OR last_seen_at < $idle RETURN NONE",
                    )
                    .bind(("now", now))
                    .bind(("idle", idle_before))
            })
            .await?;
        Ok(())
    }

    pub async fn insert_token(
        &self,
        digest: String,
        name: &str,
        role: Role,
        account: i64,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<TokenRow, StoreError> {
        let row = TokenRow {
            num: i64::try_from(self.token_ids.next().await?).unwrap_or(i64::MAX),
            digest,
            name: name.to_string(),
            role: role.as_str().to_string(),
            account,
            created_at: Utc::now(),
            expires_at,
            last_used_at: None,
        };
        self.db
            .execute(|client| {
                client
                    .query("CREATE type::record('api_token', $row.num) CONTENT $row RETURN NONE")
                    .bind(("row", row.clone()))
            })
            .await?;
        Ok(row)
    }

    pub async fn token_by_digest(&self, digest: &str) -> Result<Option<TokenRow>, StoreError> {
        self.first(
            "SELECT * OMIT id FROM api_token WHERE digest = $key LIMIT 1",
            digest.to_string(),
        )
        .await
    }

    pub async fn token(&self, id: u64) -> Result<Option<TokenRow>, StoreError> {
        let Ok(num) = i64::try_from(id) else {
            return Ok(None);
        };
        self.first("SELECT * OMIT id FROM type::record('api_token', $key)", num)
            .await
    }

    /// Every token, or one account's, oldest first.
    pub async fn tokens(&self, account: Option<i64>) -> Result<Vec<TokenRow>, StoreError> {
        let mut res = self
            .db
            .execute(|client| match account {
                Some(id) => client
                    .query("SELECT * OMIT id FROM api_token WHERE account = $id ORDER BY num")
                    .bind(("id", id)),
                None => client.query("SELECT * OMIT id FROM api_token ORDER BY num"),
            })
            .await?;
        Ok(res.take(0)?)
    }

    pub async fn touch_token(&self, num: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query("UPDATE type::record('api_token', $num) SET last_used_at = $now RETURN NONE")
                    .bind(("num", num))
                    .bind(("now", now))
            })
            .await?;
        Ok(())
    }

    pub async fn delete_token(&self, num: i64) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query("DELETE type::record('api_token', $num) RETURN NONE")
                    .bind(("num", num))
            })
            .await?;
        Ok(())
    }

    pub async fn insert_audit(
        &self,
        actor: String,
        address: String,
        action: &str,
        target: String,
        detail: String,
    ) -> Result<(), StoreError> {
        let row = AuditRow {
            num: i64::try_from(self.audit_ids.next().await?).unwrap_or(i64::MAX),
            at: Utc::now(),
            actor,
            address,
            action: action.to_string(),
            target,
            detail,
        };
        self.db
            .execute(|client| {
                client
                    .query("CREATE type::record('audit_event', $row.num) CONTENT $row RETURN NONE")
                    .bind(("row", row.clone()))
            })
            .await?;
        Ok(())
    }

    /// A page of audit events, newest first, optionally of one action prefix
    /// (`workload.`) or one actor; and how many match.
    pub async fn audit(
        &self,
        action_prefix: Option<String>,
        actor: Option<String>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<AuditRow>, u64), StoreError> {
        let condition = "($prefix = NONE OR string::starts_with(action, $prefix)) \
                         AND ($actor = NONE OR actor = $actor)";
        let sql = format!(
            "SELECT * OMIT id FROM audit_event WHERE {condition} ORDER BY num DESC LIMIT $limit START $offset;
             SELECT count() AS n FROM audit_event WHERE {condition} GROUP ALL;"
        );
        let mut res = self
            .db
            .execute(|client| {
                client
                    .query(sql.clone())
                    .bind(("prefix", action_prefix.clone()))
                    .bind(("actor", actor.clone()))
                    .bind(("limit", i64::try_from(limit).unwrap_or(i64::MAX)))
                    .bind(("offset", i64::try_from(offset).unwrap_or(i64::MAX)))
            })
            .await?;
        let rows: Vec<AuditRow> = res.take(0)?;
        let total: Vec<Count> = res.take(1)?;
        Ok((
            rows,
            total.first().map_or(0, |c| u64::try_from(c.n).unwrap_or(0)),
        ))
    }

    /// Deletes audit events older than `before`.
    pub async fn delete_audit_before(&self, before: DateTime<Utc>) -> Result<(), StoreError> {
        self.db
            .execute(|client| {
                client
                    .query("DELETE audit_event WHERE at < $before RETURN NONE")
                    .bind(("before", before))
            })
            .await?;
        Ok(())
    }
}
