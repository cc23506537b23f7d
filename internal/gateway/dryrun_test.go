package gateway

import (
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestDryRunMatchesTheListener(t *testing.T) {
	e := newEnv(t)
	good := e.inter.Client(t, "dry-good")
	e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify", dialects: "rfc9440, alb"}, {hosts: "b.test", mode: "passthrough"}}, "", ""))
	s := e.g.Snapshot()
	v, err := s.DryRun("A.test.", good.Chain(), time.Now())
	if err != nil || !v.Admitted || v.Status != "verified" || v.Identity == nil || len(v.Headers) < 7 {
		t.Fatalf("good chain: %+v %v", v, err)
	}
	v, err = s.DryRun("a.test", pkitest.NewRoot(t, "x").Client(t, "y").Chain(), time.Now())
	if err != nil || v.Admitted || v.Reason != "ClientCertUntrusted" {
		t.Fatalf("stranger: %+v %v", v, err)
	}
	v, err = s.DryRun("b.test", good.Chain(), time.Now())
	if err != nil || !v.Admitted || v.Status != "unverified" || v.Identity == nil || v.Identity.Verified {
		t.Fatalf("passthrough: %+v %v", v, err)
	}
	if _, err := s.DryRun("nobody.test", good.Chain(), time.Now()); err == nil {
		t.Fatal("unknown host accepted")
	}
}
