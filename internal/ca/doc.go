// Package ca is the life cycle of certgate's certificate authorities over
// store transactions: it creates root, subordinate and external CAs (the
// key generated here and sealed through the keyring), issues certificates
// from CSRs under pki's policy, revokes them, signs and re-signs CRLs
// (ResignDue, which the node runs on its schedule), and lists what each CA
// issued. Reads answer with the wire views of internal/api.
//
// Every write is one store transaction, run through Options.Update so the
// caller can check the candidate configuration in the same transaction.
// Refusals are *Error values with a Kind (Invalid, NotFound, Conflict,
// PreconditionFailed), a stable Code and field paths; pki's policy
// refusals come wrapped in an Invalid *Error. The package speaks no HTTP
// and knows no transport: the admin API and the console call the same
// operations and map the errors to what they show. It stays independent
// of the gateway and the node.
package ca
