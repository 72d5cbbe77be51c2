-- Pharos config store, SQLite schema.
-- Timestamps are INTEGER unix nanoseconds (UTC): exact, sortable, identical on both engines.
-- `project` is '' for global resources so that the unique key also covers them.
-- `spec` is the last column so that metadata-only reads never touch its overflow pages.
-- `spec_sealed` = 1: `spec` is base64(nonce || AES-256-GCM ciphertext) instead of JSON.

CREATE TABLE resources (
    uid            TEXT    NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL,
    project        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    metadata_extra TEXT    NOT NULL,
    spec_sealed    INTEGER NOT NULL,
    spec           TEXT    NOT NULL,
    UNIQUE (kind, project, name)
);

CREATE INDEX resources_project ON resources (project);

-- Past states of versioned resources, keyed by the resource's uid (not its name) so that a
-- resource restored from the trash gets its history back and a new one with the same name
-- starts fresh.
CREATE TABLE resource_versions (
    resource_uid   TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    metadata_extra TEXT    NOT NULL,
    spec_sealed    INTEGER NOT NULL,
    spec           TEXT    NOT NULL,
    PRIMARY KEY (resource_uid, version)
);

-- Deleted resources of trashable kinds; at most one entry per (kind, project, name).
CREATE TABLE trash (
    uid            TEXT    NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL,
    project        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER NOT NULL,
    metadata_extra TEXT    NOT NULL,
    spec_sealed    INTEGER NOT NULL,
    spec           TEXT    NOT NULL,
    UNIQUE (kind, project, name)
);

CREATE INDEX trash_deleted_at ON trash (deleted_at);
