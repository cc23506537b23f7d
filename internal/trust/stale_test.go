package trust

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestVerifyStalePolicy: under StaleSoftFail a chain whose only problem is
// stale revocation data (a CRL past nextUpdate, or a pending CRL) is
// admitted and flagged; under StaleHardFail (the default) it is refused as
// ReasonCrlStale; a revoked certificate is refused under both, however
// stale the CRL that lists it; other failures are not softened.
func TestVerifyStalePolicy(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	inter := root.Intermediate(t, "Partners Intermediate")
	alice, mallory := inter.Client(t, "alice"), inter.Client(t, "mallory")
	expired := inter.Client(t, "late")
	stale := mustCRL(t, inter.CRL(t, now.Add(-time.Minute), mallory.Cert.SerialNumber))
	fresh := mustCRL(t, inter.CRL(t, time.Time{}, mallory.Cert.SerialNumber))
	base := Config{Roots: root.Chain(), Intermediates: []*x509.Certificate{inter.Cert}}
	with := func(policy StalePolicy, crls []*x509.RevocationList, pending ...string) Config {
		c := base
		c.CRLStale, c.CRLs, c.PendingCRLs = policy, crls, pending
		return c
	}
	const url = "http://crl.example.test/partners.crl"

	tests := []struct {
		name      string
		cfg       Config
		leaf      *pkitest.Leaf
		at        time.Time
		want      error  // nil: admitted
		wantStale string // for an admission: substring of StaleCRL; "" means not flagged
	}{
		{"hard/stale CRL", with(StaleHardFail, []*x509.RevocationList{stale}), alice, now, ErrCrlStale, ""},
		{"soft/stale CRL", with(StaleSoftFail, []*x509.RevocationList{stale}), alice, now, nil, "Partners Intermediate"},
		{"soft/fresh CRL", with(StaleSoftFail, []*x509.RevocationList{fresh}), alice, now, nil, ""},
		{"soft/stale and fresh CRL", with(StaleSoftFail, []*x509.RevocationList{stale, fresh}), alice, now, nil, ""},
		{"hard/revoked on stale CRL", with(StaleHardFail, []*x509.RevocationList{stale}), mallory, now, ErrRevoked, ""},
		{"soft/revoked on stale CRL", with(StaleSoftFail, []*x509.RevocationList{stale}), mallory, now, ErrRevoked, ""},
		{"soft/revoked on fresh CRL", with(StaleSoftFail, []*x509.RevocationList{fresh}), mallory, now, ErrRevoked, ""},
		{"hard/pending", with(StaleHardFail, nil, url), alice, now, ErrCrlStale, ""},
		{"soft/pending", with(StaleSoftFail, nil, url), alice, now, nil, url},
		{"hard/pending beside a fresh CRL", with(StaleHardFail, []*x509.RevocationList{fresh}, url), alice, now, ErrCrlStale, ""},
		{"soft/pending beside a fresh CRL", with(StaleSoftFail, []*x509.RevocationList{fresh}, url), alice, now, nil, url},
		{"soft/revoked while another CRL is pending", with(StaleSoftFail, []*x509.RevocationList{fresh}, url), mallory, now, ErrRevoked, ""},
		{"soft/expired is still expired", with(StaleSoftFail, []*x509.RevocationList{stale}), expired, expired.Cert.NotAfter.Add(time.Hour), ErrExpired, ""},
		{"soft/deny-list", func() Config {
			c := with(StaleSoftFail, []*x509.RevocationList{stale})
			c.DenySerials = append(c.DenySerials, alice.Cert.SerialNumber)
			return c
		}(), alice, now, ErrRevoked, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, tt.cfg, now)
			id, err := s.Verify(tt.leaf.Chain(), VerifyOptions{Now: tt.at})
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Verify() = %v, want %v", err, tt.want)
				}
				if errors.Is(tt.want, ErrCrlStale) && len(tt.cfg.PendingCRLs) > 0 && !strings.Contains(err.Error(), tt.cfg.PendingCRLs[0]) {
					t.Errorf("Verify() = %v, want the pending CRL %q named", err, tt.cfg.PendingCRLs[0])
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify() = %v, want admitted", err)
			}
			if got := id.CRLStale; got != (tt.wantStale != "") {
				t.Errorf("CRLStale = %t, want %t", got, tt.wantStale != "")
			}
			if !strings.Contains(id.StaleCRL, tt.wantStale) || (tt.wantStale == "") != (id.StaleCRL == "") {
				t.Errorf("StaleCRL = %q, want it to name %q", id.StaleCRL, tt.wantStale)
			}
			if !id.Verified || id.Leaf != tt.leaf.Cert {
				t.Errorf("identity = %+v, want the verified leaf", id)
			}
		})
	}
}

