// Package config is certgate's desired state as data: the declarative
// schema shared by the configuration file, the admin API and the store,
// its strict decoder (Parse, Load) and its semantic checks (Validate).
//
// Decoding is strict: unknown fields, wrong kinds, duplicate keys and
// trailing YAML documents are errors, and every error names the field path
// it is about, such as "domains[1].clientAuth.truststore". Validate then
// reports every semantic problem at once, as a *ValidationError.
//
// DecodeStrictJSON is the one strict JSON decoder of request bodies (the
// admin API's, the console's) into these types and the wire types: the
// same field rules and "did you mean" suggestions as the file decoder,
// as a *JSONError that quotes no value of the input.
//
// Route identity rules are validated here with internal/authz, which
// compiles them (AuthzRules gives them to it) and matches them on the data
// plane.
//
// Config holds only data: it reads no certificate, key or CRL (the gateway
// compiler does) and it does not depend on the gateway, the store or the
// admin API. Only Load touches the file system, and only to read the
// configuration file itself.
package config
