package trust

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestNewErrors(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	inter := root.Intermediate(t, "Partners Intermediate")
	leaf := root.Client(t, "alice")
	stranger := pkitest.NewRoot(t, "Stranger CA")
	forger := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("Root")})
	delta := func() *x509.RevocationList {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(2), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour),
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{2, 1, 1}}},
		}, root.Cert, root.Key)
		if err != nil {
			t.Fatal(err)
		}
		return mustCRL(t, der)
	}()

	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error
	}{
		{"no roots", Config{Name: "partners"}, `invalid truststore "partners": no trust anchors`},
		{"nil root", Config{Roots: []*x509.Certificate{root.Cert, nil}}, "root #2 is nil"},
		{"unparsed root", Config{Roots: []*x509.Certificate{{}}}, "root #1 has no DER"},
		{"root is not a CA", Config{Roots: []*x509.Certificate{leaf.Cert}}, `root #1 "CN=alice" (serial ` + serialHex(leaf.Cert.SerialNumber) + `) is not a CA certificate`},
		{"intermediate is not a CA", Config{Roots: root.Chain(), Intermediates: []*x509.Certificate{leaf.Cert}}, "intermediate #1"},
		{"nil intermediate", Config{Roots: root.Chain(), Intermediates: []*x509.Certificate{nil}}, "intermediate #1 is nil"},
		{"MaxChainDepth 11", Config{Roots: root.Chain(), MaxChainDepth: 11}, "MaxChainDepth 11 is outside 1..10"},
		{"MaxChainDepth -1", Config{Roots: root.Chain(), MaxChainDepth: -1}, "MaxChainDepth -1"},
		{"MaxCertSize -1", Config{Roots: root.Chain(), MaxCertSize: -1}, "MaxCertSize -1"},
		{"nil CRL", Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{nil}}, "CRL #1 is nil"},
		{"unparsed CRL", Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{{}}}, "CRL #1: CRL has no DER"},
		{"CRL signed by a stranger", Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{mustCRL(t, stranger.CRL(t, time.Time{}))}}, `CRL of "CN=Stranger CA,O=certgate test"`},
		{"CRL forged under the root's name", Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{mustCRL(t, forger.CRL(t, time.Time{}))}}, "signature does not verify"},
		{"CRL of an intermediate the store lacks", Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{mustCRL(t, inter.CRL(t, time.Time{}))}}, "Partners Intermediate"},
		{"delta CRL", Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{delta}}, "delta CRL"},
		{"nil deny serial", Config{Roots: root.Chain(), DenySerials: []*big.Int{nil}}, "deny-list serial #1 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, warns, err := New(tt.cfg, now)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New() = %v, %v, want %v", s, err, ErrConfig)
			}
			if s != nil || warns != nil {
				t.Errorf("New() returned a store or warnings with an error")
			}
			t.Logf("New() = %v", err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewWarnings(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	tests := []struct {
		name  string
		setup func(t *testing.T) Config
		want  string // substring of one warning
	}{
		{
			name: "expired CA",
			setup: func(t *testing.T) Config {
				old := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("Old Root"), NotBefore: now.Add(-30 * day), NotAfter: now.Add(-day)})
				return Config{Roots: append(old.Chain(), pkitest.NewRoot(t, "Root").Cert)}
			},
			want: `root "CN=Old Root,O=certgate test" (serial`,
		},
		{
			name: "not yet valid CA",
			setup: func(t *testing.T) Config {
				root := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("Future Root"), NotBefore: now.Add(day), NotAfter: now.Add(30 * day)})
				return Config{Roots: root.Chain()}
			},
			want: "is not valid before",
		},
		{
			name: "CA expiring within 30 days",
			setup: func(t *testing.T) Config {
				root := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("Soon Root"), NotBefore: now.Add(-day), NotAfter: now.Add(10*day + time.Hour)})
				return Config{Roots: root.Chain()}
			},
			want: "expires in 10 days",
		},
		{
			name: "duplicate root",
			setup: func(t *testing.T) Config {
				root := pkitest.NewRoot(t, "Root")
				return Config{Roots: []*x509.Certificate{root.Cert, root.Cert}}
			},
			want: "root #2 \"CN=Root,O=certgate test\"",
		},
		{
			name: "intermediate duplicates a root",
			setup: func(t *testing.T) Config {
				root := pkitest.NewRoot(t, "Root")
				return Config{Roots: root.Chain(), Intermediates: root.Chain()}
			},
			want: "duplicates root #1",
		},
		{
			name: "weak CA key",
			setup: func(t *testing.T) Config {
				root := pkitest.NewRootWith(t, pki.KeyRSA2048, pki.Request{Subject: name("RSA Root")})
				inter := root.IntermediateWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("SHA1 Intermediate"), SignatureAlgorithm: x509.SHA1WithRSA})
				return Config{Roots: root.Chain(), Intermediates: inter.Chain()[:1]}
			},
			want: "SHA-1 signatures are not accepted",
		},
		{
			name: "stale CRL",
			setup: func(t *testing.T) Config {
				root := pkitest.NewRoot(t, "Root")
				return Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{mustCRL(t, root.CRL(t, now.Add(-time.Minute)))}}
			},
			want: "past its nextUpdate",
		},
		{
			name: "intermediate without its issuer",
			setup: func(t *testing.T) Config {
				root := pkitest.NewRoot(t, "Root")
				inter := pkitest.NewRoot(t, "Elsewhere Root").Intermediate(t, "Orphan Intermediate")
				return Config{Roots: root.Chain(), Intermediates: inter.Chain()[:1]}
			},
			want: `its issuer "CN=Elsewhere Root,O=certgate test" is not in the truststore`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, warns, err := New(tt.setup(t), now)
			if err != nil {
				t.Fatalf("New() = %v, want a store with warnings", err)
			}
			if s == nil {
				t.Fatal("New() returned no store")
			}
			if !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, tt.want) }) {
				t.Errorf("New() warnings = %q, want one containing %q", warns, tt.want)
			}
		})
	}
}

