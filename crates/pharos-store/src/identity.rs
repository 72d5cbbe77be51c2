//! The identity tables: the audit trail (append-only, searchable, with a retention purge) and
//! credentials (refresh sessions, API tokens, share links) kept as digests with expiry and
//! revocation. Plain rows with no history or trash, so they bypass the resource machinery;
//! the SQL is the same on both engines (SQLite accepts `$N` placeholders).

use chrono::{DateTime, Utc};

use crate::codec::{from_nanos, to_nanos};
use crate::error::{StoreError, map_insert_error};
use crate::store::{Backend, Store};

/// Largest page of audit entries one call returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// One audited event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log (assigned by the store; ignored on append).
    pub seq: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The request it belongs to (`X-Request-Id`).
    pub request_id: String,
    /// Who: a user name, `share:<id>`, `token:<id>`, or `` for anonymous.
    pub actor: String,
    /// What: `create`, `update`, `delete`, `login`, `share.create`, `share.use`, ...
    pub action: String,
    /// The kind or API area (`Dashboard`, `Session`, `Share`, ...).
    pub resource: String,
    /// Project, or `` for global things.
    pub project: String,
    /// Resource name, or ``.
    pub name: String,
    /// `ok`, `denied` or `failed`.
    pub result: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// The client address.
    pub client_ip: String,
    /// Small JSON object with extra facts (never secrets).
    pub detail: serde_json::Value,
}

/// Filters of an audit search; empty strings and `None` match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Exact actor.
    pub actor: String,
    /// Exact action.
    pub action: String,
    /// Exact resource.
    pub resource: String,
    /// Exact project.
    pub project: String,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// Only entries older than this `seq` (the previous page's cursor).
    pub before_seq: Option<i64>,
    /// Page size (capped at [`MAX_AUDIT_PAGE`]).
    pub limit: u32,
}

/// A page of entries, newest first, with the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// Pass as `before_seq` for the next page; `None` at the end.
    pub next_cursor: Option<i64>,
}

/// What a credential stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A login session (its refresh token).
    Session,
    /// A long-lived API token of a user or service account.
    ApiToken,
    /// A dashboard share link.
    Share,
}

impl CredentialKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::ApiToken => "api_token",
            Self::Share => "share",
        }
    }
}

/// A stored credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Public id.
    pub id: String,
    /// What it is.
    pub kind: CredentialKind,
    /// SHA-256 digest of the secret.
    pub digest: String,
    /// The user it belongs to (for shares: who created it).
    pub owner: String,
    /// Project it is limited to (`` = none).
    pub project: String,
    /// For shares, the dashboard; else ``.
    pub target: String,
    /// Kind-specific JSON: token scope, or a share's variables, range and IP ranges.
    pub scope: serde_json::Value,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry; `None` = never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Last use, if used.
    pub last_used_at: Option<DateTime<Utc>>,
}

fn nanos_or_zero(at: Option<DateTime<Utc>>) -> Result<i64, StoreError> {
    at.map_or(Ok(0), to_nanos)
}

fn optional_time(nanos: i64) -> Option<DateTime<Utc>> {
    (nanos != 0).then(|| from_nanos(nanos))
}

/// A bind value of a dynamically built statement.
enum Bind {
    Text(String),
    Int(i64),
}

/// `sqlx::query($sql)` with every value of `$binds` bound in order.
macro_rules! bound_query {
    ($sql:expr, $binds:expr) => {{
        let mut query = sqlx::query($sql);
        for bind in $binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(int) => query.bind(int),
            };
        }
        query
    }};
}

