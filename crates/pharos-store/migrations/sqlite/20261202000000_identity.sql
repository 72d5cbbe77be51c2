-- Identity: the audit trail and the credentials that stand for a user (refresh sessions, API
-- tokens, dashboard share links). Timestamps are INTEGER unix nanoseconds (UTC); 0 = never.

-- Append-only; `seq` orders entries and is the pagination cursor.
CREATE TABLE audit_log (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    request_id TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    resource   TEXT    NOT NULL,
    project    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    client_ip  TEXT    NOT NULL,
    detail     TEXT    NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_project ON audit_log (project, seq);

-- Only the SHA-256 digest of a secret is kept; `id` is its public name.
CREATE TABLE credentials (
    id           TEXT    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    digest       TEXT    NOT NULL UNIQUE,
    owner        TEXT    NOT NULL,
    project      TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    scope        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);

CREATE INDEX credentials_owner ON credentials (kind, owner);
CREATE INDEX credentials_target ON credentials (kind, project, target, created_at);
CREATE INDEX credentials_expires ON credentials (expires_at);
