// Package ops is the operations behind the admin API and the console:
// truststores (create, read, change, delete, and versions built by
// inheritance from the latest one, linted by trust), client certificates
// (generated with their key sealed through the keyring, self-signed or
// issued by a certgate CA; read, change, delete refused while a stage
// presents one), domains (their keys sealed) and their base-path
// mappings, APIs with their integrations, routes and stages (deletes and
// renames refused while something uses them), authorizers (deletes
// refused while a route names one, renames carried to the routes), the
// declarative configuration (export, apply with a dry run) and the audit
// listing, over store transactions. Services holds them all, built once. Reads
// answer with the wire views of internal/api.
//
// Every write is one store transaction, run through Options.Update so the
// caller can check the candidate configuration in the same transaction
// (validation, the audit's actor, the node's reload). Refusals are *Error
// values (the CA life cycle's type: one error type for all operations)
// with a Kind, a stable Code, field paths and the objects in the way;
// request JSON that does not decode is a *config.JSONError. The package
// speaks no HTTP: the admin API and the console call the same operations
// and map the errors to what they show. It stays independent of the
// gateway and the node.
package ops
