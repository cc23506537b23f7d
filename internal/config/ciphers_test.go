package config

import (
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
)

// cipherSuiteCases are names CipherSuite accepts (want non-zero) or
// refuses (why: part of the error).
var cipherSuiteCases = []struct {
	name string
	want uint16
	why  string
}{
	{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ""},
	{"ECDHE-ECDSA-AES128-GCM-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ""},
	{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, ""},
	{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, ""},
	{"ECDHE-ECDSA-AES128-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, ""},
	{"ecdhe-ecdsa-aes256-sha", tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, ""},
	{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, ""},
	{" ECDHE-RSA-AES256-SHA ", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, ""},
	{"TLS_AES_128_GCM_SHA256", 0, "TLS 1.3 suite"},
	{"TLS_CHACHA20_POLY1305_SHA256", 0, "TLS 1.3 suite"},
	{"TLS_RSA_WITH_AES_128_GCM_SHA256", 0, "insecure"},
	{"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", 0, "insecure"},
	{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0, "insecure"},
	{"AES128-SHA", 0, "not a cipher suite"},
	{"", 0, "not a cipher suite"},
	{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", 0, "not a cipher suite"},
}

func TestCipherSuite(t *testing.T) {
	for _, tc := range cipherSuiteCases {
		got, err := CipherSuite(tc.name)
		if tc.why == "" {
			if err != nil || got != tc.want {
				t.Errorf("CipherSuite(%q) = %#x, %v, want %#x", tc.name, got, err, tc.want)
			}
			continue
		}
		var ce *CipherSuiteError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.why) || ce.Name != tc.name {
			t.Errorf("CipherSuite(%q) = %#x, %v, want a *CipherSuiteError saying %q", tc.name, got, err, tc.why)
		}
	}
}

// TestDefaultCipherSuites: the default is AEAD only (Mozilla
// "intermediate"), every suite accepted by CipherSuite, and a new slice.
func TestDefaultCipherSuites(t *testing.T) {
	def := DefaultCipherSuites()
	if len(def) != 6 {
		t.Fatalf("DefaultCipherSuites() has %d suites, want 6", len(def))
	}
	for _, id := range def {
		name := tls.CipherSuiteName(id)
		if !strings.Contains(name, "_GCM_") && !strings.Contains(name, "_CHACHA20_POLY1305_") {
			t.Errorf("default suite %s is not AEAD", name)
		}
		if got, err := CipherSuite(name); err != nil || got != id {
			t.Errorf("CipherSuite(%q) = %#x, %v", name, got, err)
		}
	}
	def[0] = 0
	if slices.Contains(DefaultCipherSuites(), 0) {
		t.Error("DefaultCipherSuites returns a shared slice")
	}
}

func FuzzCipherSuite(f *testing.F) {
	for _, tc := range cipherSuiteCases {
		f.Add(tc.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, err := CipherSuite(name)
		if err != nil {
			if id != 0 {
				t.Fatalf("CipherSuite(%q) = %#x with error %v", name, id, err)
			}
			return
		}
		// An accepted suite is a secure TLS 1.2 suite of crypto/tls, and
		// its IANA name gives it back.
		i := slices.IndexFunc(tls.CipherSuites(), func(s *tls.CipherSuite) bool { return s.ID == id })
		if i < 0 || !slices.Contains(tls.CipherSuites()[i].SupportedVersions, tls.VersionTLS12) {
			t.Fatalf("CipherSuite(%q) = %#x, not a secure TLS 1.2 suite", name, id)
		}
		if again, err := CipherSuite(tls.CipherSuiteName(id)); err != nil || again != id {
			t.Fatalf("CipherSuite(%q) = %#x, %v; want %#x", tls.CipherSuiteName(id), again, err, id)
		}
	})
}
