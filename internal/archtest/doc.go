// Package archtest holds the module's architecture checks: one table of
// dependency rules (deps_test.go) that `go list` verifies for every
// package, so the directions DESIGN.md draws (the data plane never
// reaches the store, leaves stay leaves) are tested rather than promised.
// It has no code of its own and imports nothing.
package archtest
