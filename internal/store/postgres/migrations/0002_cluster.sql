-- 0002: what nodes share besides the configuration, outside the revision
-- log (contract: internal/store/store.go, Heartbeat and AcquireLease);
-- the same tables as store/sqlite's 0002_cluster.sql. Times are BIGINT
-- microseconds since the Unix epoch (UTC), passed in by the application:
-- a lease's expiry is decided by the nodes' clocks, never the database's.

-- Each node's last heartbeat: its report (JSON, byte for byte) and when
-- it was seen.
CREATE TABLE nodes (
    id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    body    BYTEA  NOT NULL,
    seen_at BIGINT NOT NULL
);

-- Leases of work that runs on one node at a time.
CREATE TABLE leases (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
