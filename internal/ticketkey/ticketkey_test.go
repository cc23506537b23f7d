package ticketkey

import (
	"bytes"
	"testing"
	"time"
)

// TestScopedRotation: keys are scoped to a policy, the compile-time keys
// stay current within a period, Rotated derives new ones after a period
// or a change of secrets (and shares them), and the previous period's
// key still decrypts.
func TestScopedRotation(t *testing.T) {
	src := New()
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	a, keysA := src.Scope("policy-a", now)
	_, keysB := src.Scope("policy-b", now)
	if keysA[0] == keysB[0] {
		t.Fatal("two policies derived the same key")
	}
	if k := a.Rotated(now.Add(time.Minute)); k != nil {
		t.Fatalf("Rotated within the period = %d keys, want nil", len(k))
	}
	later := now.Add(Period)
	k1 := a.Rotated(later)
	if k1 == nil || k1[1] != keysA[0] {
		t.Fatalf("Rotated after a period: %v, want new keys whose second is the previous period's", k1)
	}
	if k2 := a.Rotated(later); &k2[0] != &k1[0] {
		t.Error("Rotated derived the same keys twice")
	}
	secret := bytes.Repeat([]byte{7}, MinSecretSize)
	if err := src.SetSecrets(secret); err != nil {
		t.Fatal(err)
	}
	if k := a.Rotated(now); k == nil || k[0] == keysA[0] {
		t.Fatal("new secrets did not give new keys")
	}
	other := New()
	other.SetSecrets(secret)
	_, same := other.Scope("policy-a", now)
	if k := a.Rotated(now); k[0] != same[0] {
		t.Error("sources with the same secrets derived different keys")
	}
}

func TestSetSecretsRefusesBadSets(t *testing.T) {
	src := New()
	for name, set := range map[string][][]byte{
		"none":      nil,
		"too short": {make([]byte, MinSecretSize-1)},
		"one short": {make([]byte, MinSecretSize), make([]byte, 3)},
	} {
		if err := src.SetSecrets(set...); err == nil {
			t.Errorf("SetSecrets(%s) = nil, want an error", name)
		}
	}
}
