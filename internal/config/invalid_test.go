package config

import (
	"errors"
	"strings"
	"testing"
)

// validBase is a small valid configuration that the invalid cases edit.
const validBase = `listeners:
  - address: 127.0.0.1:8443
    defaultDomain: api.example.com
domains:
  - hosts: [api.example.com, "*.api.example.com"]
    certificate:
      certFile: server.pem
      keyFile: server.key
    clientAuth:
      mode: verify
      truststore: partners
    mappings:
      - basePath: /
        api: orders
  - hosts: [www.example.com]
    certificate: {certFile: www.pem, keyFile: www.key}
    mappings: [{api: orders}]
truststores:
  - name: partners
    caFiles: [ca.pem]
apis:
  - name: orders
    integrations:
      - name: backend
        url: https://backend.internal
    routes:
      - method: GET
        path: /widgets/{id}
`

// edit replaces the single occurrence of old in s with new. It panics when
// old does not occur exactly once, so that a case cannot silently test the
// valid base.
func edit(s, old, new string) string {
	if n := strings.Count(s, old); n != 1 {
		panic("edit: " + old + " occurs " + string(rune('0'+n)) + " times")
	}
	return strings.Replace(s, old, new, 1)
}

type invalidCase struct {
	name  string
	input string
	path  string // the exact path of the expected problem
	msg   string // a substring of its message
}

// authJWT is a valid JWT authorizer named partners-jwt.
const authJWT = "authorizers:\n  - name: partners-jwt\n    jwt: {issuer: \"https://issuer.example\", audiences: [orders], jwksUrl: \"https://issuer.example/jwks.json\"}\n"