func TestNewNoWarnings(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	inter := root.Intermediate(t, "Partners Intermediate")
	_, warns, err := New(Config{
		Roots:         root.Chain(),
		Intermediates: inter.Chain()[:1],
		CRLs:          []*x509.RevocationList{mustCRL(t, inter.CRL(t, time.Time{}))},
	}, now)
	if err != nil || len(warns) != 0 {
		t.Errorf("New(clean config) = %q, %v, want no warnings", warns, err)
	}
}

func TestVersion(t *testing.T) {
	now := time.Now()
	root, root2 := pkitest.NewRoot(t, "Root"), pkitest.NewRoot(t, "Root 2")
	inter := root.Intermediate(t, "Partners Intermediate")
	crl := mustCRL(t, root.CRL(t, time.Time{}, big.NewInt(5)))
	base := func() Config {
		return Config{
			Name:          "partners",
			Roots:         []*x509.Certificate{root.Cert, root2.Cert},
			Intermediates: inter.Chain()[:1],
			CRLs:          []*x509.RevocationList{crl},
			DenySerials:   []*big.Int{big.NewInt(1), big.NewInt(2)},
		}
	}
	v := mustNew(t, base(), now).Version()
	if len(v) != 64 {
		t.Errorf("Version() = %q, want 64 hex digits", v)
	}
	tests := []struct {
		name   string
		change func(*Config)
		same   bool
	}{
		{"equal content", func(*Config) {}, true},
		{"roots in another order", func(c *Config) { c.Roots = []*x509.Certificate{root2.Cert, root.Cert} }, true},
		{"deny serials in another order", func(c *Config) { c.DenySerials = []*big.Int{big.NewInt(2), big.NewInt(1)} }, true},
		{"another name", func(c *Config) { c.Name = "other" }, true},
		{"explicit default depth", func(c *Config) { c.MaxChainDepth = DefaultMaxChainDepth }, true},
		{"deny serial added", func(c *Config) { c.DenySerials = append(c.DenySerials, big.NewInt(3)) }, false},
		{"deny fingerprint added", func(c *Config) { c.DenyFingerprints = [][32]byte{{1}} }, false},
		{"root removed", func(c *Config) { c.Roots = c.Roots[:1] }, false},
		{"intermediate removed", func(c *Config) { c.Intermediates = nil }, false},
		{"CRL removed", func(c *Config) { c.CRLs = nil }, false},
		{"depth", func(c *Config) { c.MaxChainDepth = 5 }, false},
		{"IgnoreExpiry", func(c *Config) { c.IgnoreExpiry = true }, false},
		{"size", func(c *Config) { c.MaxCertSize = 1000 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.change(&cfg)
			got := mustNew(t, cfg, now).Version()
			if (got == v) != tt.same {
				t.Errorf("Version() = %s, base %s, want same=%t", got, v, tt.same)
			}
		})
	}
}

func TestStoreAccessors(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	inter := root.Intermediate(t, "Partners Intermediate")
	der := inter.CRL(t, now.Add(48*time.Hour), big.NewInt(5), big.NewInt(6))
	crl := mustCRL(t, der)
	s := mustNew(t, Config{Name: "partners", Roots: root.Chain(), Intermediates: inter.Chain()[:1], CRLs: []*x509.RevocationList{crl}}, now)

	if s.Name() != "partners" {
		t.Errorf("Name() = %q, want partners", s.Name())
	}
	if got := s.Roots(); len(got) != 1 || got[0] != root.Cert {
		t.Errorf("Roots() = %v, want the root", got)
	}
	s.Roots()[0] = nil // the caller's copy
	if s.Roots()[0] != root.Cert {
		t.Error("Roots() exposes the store's slice")
	}
	if got := s.Intermediates(); len(got) != 1 || got[0] != inter.Cert {
		t.Errorf("Intermediates() = %v, want the intermediate", got)
	}
	if s.MaxChainDepth() != DefaultMaxChainDepth {
		t.Errorf("MaxChainDepth() = %d, want %d", s.MaxChainDepth(), DefaultMaxChainDepth)
	}
	if !s.Pool().Equal(s.Pool()) || s.Pool() == s.Pool() {
		t.Error("Pool() should return equal, fresh pools")
	}
	want := []CRLInfo{{
		Issuer:      "CN=Partners Intermediate,O=certgate test",
		Number:      crl.Number,
		ThisUpdate:  crl.ThisUpdate,
		NextUpdate:  crl.NextUpdate,
		Entries:     2,
		Fingerprint: pki.Fingerprint(&x509.Certificate{Raw: der}),
	}}
	if diff := cmp.Diff(want, s.CRLs(), cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })); diff != "" {
		t.Errorf("CRLs() mismatch (-want +got):\n%s", diff)
	}
}