/// Runs the same statement text on whichever pool the store has: `fetch_all` decodes every
/// row with [`FromAnyRow`], `fetch_count` reads a single `COUNT(*)`, `execute` returns the rows
/// affected. Dynamic statements are wrapped in `AssertSqlSafe` by the callers: they are
/// assembled only from fixed column names and `$N` placeholders; every value is bound.
macro_rules! run {
    ($store:expr, $sql:expr, $binds:expr, $how:ident) => {
        match &$store.backend {
            Backend::Sqlite(pool) => run!(@$how bound_query!($sql, $binds), pool),
            Backend::Postgres(pool) => run!(@$how bound_query!($sql, $binds), pool),
        }
    };
    (@fetch_all $query:expr, $pool:expr) => {
        $query.fetch_all($pool).await.map_err(StoreError::from).and_then(|rows| {
            rows.iter()
                .map(FromAnyRow::from_any_row)
                .collect::<Result<Vec<_>, StoreError>>()
        })
    };
    (@fetch_count $query:expr, $pool:expr) => {
        $query
            .fetch_one($pool)
            .await
            .and_then(|row| sqlx::Row::try_get::<i64, _>(&row, 0))
            .map_err(StoreError::from)
    };
    (@execute $query:expr, $pool:expr) => {
        $query.execute($pool).await.map(|done| done.rows_affected())
    };
}

/// Decoding of one row into `Self`, written once for both engines' row types.
trait FromAnyRow: Sized {
    fn from_any_row<R>(row: &R) -> Result<Self, StoreError>
    where
        R: sqlx::Row,
        for<'c> &'c str: sqlx::ColumnIndex<R>,
        for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
        for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>;
}

fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {err}"))
}

impl FromAnyRow for AuditEntry {
    fn from_any_row<R>(row: &R) -> Result<Self, StoreError>
    where
        R: sqlx::Row,
        for<'c> &'c str: sqlx::ColumnIndex<R>,
        for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
        for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    {
        let detail: String = row.try_get("detail")?;
        let status: i64 = row.try_get("status")?;
        Ok(Self {
            seq: row.try_get("seq")?,
            at: from_nanos(row.try_get("at")?),
            request_id: row.try_get("request_id")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            resource: row.try_get("resource")?,
            project: row.try_get("project")?,
            name: row.try_get("name")?,
            result: row.try_get("result")?,
            status: u16::try_from(status).map_err(|e| corrupt("audit status", e))?,
            client_ip: row.try_get("client_ip")?,
            detail: serde_json::from_str(&detail).map_err(|e| corrupt("audit detail", e))?,
        })
    }
}

impl FromAnyRow for Credential {
    fn from_any_row<R>(row: &R) -> Result<Self, StoreError>
    where
        R: sqlx::Row,
        for<'c> &'c str: sqlx::ColumnIndex<R>,
        for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
        for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    {
        let kind: String = row.try_get("kind")?;
        let kind = match kind.as_str() {
            "session" => CredentialKind::Session,
            "api_token" => CredentialKind::ApiToken,
            "share" => CredentialKind::Share,
            other => return Err(corrupt("credential kind", other)),
        };
        let scope: String = row.try_get("scope")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind,
            digest: row.try_get("digest")?,
            owner: row.try_get("owner")?,
            project: row.try_get("project")?,
            target: row.try_get("target")?,
            scope: serde_json::from_str(&scope).map_err(|e| corrupt("credential scope", e))?,
            created_at: from_nanos(row.try_get("created_at")?),
            expires_at: optional_time(row.try_get("expires_at")?),
            revoked_at: optional_time(row.try_get("revoked_at")?),
            last_used_at: optional_time(row.try_get("last_used_at")?),
        })
    }
}

/// The stored preferences document of a user.
struct PreferencesRow(String);

impl FromAnyRow for PreferencesRow {
    fn from_any_row<R>(row: &R) -> Result<Self, StoreError>
    where
        R: sqlx::Row,
        for<'c> &'c str: sqlx::ColumnIndex<R>,
        for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
        for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    {
        Ok(Self(row.try_get("document")?))
    }
}

const AUDIT_COLUMNS: &str = "seq, at, request_id, actor, action, resource, project, name, result, status, client_ip, detail";
const CREDENTIAL_COLUMNS: &str = "id, kind, digest, owner, project, target, scope, created_at, \
     expires_at, revoked_at, last_used_at";

