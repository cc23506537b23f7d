package trust

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestLint(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Lint Root")
	inter := root.Intermediate(t, "Lint Intermediate")
	other := pkitest.NewRoot(t, "Other Root")
	leaf := root.Client(t, "lint-client")
	rootPEM, interPEM := string(root.PEM()), string(inter.PEM())
	rootCRL := string(root.CRL(t, now.Add(time.Hour), leaf.Cert.SerialNumber))
	otherCRL := string(other.CRL(t, now.Add(time.Hour)))

	t.Run("leaf left out", func(t *testing.T) {
		rep, err := Lint(LintContent{CABundle: rootPEM + string(pki.CertPEM(leaf.Cert)), Intermediates: interPEM}, now)
		if err != nil {
			t.Fatalf("Lint = %v", err)
		}
		if len(rep.Roots) != 1 || len(rep.IntermediateCerts) != 1 {
			t.Fatalf("Lint kept %d roots, %d intermediates; want 1, 1", len(rep.Roots), len(rep.IntermediateCerts))
		}
		if rep.CABundle != string(pki.CertPEM(root.Cert)) {
			t.Errorf("stored CABundle is not the root re-encoded: %q", rep.CABundle)
		}
		if rep.Intermediates != interPEM {
			t.Error("stored Intermediates changed though nothing was left out")
		}
		if !hasWarning(rep.Warnings, `caBundle: certificate #2 "CN=lint-client`) {
			t.Errorf("warnings %q do not report the leaf left out", rep.Warnings)
		}
		want := root.Cert.NotAfter
		if inter.Cert.NotAfter.Before(want) {
			want = inter.Cert.NotAfter
		}
		if !rep.NotAfter.Equal(want) {
			t.Errorf("NotAfter = %v", rep.NotAfter)
		}
	})

	t.Run("only leaves", func(t *testing.T) {
		_, err := Lint(LintContent{CABundle: string(pki.CertPEM(leaf.Cert))}, now)
		checkLintField(t, err, "caBundle")
	})

	t.Run("too many CAs", func(t *testing.T) {
		_, err := Lint(LintContent{CABundle: rootPEM, Intermediates: interPEM, MaxCAs: 1}, now)
		checkLintField(t, err, "caBundle")
	})

	t.Run("CRL parse error", func(t *testing.T) {
		_, err := Lint(LintContent{CABundle: rootPEM, CRLs: []string{rootCRL, "not a CRL"}}, now)
		checkLintField(t, err, "crls[1]")
	})

	t.Run("CRL no CA signed", func(t *testing.T) {
		_, err := Lint(LintContent{CABundle: rootPEM, CRLs: []string{rootCRL, otherCRL}}, now)
		checkLintField(t, err, "crls[1]")
		if !errors.Is(err, ErrConfig) {
			t.Errorf("Lint = %v, want it to wrap ErrConfig", err)
		}
	})

	t.Run("deny serial", func(t *testing.T) {
		_, err := Lint(LintContent{CABundle: rootPEM, DenySerials: []string{"zz"}}, now)
		checkLintField(t, err, "deny.serials[0]")
	})

	t.Run("inherited CRLs", func(t *testing.T) {
		newer := string(root.CRL(t, now.Add(2*time.Hour)))
		rep, err := Lint(LintContent{CABundle: rootPEM, CRLs: []string{newer}, Inherited: []string{rootCRL, otherCRL}, InheritedFrom: 3}, now)
		if err != nil {
			t.Fatalf("Lint = %v", err)
		}
		if len(rep.CRLs) != 1 || rep.CRLs[0] != newer {
			t.Errorf("CRLs = %d, want only the uploaded one (the inherited root CRL is replaced, the other's left out)", len(rep.CRLs))
		}
		if !hasWarning(rep.Warnings, `crls: the CRL of "CN=Other Root`) || !hasWarning(rep.Warnings, "kept from version 3, is left out") {
			t.Errorf("warnings %q do not report the inherited CRL left out", rep.Warnings)
		}
		if len(rep.CRLLabels) != 3 {
			t.Errorf("CRLLabels has %d entries, want 3", len(rep.CRLLabels))
		}
		rep, err = Lint(LintContent{CABundle: rootPEM, Inherited: []string{rootCRL}, InheritedFrom: 3}, now)
		if err != nil || len(rep.CRLs) != 1 || rep.CRLEntries != 1 {
			t.Errorf("Lint kept %d inherited CRLs with %d entries, %v; want 1, 1", len(rep.CRLs), rep.CRLEntries, err)
		}
	})

	t.Run("resolved CA", func(t *testing.T) {
		rep, err := Lint(LintContent{CAs: []LintCA{{Field: "cas[0]", PEM: rootPEM}}}, now)
		if err != nil || len(rep.Roots) != 1 || rep.CABundle != "" {
			t.Errorf("Lint = %d roots, bundle %q, %v; want 1, empty, nil", len(rep.Roots), rep.CABundle, err)
		}
		_, err = Lint(LintContent{CAs: []LintCA{{Field: "cas[0]", PEM: "junk"}}}, now)
		checkLintField(t, err, "cas[0]")
	})
}

func checkLintField(t *testing.T, err error, field string) {
	t.Helper()
	var le *LintError
	if !errors.As(err, &le) || le.Field != field {
		t.Fatalf("Lint = %v, want a *LintError for %s", err, field)
	}
	if strings.Contains(err.Error(), "MII") { // the base64 of a DER certificate or CRL
		t.Errorf("error quotes PEM: %q", err)
	}
}

func hasWarning(warns []string, sub string) bool {
	for _, w := range warns {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// FuzzLint runs operator content through Lint: it fails with a
// *LintError or reports content that New compiles.
func FuzzLint(f *testing.F) {
	root := pkitest.NewRoot(f, "Fuzz Lint Root")
	now := time.Now()
	f.Add(root.PEM(), []byte(nil), root.CRL(f, now.Add(time.Hour)))
	f.Add(root.PEM(), root.Intermediate(f, "Fuzz Lint Intermediate").PEM(), []byte("-----BEGIN X509 CRL-----\n"))
	f.Add([]byte("not PEM"), []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, bundle, inters, crl []byte) {
		in := LintContent{CABundle: string(bundle), Intermediates: string(inters)}
		if len(crl) > 0 {
			in.CRLs = []string{string(crl)}
		}
		rep, err := Lint(in, now)
		if err != nil {
			var le *LintError
			if !errors.As(err, &le) {
				t.Fatalf("Lint = %T %v, want a *LintError", err, err)
			}
			return
		}
		if _, _, err := New(Config{Roots: rep.Roots, Intermediates: rep.IntermediateCerts}, now); err != nil {
			t.Fatalf("Lint passed content New refuses: %v", err)
		}
	})
}
