// Package sqlite is the embedded engine of the store contract
// (internal/store): one SQLite database file in a private data directory,
// through the pure-Go driver modernc.org/sqlite (no cgo).
//
// The data directory must be 0700 and the database files 0600: Open
// creates them so whatever the umask, and refuses a directory or file that
// group or others can reach, naming the chmod that fixes it. The database
// runs in WAL mode with foreign keys on and a busy timeout; writers are
// serialised by a lock in the process and by BEGIN IMMEDIATE in the file,
// and the revision is a counter row bumped inside each write transaction.
// The schema is created and upgraded by the embedded migrations/*.sql,
// applied in order and recorded in schema_migrations.
//
// Like the contract, the package knows nothing of the gateway, the admin
// API or the configuration schema; it stores sealed secrets and never
// decrypts them.
package sqlite