impl Store {
    /// Appends an audit entry (its `seq` is ignored and assigned).
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let binds = vec![
            Bind::Int(to_nanos(entry.at)?),
            Bind::Text(entry.request_id.clone()),
            Bind::Text(entry.actor.clone()),
            Bind::Text(entry.action.clone()),
            Bind::Text(entry.resource.clone()),
            Bind::Text(entry.project.clone()),
            Bind::Text(entry.name.clone()),
            Bind::Text(entry.result.clone()),
            Bind::Int(i64::from(entry.status)),
            Bind::Text(entry.client_ip.clone()),
            Bind::Text(entry.detail.to_string()),
        ];
        run!(
            self,
            "INSERT INTO audit_log (at, request_id, actor, action, resource, project, name, \
             result, status, client_ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            binds,
            execute
        )?;
        Ok(())
    }

    /// Searches the audit log, newest first.
    pub async fn audit_log(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE 1 = 1");
        let mut binds = Vec::new();
        let mut push = |sql: &mut String, condition: &str, bind: Bind| {
            binds.push(bind);
            sql.push_str(&format!(" AND {condition} ${}", binds.len()));
        };
        for (column, value) in [
            ("actor", &query.actor),
            ("action", &query.action),
            ("resource", &query.resource),
            ("project", &query.project),
        ] {
            if !value.is_empty() {
                push(&mut sql, &format!("{column} ="), Bind::Text(value.clone()));
            }
        }
        if let Some(from) = query.from {
            push(&mut sql, "at >=", Bind::Int(to_nanos(from)?));
        }
        if let Some(to) = query.to {
            push(&mut sql, "at <", Bind::Int(to_nanos(to)?));
        }
        if let Some(before) = query.before_seq {
            push(&mut sql, "seq <", Bind::Int(before));
        }
        let limit = query.limit.clamp(1, MAX_AUDIT_PAGE);
        // One extra row says whether another page exists.
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", limit + 1));
        let mut entries: Vec<AuditEntry> = run!(self, sqlx::AssertSqlSafe(sql), binds, fetch_all)?;
        let next_cursor = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|entry| entry.seq)
        } else {
            None
        };
        Ok(AuditPage {
            entries,
            next_cursor,
        })
    }

    /// Deletes audit entries older than `before`; returns how many.
    pub async fn purge_audit_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let binds = vec![Bind::Int(to_nanos(before)?)];
        Ok(run!(
            self,
            "DELETE FROM audit_log WHERE at < $1",
            binds,
            execute
        )?)
    }

    /// Stores a new credential. `AlreadyExists` when the id or digest is taken.
    pub async fn create_credential(&self, credential: &Credential) -> Result<(), StoreError> {
        let binds = vec![
            Bind::Text(credential.id.clone()),
            Bind::Text(credential.kind.as_str().to_owned()),
            Bind::Text(credential.digest.clone()),
            Bind::Text(credential.owner.clone()),
            Bind::Text(credential.project.clone()),
            Bind::Text(credential.target.clone()),
            Bind::Text(credential.scope.to_string()),
            Bind::Int(to_nanos(credential.created_at)?),
            Bind::Int(nanos_or_zero(credential.expires_at)?),
            Bind::Int(nanos_or_zero(credential.revoked_at)?),
            Bind::Int(nanos_or_zero(credential.last_used_at)?),
        ];
        let inserted: Result<u64, sqlx::Error> = run!(
            self,
            "INSERT INTO credentials (id, kind, digest, owner, project, target, scope, created_at, \
             expires_at, revoked_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            binds,
            execute
        );
        inserted.map(|_| ()).map_err(map_insert_error)
    }

    /// The credential of `kind` with this digest, whatever its state (the caller decides what
    /// expired or revoked means for its answer).
    pub async fn credential_by_digest(
        &self,
        kind: CredentialKind,
        digest: &str,
    ) -> Result<Option<Credential>, StoreError> {
        let sql =
            format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE kind = $1 AND digest = $2");
        let binds = vec![
            Bind::Text(kind.as_str().to_owned()),
            Bind::Text(digest.to_owned()),
        ];
        let rows: Vec<Credential> = run!(self, sqlx::AssertSqlSafe(sql), binds, fetch_all)?;
        Ok(rows.into_iter().next())
    }

    /// Credentials of `kind` owned by `owner` (empty = any) for `project`/`target` (empty =
    /// any), newest first.
    pub async fn list_credentials(
        &self,
        kind: CredentialKind,
        owner: &str,
        project: &str,
        target: &str,
    ) -> Result<Vec<Credential>, StoreError> {
        let mut sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE kind = $1");
        let mut binds = vec![Bind::Text(kind.as_str().to_owned())];
        for (column, value) in [("owner", owner), ("project", project), ("target", target)] {
            if !value.is_empty() {
                binds.push(Bind::Text(value.to_owned()));
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        sql.push_str(" ORDER BY created_at DESC, id");
        Ok(run!(self, sqlx::AssertSqlSafe(sql), binds, fetch_all)?)
    }

    /// How many credentials of `kind` were created for `project`/`target` at or after `since`
    /// (share-link creation limits).
    pub async fn count_credentials_since(
        &self,
        kind: CredentialKind,
        project: &str,
        target: &str,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let binds = vec![
            Bind::Text(kind.as_str().to_owned()),
            Bind::Text(project.to_owned()),
            Bind::Text(target.to_owned()),
            Bind::Int(to_nanos(since)?),
        ];
        let count: i64 = run!(
            self,
            "SELECT COUNT(*) FROM credentials WHERE kind = $1 AND project = $2 AND target = $3 \
             AND created_at >= $4",
            binds,
            fetch_count
        )?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Revokes a credential by id; `false` when there is none of that kind or it was already
    /// revoked.
    pub async fn revoke_credential(
        &self,
        kind: CredentialKind,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let binds = vec![
            Bind::Int(to_nanos(at)?),
            Bind::Text(kind.as_str().to_owned()),
            Bind::Text(id.to_owned()),
        ];
        let changed = run!(
            self,
            "UPDATE credentials SET revoked_at = $1 WHERE kind = $2 AND id = $3 AND revoked_at = 0",
            binds,
            execute
        )?;
        Ok(changed == 1)
    }

    /// Records a use of a credential.
    pub async fn touch_credential(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let binds = vec![Bind::Int(to_nanos(at)?), Bind::Text(id.to_owned())];
        run!(
            self,
            "UPDATE credentials SET last_used_at = $1 WHERE id = $2",
            binds,
            execute
        )?;
        Ok(())
    }

    /// Deletes credentials that expired or were revoked before `before`; returns how many.
    pub async fn purge_credentials_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = to_nanos(before)?;
        let binds = vec![Bind::Int(cutoff)];
        Ok(run!(
            self,
            "DELETE FROM credentials WHERE (expires_at <> 0 AND expires_at < $1) \
             OR (revoked_at <> 0 AND revoked_at < $1)",
            binds,
            execute
        )?)
    }

    /// The preferences document of `user`, `None` when they never saved any.
    pub async fn preferences(&self, user: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let binds = vec![Bind::Text(user.to_owned())];
        let rows: Vec<PreferencesRow> = run!(
            self,
            "SELECT document FROM user_preferences WHERE username = $1",
            binds,
            fetch_all
        )?;
        rows.into_iter()
            .next()
            .map(|row| serde_json::from_str(&row.0).map_err(|e| corrupt("preferences", e)))
            .transpose()
    }

    /// Replaces the preferences document of `user`.
    pub async fn put_preferences(
        &self,
        user: &str,
        document: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let binds = vec![
            Bind::Text(user.to_owned()),
            Bind::Text(document.to_string()),
            Bind::Int(to_nanos(at)?),
        ];
        run!(
            self,
            "INSERT INTO user_preferences (username, document, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (username) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
            binds,
            execute
        )?;
        Ok(())
    }
}
