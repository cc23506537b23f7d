-- 0001: the configuration store (contract: internal/store/store.go).
--
-- Times are INTEGER microseconds since the Unix epoch (UTC), always passed
-- in by the application: the database clock decides nothing. Bodies are
-- JSON kept byte for byte as BLOBs. IDs compare bytewise (BINARY), which is
-- the order List pages in.

-- The revision counter: one row, bumped by exactly one inside every
-- writing transaction (never an autoincrement, so revisions commit in order
-- and have no gaps).
CREATE TABLE config_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL CHECK (rev >= 0)
) STRICT;
INSERT INTO config_head (id, rev) VALUES (1, 0);

-- The desired configuration: one row per object. parent is NULL for a
-- top-level object.
CREATE TABLE config_objects (
    id         TEXT    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    parent     TEXT    REFERENCES config_objects (id),
    name       TEXT    NOT NULL,
    rev        INTEGER NOT NULL,
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX config_objects_by_kind ON config_objects (kind, id);
CREATE INDEX config_objects_by_parent ON config_objects (parent, kind, id);
-- Names are unique per kind and parent; '' names are not checked.
CREATE UNIQUE INDEX config_objects_name
    ON config_objects (kind, COALESCE(parent, ''), name) WHERE name <> '';

-- The change log: one row per change, in commit order (rev, seq).
CREATE TABLE config_log (
    rev  INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    kind TEXT    NOT NULL,
    id   TEXT    NOT NULL,
    op   TEXT    NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    at   INTEGER NOT NULL,
    PRIMARY KEY (rev, seq)
) STRICT, WITHOUT ROWID;

-- The audit log: one entry per change, bodies redacted and size-limited;
-- secrets and meta are recorded without their values.
CREATE TABLE audit_log (
    rev         INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor_name  TEXT    NOT NULL,
    actor_via   TEXT    NOT NULL,
    op          TEXT    NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    kind        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    body_before BLOB,
    body_after  BLOB,
    PRIMARY KEY (rev, seq)
) STRICT;
CREATE INDEX audit_log_by_id ON audit_log (id, rev, seq);
CREATE INDEX audit_log_by_kind ON audit_log (kind, rev, seq);

-- Sealed secrets (keyring.Sealed): a data key wrapped by the master key
-- and the secret encrypted with it. owner is NULL for a store-level secret.
CREATE TABLE secrets (
    id          TEXT    NOT NULL PRIMARY KEY,
    owner       TEXT    REFERENCES config_objects (id),
    kek_id      TEXT    NOT NULL,
    wrapped_dek BLOB    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    rev         INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX secrets_by_owner ON secrets (owner);

-- Small store settings (e.g. the master key's check value).
CREATE TABLE meta (
    key        TEXT    NOT NULL PRIMARY KEY,
    value      BLOB    NOT NULL,
    rev        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