// TestStalePolicyInVersion: the stale policy and the pending CRLs affect
// verdicts, so they change Version; a store without them keeps the
// Version it had before they existed.
func TestStalePolicyInVersion(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	base := Config{Roots: root.Chain()}
	soft := base
	soft.CRLStale = StaleSoftFail
	pending := base
	pending.PendingCRLs = []string{"http://a.test/x.crl"}
	pending2 := base
	pending2.PendingCRLs = []string{"http://a.test/x.crl", "http://a.test/x.crl"}
	v := func(c Config) string { return mustNew(t, c, now).Version() }
	if v(base) == v(soft) {
		t.Error("softFail did not change Version")
	}
	if v(base) == v(pending) {
		t.Error("a pending CRL did not change Version")
	}
	if v(pending) != v(pending2) {
		t.Error("a duplicate pending CRL changed Version")
	}
	if got := mustNew(t, pending2, now).PendingCRLs(); len(got) != 1 {
		t.Errorf("PendingCRLs() = %q, want one entry", got)
	}
}

func TestStalePolicyConfigErrors(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	for _, cfg := range []Config{
		{Roots: root.Chain(), CRLStale: StalePolicy(7)},
		{Roots: root.Chain(), PendingCRLs: []string{""}},
	} {
		if _, _, err := New(cfg, time.Now()); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want %v", cfg, err, ErrConfig)
		}
	}
}

// TestCheckCRL: CheckCRL accepts what New accepts and refuses a CRL whose
// issuer is not among the CAs or whose signature does not verify.
func TestCheckCRL(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	inter := root.Intermediate(t, "Partners Intermediate")
	impostor := pkitest.NewRoot(t, "Partners Intermediate") // same name, other key
	good := mustCRL(t, inter.CRL(t, time.Time{}))
	staleCRL := mustCRL(t, inter.CRL(t, now.Add(-time.Minute)))
	forged := mustCRL(t, impostor.CRL(t, time.Time{}))
	cas := []*x509.Certificate{root.Cert, inter.Cert}
	if _, err := CheckCRL(good, cas, now); err != nil {
		t.Errorf("CheckCRL(good) = %v", err)
	}
	if w, err := CheckCRL(staleCRL, cas, now); err != nil || len(w) == 0 {
		t.Errorf("CheckCRL(stale) = %q, %v; want a warning", w, err)
	}
	if _, err := CheckCRL(good, []*x509.Certificate{root.Cert}, now); !errors.Is(err, ErrConfig) {
		t.Errorf("CheckCRL(issuer missing) = %v, want %v", err, ErrConfig)
	}
	if _, err := CheckCRL(forged, cas, now); !errors.Is(err, ErrConfig) {
		t.Errorf("CheckCRL(forged) = %v, want %v", err, ErrConfig)
	}
	if _, err := CheckCRL(nil, cas, now); !errors.Is(err, ErrConfig) {
		t.Errorf("CheckCRL(nil) = %v, want %v", err, ErrConfig)
	}
}

func TestParseCRLLimit(t *testing.T) {
	der := pkitest.NewRoot(t, "Root").CRL(t, time.Time{})
	if _, err := ParseCRLLimit(der, int64(len(der))); err != nil {
		t.Errorf("ParseCRLLimit(len) = %v", err)
	}
	if _, err := ParseCRLLimit(der, int64(len(der)-1)); err == nil {
		t.Error("ParseCRLLimit(len-1) accepted a CRL over the limit")
	}
}
