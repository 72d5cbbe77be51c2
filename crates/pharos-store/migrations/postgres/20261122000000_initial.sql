-- Pharos config store, PostgreSQL schema.
-- Timestamps are BIGINT unix nanoseconds (UTC): PostgreSQL TIMESTAMPTZ only keeps microseconds.
-- `project` is '' for global resources so that the unique key also covers them.
-- Names use the "C" collation: byte order for listings (same as SQLite) and index-friendly LIKE.
-- `spec_sealed`: `spec` is base64(nonce || AES-256-GCM ciphertext) instead of JSON. Specs are
-- TEXT, not JSONB, because JSONB would reorder object keys.

CREATE TABLE resources (
    uid            TEXT    NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL COLLATE "C",
    project        TEXT    NOT NULL COLLATE "C",
    name           TEXT    NOT NULL COLLATE "C",
    version        BIGINT  NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    metadata_extra TEXT    NOT NULL,
    spec_sealed    BOOLEAN NOT NULL,
    spec           TEXT    NOT NULL,
    UNIQUE (kind, project, name)
);

CREATE INDEX resources_project ON resources (project);

-- Past states of versioned resources, keyed by the resource's uid (not its name) so that a
-- resource restored from the trash gets its history back and a new one with the same name
-- starts fresh.
CREATE TABLE resource_versions (
    resource_uid   TEXT    NOT NULL,
    version        BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    metadata_extra TEXT    NOT NULL,
    spec_sealed    BOOLEAN NOT NULL,
    spec           TEXT    NOT NULL,
    PRIMARY KEY (resource_uid, version)
);

-- Deleted resources of trashable kinds; at most one entry per (kind, project, name).
CREATE TABLE trash (
    uid            TEXT    NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL COLLATE "C",
    project        TEXT    NOT NULL COLLATE "C",
    name           TEXT    NOT NULL COLLATE "C",
    version        BIGINT  NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    deleted_at     BIGINT  NOT NULL,
    metadata_extra TEXT    NOT NULL,
    spec_sealed    BOOLEAN NOT NULL,
    spec           TEXT    NOT NULL,
    UNIQUE (kind, project, name)
);

CREATE INDEX trash_deleted_at ON trash (deleted_at);
