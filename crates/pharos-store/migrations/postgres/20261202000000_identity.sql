-- Identity: the audit trail and the credentials that stand for a user (refresh sessions, API
-- tokens, dashboard share links). Timestamps are BIGINT unix nanoseconds (UTC); 0 = never.

-- Append-only; `seq` orders entries and is the pagination cursor.
CREATE TABLE audit_log (
    seq        BIGSERIAL NOT NULL PRIMARY KEY,
    at         BIGINT  NOT NULL,
    request_id TEXT    NOT NULL,
    actor      TEXT    NOT NULL COLLATE "C",
    action     TEXT    NOT NULL COLLATE "C",
    resource   TEXT    NOT NULL COLLATE "C",
    project    TEXT    NOT NULL COLLATE "C",
    name       TEXT    NOT NULL COLLATE "C",
    result     TEXT    NOT NULL,
    status     BIGINT  NOT NULL,
    client_ip  TEXT    NOT NULL,
    detail     TEXT    NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_project ON audit_log (project, seq);

-- Only the SHA-256 digest of a secret is kept; `id` is its public name.
CREATE TABLE credentials (
    id           TEXT    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL COLLATE "C",
    digest       TEXT    NOT NULL UNIQUE,
    owner        TEXT    NOT NULL COLLATE "C",
    project      TEXT    NOT NULL COLLATE "C",
    target       TEXT    NOT NULL COLLATE "C",
    scope        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    revoked_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL
);

CREATE INDEX credentials_owner ON credentials (kind, owner);
CREATE INDEX credentials_target ON credentials (kind, project, target, created_at);
CREATE INDEX credentials_expires ON credentials (expires_at);
