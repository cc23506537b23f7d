// Package postgres is the shared engine of the store contract
// (internal/store): the configuration of several gateway nodes in one
// PostgreSQL database, through pgx v5 (a pgxpool behind database/sql for
// the statements, one dedicated connection per Store for LISTEN).
//
// It runs the very statements of store/sqlite (package
// store/internal/engine), so both engines return the same objects,
// times, cursors and audit bodies. Writers on every node are serialised
// by the row lock of config_head (SELECT ... FOR UPDATE at the start of
// each Update): revisions commit in order, without gaps, and no update is
// lost. A View is a REPEATABLE READ, READ ONLY transaction. Each commit
// sends NOTIFY certgate_config inside its transaction (delivered at
// commit); every Store listens and, as a backstop for a notification
// missed while its listener reconnects, reads the revision every
// PollInterval, so Watch reports commits made by any node. The schema is
// created and upgraded by the embedded migrations/*.sql in one
// transaction under an advisory lock, so nodes starting at once do not
// race.
//
// Like the contract, the package knows nothing of the gateway, the admin
// API or the configuration schema; it stores sealed secrets and never
// decrypts them. Errors and logs name the database by host, port and
// name, never with its password.
package postgres
