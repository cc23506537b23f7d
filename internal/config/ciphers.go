package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
)

// DefaultCipherSuites returns the TLS 1.2 cipher suites a domain offers
// when its tls.cipherSuites is not set, which the admin API offers too:
// the AEAD suites of Mozilla's "intermediate" profile, ECDHE key exchange
// with AES-GCM or ChaCha20-Poly1305. The CBC suites Go would add are left
// out. TLS 1.3 suites are all AEAD and not configurable in Go. The result
// is a new slice on every call.
func DefaultCipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// ianaName returns the IANA name of a suite CipherSuite accepts given by
// its OpenSSL name (upper case), or "".
func ianaName(openSSL string) string {
	switch openSSL {
	case "ECDHE-ECDSA-AES128-GCM-SHA256":
		return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
	case "ECDHE-RSA-AES128-GCM-SHA256":
		return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
	case "ECDHE-ECDSA-AES256-GCM-SHA384":
		return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
	case "ECDHE-RSA-AES256-GCM-SHA384":
		return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
	case "ECDHE-ECDSA-CHACHA20-POLY1305":
		return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
	case "ECDHE-RSA-CHACHA20-POLY1305":
		return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
	case "ECDHE-ECDSA-AES128-SHA":
		return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
	case "ECDHE-RSA-AES128-SHA":
		return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
	case "ECDHE-ECDSA-AES256-SHA":
		return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
	case "ECDHE-RSA-AES256-SHA":
		return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
	}
	return ""
}

// CipherSuiteError is CipherSuite's error: Name is the name as given, Why
// says what is wrong with it in plain English.
type CipherSuiteError struct{ Name, Why string }

func (e *CipherSuiteError) Error() string { return "cipher suite " + quote(e.Name) + ": " + e.Why }

// CipherSuite returns the ID of the TLS 1.2 cipher suite named name: its
// IANA name as Go spells it (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA) or its
// OpenSSL name (ECDHE-RSA-AES128-SHA), in any case. It accepts the suites
// crypto/tls counts as secure (ECDHE key exchange with AES-GCM,
// ChaCha20-Poly1305 or AES-CBC-SHA) and returns a *CipherSuiteError for a
// TLS 1.3 suite (not configurable), an insecure one (RSA key exchange,
// RC4, 3DES, CBC-SHA256) and an unknown name.
func CipherSuite(name string) (uint16, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if iana := ianaName(n); iana != "" {
		n = iana
	}
	for _, s := range tls.CipherSuites() {
		if s.Name != n {
			continue
		}
		for _, v := range s.SupportedVersions {
			if v == tls.VersionTLS12 {
				return s.ID, nil
			}
		}
		return 0, &CipherSuiteError{name, "a TLS 1.3 suite: TLS 1.3 suites are always enabled and cannot be chosen"}
	}
	for _, s := range tls.InsecureCipherSuites() {
		if s.Name == n {
			return 0, &CipherSuiteError{name, "insecure (no forward secrecy, or a weak cipher or MAC) and not supported"}
		}
	}
	return 0, &CipherSuiteError{name, "not a cipher suite certgate supports: use an IANA or OpenSSL name of an ECDHE suite with AES-GCM, " +
		"ChaCha20-Poly1305 or AES-CBC-SHA, such as TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA or ECDHE-ECDSA-AES128-SHA"}
}

// CipherSuitesFit reports an error unless one of the named suites (valid
// names, see CipherSuite) can serve a server certificate whose key is
// alg: ECDSA suites serve ECDSA and Ed25519 keys, RSA suites RSA keys.
// Without one, every TLS 1.2 client would be refused. nil names (the
// default list, which has both) always fit.
func CipherSuitesFit(names []string, alg x509.PublicKeyAlgorithm) error {
	if names == nil {
		return nil
	}
	for _, n := range names {
		id, err := CipherSuite(n)
		if err != nil {
			return err
		}
		if strings.Contains(tls.CipherSuiteName(id), "_ECDSA_") == (alg != x509.RSA) {
			return nil
		}
	}
	return fmt.Errorf("none of the suites can be used with the server certificate's %s key: TLS 1.2 clients could not connect", alg)
}
