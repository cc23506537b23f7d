-- 0001: the configuration store (contract: internal/store/store.go), the
-- same tables as store/sqlite's 0001_init.sql so both engines run the
-- same statements (internal/store/internal/engine).
--
-- Times are BIGINT microseconds since the Unix epoch (UTC), always passed
-- in by the application: the database clock decides nothing. Bodies are
-- JSON kept byte for byte as BYTEA (jsonb would reformat them). Text
-- columns compared or ordered by the store are COLLATE "C", so IDs
-- compare bytewise, whatever the database's locale: the order List pages
-- in, as in SQLite.

-- The revision counter: one row, bumped by exactly one inside every
-- writing transaction, which holds its row lock (SELECT ... FOR UPDATE)
-- from its start: writers on every node are serialised, revisions commit
-- in order and have no gaps (never a sequence, which can commit out of
-- order and skip values).
CREATE TABLE config_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev BIGINT  NOT NULL CHECK (rev >= 0)
);
INSERT INTO config_head (id, rev) VALUES (1, 0);

-- The desired configuration: one row per object. parent is NULL for a
-- top-level object.
CREATE TABLE config_objects (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kind       TEXT COLLATE "C" NOT NULL,
    parent     TEXT COLLATE "C" REFERENCES config_objects (id),
    name       TEXT COLLATE "C" NOT NULL,
    rev        BIGINT NOT NULL,
    body       BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX config_objects_by_kind ON config_objects (kind, id);
CREATE INDEX config_objects_by_parent ON config_objects (parent, kind, id);
-- Names are unique per kind and parent; '' names are not checked.
CREATE UNIQUE INDEX config_objects_name
    ON config_objects (kind, COALESCE(parent, ''), name) WHERE name <> '';

-- The change log: one row per change, in commit order (rev, seq).
CREATE TABLE config_log (
    rev  BIGINT NOT NULL,
    seq  BIGINT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    id   TEXT COLLATE "C" NOT NULL,
    op   TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    at   BIGINT NOT NULL,
    PRIMARY KEY (rev, seq)
);

-- The audit log: one entry per change, bodies redacted and size-limited;
-- secrets and meta are recorded without their values.
CREATE TABLE audit_log (
    rev         BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    actor_name  TEXT   NOT NULL,
    actor_via   TEXT   NOT NULL,
    op          TEXT   NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    kind        TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    name        TEXT   NOT NULL,
    body_before BYTEA,
    body_after  BYTEA,
    PRIMARY KEY (rev, seq)
);
CREATE INDEX audit_log_by_id ON audit_log (id, rev, seq);
CREATE INDEX audit_log_by_kind ON audit_log (kind, rev, seq);

-- Sealed secrets (keyring.Sealed): a data key wrapped by the master key
-- and the secret encrypted with it. owner is NULL for a store-level secret.
CREATE TABLE secrets (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    owner       TEXT COLLATE "C" REFERENCES config_objects (id),
    kek_id      TEXT   NOT NULL,
    wrapped_dek BYTEA  NOT NULL,
    ciphertext  BYTEA  NOT NULL,
    rev         BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX secrets_by_owner ON secrets (owner);

-- Small store settings (e.g. the master key's check value).
CREATE TABLE meta (
    key        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value      BYTEA  NOT NULL,
    rev        BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
