-- 0002: what nodes share besides the configuration, outside the revision
-- log (contract: internal/store/store.go, Heartbeat and AcquireLease).
-- Times are INTEGER microseconds since the Unix epoch (UTC), passed in by
-- the application.

-- Each node's last heartbeat: its report (JSON) and when it was seen.
CREATE TABLE nodes (
    id      TEXT    NOT NULL PRIMARY KEY,
    body    BLOB    NOT NULL,
    seen_at INTEGER NOT NULL
) STRICT;

-- Leases of work that runs on one node at a time.
CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