var invalidCases = []invalidCase{
	// Authorizers (issue 14).
	{"authorizer unknown", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        authorizer: partners-jtw") + authJWT, "apis[0].routes[0].authorizer", `no authorizer named "partners-jtw"; did you mean "partners-jwt"?`},
	{"authorizer neither kind", validBase + "authorizers:\n  - name: a\n", "authorizers[0]", "set one of jwt"},
	{"authorizer both kinds", validBase + "authorizers:\n  - name: a\n    jwt: {issuer: i, audiences: [x], jwksUrl: \"https://i.example/k\"}\n    http: {url: \"https://a.example\"}\n", "authorizers[0]", "not both"},
	{"authorizer duplicate", validBase + "authorizers:\n" + strings.Repeat(strings.TrimPrefix(authJWT, "authorizers:\n"), 2), "authorizers[1].name", "duplicate authorizer name"},
	{"authorizer alg none", validBase + "authorizers:\n  - name: a\n    jwt: {issuer: i, audiences: [x], jwksUrl: \"https://i.example/k\", algorithms: [none]}\n", "authorizers[0].jwt.algorithms[0]", "none"},
	{"authorizer HS256", validBase + "authorizers:\n  - name: a\n    jwt: {issuer: i, audiences: [x], jwksUrl: \"https://i.example/k\", algorithms: [HS256]}\n", "authorizers[0].jwt.algorithms[0]", "HS"},
	{"authorizer no issuer", validBase + "authorizers:\n  - name: a\n    jwt: {audiences: [x], jwksUrl: \"https://i.example/k\"}\n", "authorizers[0].jwt.issuer", "required"},
	{"authorizer clock skew", validBase + "authorizers:\n  - name: a\n    jwt: {issuer: i, audiences: [x], jwksUrl: \"https://i.example/k\", clockSkew: 1h}\n", "authorizers[0].jwt.clockSkew", ""},
	{"authorizer http plain", validBase + "authorizers:\n  - name: a\n    http: {url: \"http://a.example\"}\n", "authorizers[0].http.url", "https"},
	{"scopes without authorizer", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        scopes: [widgets:read]"), "apis[0].routes[0].scopes", "name one in authorizer"},
	{"scopes with http authorizer", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        authorizer: a\n        scopes: [widgets:read]") + "authorizers:\n  - name: a\n    http: {url: \"https://a.example\"}\n", "apis[0].routes[0].scopes", "not a JWT authorizer"},
	{"scope with a space", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        authorizer: partners-jwt\n        scopes: [\"a b\"]") + authJWT, "apis[0].routes[0].scopes[0]", "is not a scope"},
	{"identity header reserved", edit(validBase, "    routes:\n", "    identityHeaders: {Host: x}\n    routes:\n"), "apis[0].identityHeaders", "Host"},
	{"identity header bad template", edit(validBase, "    routes:\n", "    identityHeaders: {X-User: \"{{ .Claims.sub \"}\n    routes:\n"), "apis[0].identityHeaders", ""},
	{"inline jwks not JSON-able", validBase + "authorizers:\n  - name: a\n    jwt: {issuer: i, audiences: [x], jwks: {keys: [.inf]}}\n", "authorizers[0].jwt.jwks.keys[0]", "JSON value"},
	// Decoding: unknown fields at several depths, wrong kinds, YAML itself.
	{"unknown top-level field", validBase + "listener: []\n", "listener", `unknown field; did you mean "listeners"?`},
	{"unknown field without suggestion", validBase + "frobnicate: 1\n", "frobnicate", "unknown field; the fields here are listeners, metrics"},
	{"unknown field case", edit(validBase, "clientAuth:", "clientauth:"), "domains[0].clientauth", `did you mean "clientAuth"?`},
	{"unknown field in listener", edit(validBase, "defaultDomain:", "defaultDomian:"), "listeners[0].defaultDomian", `did you mean "defaultDomain"?`},
	{"unknown field in rule subject", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{subject: {cn: x}}]"), "apis[0].routes[0].allow[0].subject.cn", `did you mean "CN"?`},
	{"unknown field in rule", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{sanDns: a.example}]"), "apis[0].routes[0].allow[0].sanDns", `did you mean "sanDNS"?`},
	{"unknown field in deny list", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem]\n    deny: {serial: [01]}"), "truststores[0].deny.serial", `did you mean "serials"?`},
	{"string expected, got list", edit(validBase, "address: 127.0.0.1:8443", "address: [127.0.0.1:8443]"), "listeners[0].address", "expected a string, got a list"},
	{"list expected, got string", edit(validBase, "hosts: [www.example.com]", "hosts: www.example.com"), "domains[1].hosts", `expected a list, got the string "www.example.com"`},
	{"mapping expected, got list", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: [www.pem]"), "domains[1].certificate", "expected a mapping"},
	{"integer expected", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem]\n    maxChainDepth: four"), "truststores[0].maxChainDepth", `expected an integer, got the string "four"`},
	{"boolean expected", edit(validBase, "mode: verify", "mode: verify\n      advertiseCANames: \"true\""), "domains[0].clientAuth.advertiseCANames", "expected true or false"},
	{"null list element", edit(validBase, "hosts: [www.example.com]", "hosts: [www.example.com, ~]"), "domains[1].hosts[1]", "expected a string, got an empty value"},
	{"bad duration", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: api.example.com\n    timeouts: {handshake: 10 sec}"), "listeners[0].timeouts.handshake", `"10 sec" is not a duration`},
	{"duration without unit", edit(validBase, "url: https://backend.internal", "url: https://backend.internal\n        timeout: \"30\""), "apis[0].integrations[0].timeout", `add a unit, like "30s"`},
	{"fractional seconds", edit(validBase, "url: https://backend.internal", "url: https://backend.internal\n        timeout: 1.5"), "apis[0].integrations[0].timeout", "expected a duration"},
	{"duplicate key", edit(validBase, "keyFile: server.key", "keyFile: server.key\n      keyFile: other.key"), "", `line 9: key "keyFile" is set twice`},
	{"YAML syntax error keeps the line", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem"), "", "YAML: line"},
	{"two documents", validBase + "---\nlisteners: []\n", "", "more than one YAML document"},

	// Listeners.
	{"no listeners", edit(validBase, "listeners:\n  - address: 127.0.0.1:8443\n    defaultDomain: api.example.com\n", "listeners: []\n"), "listeners", "at least one listener is required"},
	{"address missing", edit(validBase, "address: 127.0.0.1:8443", "address: \"\""), "listeners[0].address", "required"},
	{"address without port", edit(validBase, "address: 127.0.0.1:8443", "address: 127.0.0.1"), "listeners[0].address", "is not host:port"},
	{"address with host name", edit(validBase, "address: 127.0.0.1:8443", "address: gateway.example:8443"), "listeners[0].address", `host "gateway.example" must be an IP address, "localhost" or empty`},
	{"port out of range", edit(validBase, "address: 127.0.0.1:8443", "address: 127.0.0.1:65536"), "listeners[0].address", `port "65536" must be a number from 0 to 65535`},
	{"duplicate listener address", edit(validBase, "    defaultDomain: api.example.com\n", "    defaultDomain: api.example.com\n  - address: 127.0.0.1:8443\n"), "listeners[1].address", "already used by listeners[0].address"},
	{"default domain not listed", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: nowhere.example.com"), "listeners[0].defaultDomain", `no domain lists the host "nowhere.example.com"`},
	{"default domain only under a wildcard", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: a.api.example.com"), "listeners[0].defaultDomain", "wildcards do not count"},
	{"default domain is a wildcard", edit(validBase, "defaultDomain: api.example.com", `defaultDomain: "*.api.example.com"`), "listeners[0].defaultDomain", "is a wildcard"},
	{"weaker default", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: www.example.com"), "listeners[0].defaultDomain", "has clientAuth.mode off, weaker than verify of domains[0]"},
	{"allowWeakerDefault without default", edit(validBase, "    defaultDomain: api.example.com\n", "    allowWeakerDefault: true\n"), "listeners[0].allowWeakerDefault", "no effect without defaultDomain"},
	{"negative timeout", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: api.example.com\n    timeouts: {idle: -5s}"), "listeners[0].timeouts.idle", "-5s is negative"},
	{"proxy protocol without from", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: api.example.com\n    proxyProtocol: {}"), "listeners[0].proxyProtocol.from", "required"},
	{"proxy protocol from an address", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: api.example.com\n    proxyProtocol: {from: [10.0.0.0/24, 10.0.0.7]}"), "listeners[0].proxyProtocol.from[1]", "did you mean 10.0.0.7/32?"},
	{"proxy protocol from host bits", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: api.example.com\n    proxyProtocol: {from: [10.0.0.7/24]}"), "listeners[0].proxyProtocol.from[0]", "did you mean 10.0.0.0/24 or 10.0.0.7/32?"},
	{"proxy protocol from a name", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: api.example.com\n    proxyProtocol: {from: [lb.example.com]}"), "listeners[0].proxyProtocol.from[0]", "is not a CIDR prefix"},
	{"max header bytes too small", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: api.example.com\n    maxHeaderBytes: 1024"), "listeners[0].maxHeaderBytes", "1024 is out of range: 4096 to 1048576"},

	// Metrics and log.
	{"metrics on all interfaces", validBase + "metrics: {address: \":9100\"}\n", "metrics.address", "reachable from other machines"},
	{"metrics on a public address", validBase + "metrics: {address: \"192.0.2.1:9100\"}\n", "metrics.address", "allowNonLoopback: true"},
	{"log level", validBase + "log: {level: verbose}\n", "log.level", `"verbose" is not a level`},

	// Domains.
	{"no hosts", edit(validBase, "hosts: [www.example.com]", "hosts: []"), "domains[1].hosts", "at least one host"},
	{"bad host pattern", edit(validBase, "hosts: [www.example.com]", `hosts: ["w*.example.com"]`), "domains[1].hosts[0]", `"*" is allowed only as the whole leftmost label`},
	{"bad host name", edit(validBase, "hosts: [www.example.com]", "hosts: [www..example.com]"), "domains[1].hosts[0]", "empty label"},
	{"duplicate host across domains", edit(validBase, "hosts: [www.example.com]", "hosts: [www.example.com, api.example.com]"), "domains[1].hosts[1]", `"api.example.com" is already listed as "api.example.com" by domains[0].hosts[0]`},
	{"duplicate host across domains, case", edit(validBase, "hosts: [www.example.com]", "hosts: [API.Example.COM]"), "domains[1].hosts[0]", "by domains[0].hosts[0]; a host belongs to one domain"},
	{"duplicate host across domains, trailing dot", edit(validBase, "hosts: [www.example.com]", "hosts: [api.example.com.]"), "domains[1].hosts[0]", "by domains[0].hosts[0]"},
	{"duplicate wildcard across domains", edit(validBase, "hosts: [www.example.com]", `hosts: ["*.API.example.com."]`), "domains[1].hosts[0]", "by domains[0].hosts[1]"},
	{"duplicate host within a domain", edit(validBase, "hosts: [www.example.com]", "hosts: [www.example.com, WWW.example.com]"), "domains[1].hosts[1]", "listed twice in this domain"},
	{"missing cert file", edit(validBase, "certFile: server.pem", `certFile: ""`), "domains[0].certificate.certFile", "required"},
	{"PEM instead of a path", edit(validBase, "keyFile: server.key", "keyFile: \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\""), "domains[0].certificate.keyFile", "looks like PEM data"},
	{"PEM where a mapping belongs", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\""), "domains[1].certificate", "got the string (PEM data, not shown)"},
	{"missing key file", edit(validBase, "{certFile: www.pem, keyFile: www.key}", "{certFile: www.pem}"), "domains[1].certificate.keyFile", "required"},
	{"TLS version", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: {certFile: www.pem, keyFile: www.key}\n    tls: {minVersion: \"1.1\"}"), "domains[1].tls.minVersion", `"1.1" is not supported`},
	{"cipher suite unknown", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: {certFile: www.pem, keyFile: www.key}\n    tls: {cipherSuites: [ECDHE-ECDSA-AES128-SHA, TLS_FOO]}"), "domains[1].tls.cipherSuites[1]", `"TLS_FOO" is not a cipher suite certgate supports: use an IANA or OpenSSL name`},
	{"cipher suite TLS 1.3", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: {certFile: www.pem, keyFile: www.key}\n    tls: {cipherSuites: [TLS_AES_128_GCM_SHA256]}"), "domains[1].tls.cipherSuites[0]", `"TLS_AES_128_GCM_SHA256" is a TLS 1.3 suite`},
	{"cipher suite insecure", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: {certFile: www.pem, keyFile: www.key}\n    tls: {cipherSuites: [TLS_RSA_WITH_AES_128_CBC_SHA]}"), "domains[1].tls.cipherSuites[0]", `"TLS_RSA_WITH_AES_128_CBC_SHA" is insecure`},
	{"cipher suite insecure CBC-SHA256", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: {certFile: www.pem, keyFile: www.key}\n    tls: {cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256]}"), "domains[1].tls.cipherSuites[0]", "is insecure"},
	{"cipher suites empty", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: {certFile: www.pem, keyFile: www.key}\n    tls: {cipherSuites: []}"), "domains[1].tls.cipherSuites", "is empty: leave it out"},
	{"cipher suite twice", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: {certFile: www.pem, keyFile: www.key}\n    tls: {cipherSuites: [ECDHE-ECDSA-AES128-SHA, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA]}"), "domains[1].tls.cipherSuites[1]", "listed twice (also as domains[1].tls.cipherSuites[0])"},
	{"cipher suites with TLS 1.3 only", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: {certFile: www.pem, keyFile: www.key}\n    tls: {minVersion: \"1.3\", cipherSuites: [ECDHE-ECDSA-AES128-SHA]}"), "domains[1].tls.cipherSuites", "has no effect with minVersion \"1.3\""},
	{"unknown mode", edit(validBase, "mode: verify", "mode: required"), "domains[0].clientAuth.mode", `"required" is not a mode`},
	{"mode is case-sensitive", edit(validBase, "mode: verify", "mode: Verify"), "domains[0].clientAuth.mode", "is not a mode"},
	{"truststore reference", edit(validBase, "truststore: partners", "truststore: partnres"), "domains[0].clientAuth.truststore", `no truststore named "partnres"`},
	{"truststore required for verify", edit(validBase, "mode: verify\n      truststore: partners", "mode: verify"), "domains[0].clientAuth.truststore", "required with mode verify"},
	{"truststore required for optional", edit(validBase, "mode: verify\n      truststore: partners", "mode: optional"), "domains[0].clientAuth.truststore", "required with mode optional"},
	{"truststore forbidden for off", edit(validBase, "{certFile: www.pem, keyFile: www.key}", "{certFile: www.pem, keyFile: www.key}\n    clientAuth: {truststore: partners}"), "domains[1].clientAuth.truststore", "not allowed with mode off"},
	{"failure response", edit(validBase, "mode: verify", "mode: verify\n      failureResponse: html"), "domains[0].clientAuth.failureResponse", `"html" is not supported`},
	{"advertise without truststore", edit(validBase, "{certFile: www.pem, keyFile: www.key}", "{certFile: www.pem, keyFile: www.key}\n    clientAuth: {mode: passthrough, advertiseCANames: true}"), "domains[1].clientAuth.advertiseCANames", "needs a truststore"},
	{"unknown dialect", edit(validBase, "      truststore: partners\n", "      truststore: partners\n    headers: {dialects: [rfc9440, envoy]}\n"), "domains[0].headers.dialects[1]", `"envoy" is not a dialect`},
	{"duplicate dialect", edit(validBase, "      truststore: partners\n", "      truststore: partners\n    headers: {dialects: [xfcc, alb, xfcc]}\n"), "domains[0].headers.dialects[2]", "already listed as dialects[0]"},
	{"none with a dialect", edit(validBase, "      truststore: partners\n", "      truststore: partners\n    headers: {dialects: [rfc9440, none]}\n"), "domains[0].headers.dialects[1]", "list it alone"},
	{"empty dialects", edit(validBase, "      truststore: partners\n", "      truststore: partners\n    headers: {dialects: []}\n"), "domains[0].headers.dialects", "list at least one"},
	{"bad strip header", edit(validBase, "      truststore: partners\n", "      truststore: partners\n    headers: {strip: [X-Ok, \"X Bad\"]}\n"), "domains[0].headers.strip[1]", "invalid header name"},
	{"mapping API reference", edit(validBase, "mappings: [{api: orders}]", "mappings: [{api: order}]"), "domains[1].mappings[0].api", `no API named "order"`},
	{"mapping API missing", edit(validBase, "mappings: [{api: orders}]", "mappings: [{basePath: /x}]"), "domains[1].mappings[0].api", "required"},
	{"base path trailing slash", edit(validBase, "mappings: [{api: orders}]", "mappings: [{basePath: /v1/, api: orders}]"), "domains[1].mappings[0].basePath", `must not end with "/"`},
	{"base path template", edit(validBase, "mappings: [{api: orders}]", "mappings: [{basePath: \"/{v}\", api: orders}]"), "domains[1].mappings[0].basePath", "a base path is literal"},
	{"base path dot segment", edit(validBase, "mappings: [{api: orders}]", "mappings: [{basePath: /a/../b, api: orders}]"), "domains[1].mappings[0].basePath", "segment"},
	{"duplicate base path", edit(validBase, "mappings: [{api: orders}]", "mappings: [{api: orders}, {basePath: /, api: orders}]"), "domains[1].mappings[1].basePath", `"/" is already mapped by mappings[0]`},

	// Truststores.
	{"truststore name", edit(validBase, "name: partners", "name: -partners"), "truststores[0].name", "not a valid name"},
	{"duplicate truststore", validBase[:strings.Index(validBase, "apis:")] + "  - name: partners\n    caFiles: [b.pem]\n" + validBase[strings.Index(validBase, "apis:"):], "truststores[1].name", `duplicate truststore name "partners" (also truststores[0])`},
	{"no CA files", edit(validBase, "caFiles: [ca.pem]", "caFiles: []"), "truststores[0].caFiles", "at least one CA bundle"},
	{"empty CRL path", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem]\n    crlFiles: [\"\"]"), "truststores[0].crlFiles[0]", "required"},
	{"deny serial", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem]\n    deny: {serials: [\"0A:1B\", \"XYZ\"]}"), "truststores[0].deny.serials[1]", "not hexadecimal"},
	{"deny fingerprint", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem]\n    deny: {fingerprints: [\"sha256:abcd\"]}"), "truststores[0].deny.fingerprints[0]", "want 64 hex digits"},
	{"chain depth zero", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem]\n    maxChainDepth: 0"), "truststores[0].maxChainDepth", "0 is out of range: 1 to 10"},
	{"chain depth eleven", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem]\n    maxChainDepth: 11"), "truststores[0].maxChainDepth", "11 is out of range"},
	{"certificate bytes", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem]\n    maxCertificateBytes: 100000"), "truststores[0].maxCertificateBytes", "100000 is out of range: 1024 to 65536"},

	// APIs, integrations, routes.
	{"API name missing", edit(validBase, "  - name: orders\n    integrations:", "  - integrations:"), "apis[0].name", "required"},
	{"duplicate API", validBase + "  - name: orders\n", "apis[1].name", `duplicate API name "orders" (also apis[0])`},
	{"duplicate integration", edit(validBase, "url: https://backend.internal", "url: https://backend.internal\n      - name: backend\n        url: https://b2.internal"), "apis[0].integrations[1].name", "duplicate integration name"},
	{"URL scheme", edit(validBase, "url: https://backend.internal", "url: ftp://backend.internal"), "apis[0].integrations[0].url", "scheme must be http or https"},
	{"URL without host", edit(validBase, "url: https://backend.internal", "url: \"https:///path\""), "apis[0].integrations[0].url", "has no host"},
	{"URL with user info", edit(validBase, "url: https://backend.internal", "url: https://user:pw@backend.internal"), "apis[0].integrations[0].url", "user information"},
	{"URL with query", edit(validBase, "url: https://backend.internal", "url: https://backend.internal/?a=b"), "apis[0].integrations[0].url", "has a query"},
	{"URL with fragment", edit(validBase, "url: https://backend.internal", "url: \"https://backend.internal/#top\""), "apis[0].integrations[0].url", "has a fragment"},
	{"URL missing", edit(validBase, "url: https://backend.internal", "url: \"\""), "apis[0].integrations[0].url", "required"},
	{"integration timeout too long", edit(validBase, "url: https://backend.internal", "url: https://backend.internal\n        timeout: 11m"), "apis[0].integrations[0].timeout", "11m0s is out of range: 1ms to 10m0s"},
	{"integration timeout too short", edit(validBase, "url: https://backend.internal", "url: https://backend.internal\n        timeout: 500us"), "apis[0].integrations[0].timeout", "out of range"},
	{"route path missing", edit(validBase, "path: /widgets/{id}", "integration: backend"), "apis[0].routes[0].path", "required"},
	{"route path template", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id"), "apis[0].routes[0].path", "route template"},
	{"route method with a Unicode letter", edit(validBase, "method: GET", "method: \"\u017fet\""), "apis[0].routes[0].method", "is not an HTTP method"},
	{"localhost with a Unicode letter", edit(validBase, "address: 127.0.0.1:8443", "address: \"localho\u017ft:8443\""), "listeners[0].address", "must be an IP address"},
	{"route method", edit(validBase, "method: GET", "method: \"GE T\""), "apis[0].routes[0].method", `"GE T" is not an HTTP method`},
	{"route integration reference", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        integration: backedn"), "apis[0].routes[0].integration", `no integration named "backedn" in API "orders"`},
	{"route integration required", edit(validBase, "url: https://backend.internal", "url: https://backend.internal\n      - name: other\n        url: https://other.internal"), "apis[0].routes[0].integration", "has 2 integrations, so name the one"},
	{"route without integrations", edit(validBase, "    integrations:\n      - name: backend\n        url: https://backend.internal\n", ""), "apis[0].routes[0].integration", `API "orders" has no integrations`},
	{"duplicate route", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n      - method: get\n        path: /widgets/{name}"), "apis[0].routes[1]", "GET /widgets/{name} duplicates routes[0] (GET /widgets/{id})"},
	{"websocket on a POST route", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n      - {method: POST, path: /events, websocket: true}"), "apis[0].routes[1].websocket", "a WebSocket upgrade is a GET request"},
	{"duplicate ANY route", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n      - path: /{p+}\n      - method: ANY\n        path: /{q+}"), "apis[0].routes[2]", "duplicates routes[1]"},

	// Identity rules.
	{"empty rule", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{}]"), "apis[0].routes[0].allow[0]", "empty rule"},
	{"empty subject", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        deny: [{subject: {}}]"), "apis[0].routes[0].deny[0].subject", "set at least one of CN, O"},
	{"sanIP", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{sanIP: 10.0.0.256}]"), "apis[0].routes[0].allow[0].sanIP", "not an IP address or CIDR"},
	{"sanIP host bits", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{sanIP: 10.1.2.3/8}]"), "apis[0].routes[0].allow[0].sanIP", `did you mean "10.0.0.0/8"?`},
	{"sanDNS", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{sanDNS: \"*..example\"}]"), "apis[0].routes[0].allow[0].sanDNS", "empty label"},
	{"sanURI", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{sanURI: \"/relative/*\"}]"), "apis[0].routes[0].allow[0].sanURI", "URI scheme"},
	{"sanEmail", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{sanEmail: partner.example}]"), "apis[0].routes[0].allow[0].sanEmail", "has no '@'"},
	{"spiffeID prefix", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{spiffeID: \"https://partner.example/*\"}]"), "apis[0].routes[0].allow[0].spiffeID", `must start with "spiffe://"`},
	{"rule serial", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{serial: \"0A:1\"}]"), "apis[0].routes[0].allow[0].serial", "two hex digits"},
	{"rule fingerprint", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        deny: [{fingerprint: \"md5:00\"}]"), "apis[0].routes[0].deny[0].fingerprint", "64 hex digits"},
	{"rule NUL", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n        allow: [{issuer: {CN: \"CA\\0evil\"}}]"), "apis[0].routes[0].allow[0].issuer.CN", "NUL byte"},
}

func TestValidBaseParses(t *testing.T) {
	mustParse(t, validBase)
}

func TestInvalid(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range invalidCases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.input))
			if err == nil {
				t.Fatalf("Parse:\n%s\n= %+v, want an error at %q", tc.input, cfg, tc.path)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error %T (%v), want *ValidationError", err, err)
			}
			if !hasProblem(ve, tc.path, tc.msg) {
				t.Errorf("Parse:\n%s\nerror:\n%v\nwant a problem at %q containing %q", tc.input, err, tc.path, tc.msg)
			}
			for _, p := range ve.Problems {
				if p.Message == "" {
					t.Errorf("problem at %q has no message", p.Path)
				}
				if strings.Contains(p.Message, "MIIE") {
					t.Errorf("problem at %q echoes key material: %s", p.Path, p.Message)
				}
			}
		})
	}
}

// validCases are edits of validBase that must stay valid: the limits of
// what Validate accepts.
var validCases = []struct{ name, input string }{
	{"IPv6 listener", edit(validBase, "address: 127.0.0.1:8443", `address: "[::1]:8443"`)},
	{"localhost listener", edit(validBase, "address: 127.0.0.1:8443", "address: localhost:0")},
	{"all interfaces", edit(validBase, "address: 127.0.0.1:8443", `address: ":443"`)},
	{"no default domain", edit(validBase, "    defaultDomain: api.example.com\n", "")},
	{"default domain in another case", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: API.example.com.")},
	{"weaker default allowed", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: www.example.com\n    allowWeakerDefault: true")},
	{"two listeners", edit(validBase, "    defaultDomain: api.example.com\n", "    defaultDomain: api.example.com\n  - address: 127.0.0.1:9443\n")},
	{"all timeouts", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: api.example.com\n    timeouts: {handshake: 5s, readHeader: 5, read: 0s, write: 1m, idle: 0}\n    maxHeaderBytes: 1048576")},
	{"proxy protocol", edit(validBase, "defaultDomain: api.example.com", "defaultDomain: api.example.com\n    proxyProtocol: {from: [10.0.0.0/24, 192.0.2.7/32, \"2001:db8::/64\"]}")},
	{"metrics on localhost", validBase + "metrics: {address: \"localhost:9100\"}\n"},
	{"metrics on IPv6 loopback", validBase + "metrics: {address: \"[::1]:9100\"}\n"},
	{"metrics anywhere when allowed", validBase + "metrics: {address: \":9100\", allowNonLoopback: true}\n"},
	{"log to a file", validBase + "log: {output: /var/log/certgate.log, level: debug}\n"},
	{"passthrough with truststore", edit(validBase, "mode: verify", "mode: passthrough\n      advertiseCANames: true")},
	{"passthrough without truststore", edit(validBase, "mode: verify\n      truststore: partners", "mode: passthrough")},
	{"optional with HTTP failures", edit(validBase, "mode: verify", "mode: optional\n      failureResponse: http")},
	{"explicit off", edit(validBase, "{certFile: www.pem, keyFile: www.key}", "{certFile: www.pem, keyFile: www.key}\n    clientAuth: {mode: \"off\", failureResponse: handshake}")},
	{"cipher suites by IANA and OpenSSL name, any case", edit(validBase, "certificate: {certFile: www.pem, keyFile: www.key}", "certificate: {certFile: www.pem, keyFile: www.key}\n    tls: {cipherSuites: [ecdhe-rsa-aes256-sha, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ECDHE-ECDSA-CHACHA20-POLY1305]}")},
	{"IP host", edit(validBase, "hosts: [www.example.com]", "hosts: [www.example.com, 127.0.0.1, \"::1\"]")},
	{"nested base paths", edit(validBase, "mappings: [{api: orders}]", "mappings: [{api: orders}, {basePath: /v1, api: orders}, {basePath: /v1/beta, api: orders}]")},
	{"chain depth limits", edit(validBase, "caFiles: [ca.pem]", "caFiles: [ca.pem]\n    maxChainDepth: 10\n    maxCertificateBytes: 65536")},
	{"same template, other methods", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n      - {method: PUT, path: \"/widgets/{name}\"}\n      - {path: \"/widgets/{x}\"}")},
	{"websocket routes", edit(validBase, "path: /widgets/{id}", "path: /widgets/{id}\n      - {method: get, path: /events, websocket: true}\n      - {path: \"/ws/{proxy+}\", websocket: true}")},
	{"default route method and integration", edit(validBase, "      - method: GET\n        path: /widgets/{id}\n", "      - path: /{proxy+}\n")},
	{"http back end with port and IPv6", edit(validBase, "url: https://backend.internal", "url: \"http://[::1]:8080/base/path\"")},
	{"every rule field", edit(validBase, "path: /widgets/{id}", `path: /widgets/{id}
        requireClientCert: true
        allow:
          - subject: {CN: "svc-*", O: Partner Inc, OU: x, C: DE, L: Berlin, ST: Berlin}
            issuer: {CN: Partners CA}
            sanDNS: "*.partner.example"
            sanURI: "spiffe://partner.example/*"
            sanIP: 10.0.0.0/8
            sanEmail: "*@partner.example"
            spiffeID: "spiffe://partner.example/billing/*"
            serial: "0A:1B"
            fingerprint: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        deny:
          - sanIP: "2001:db8::1"`)},
}

func TestValid(t *testing.T) {
	for _, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			mustParse(t, tc.input)
		})
	}
}
