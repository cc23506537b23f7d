package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestClientCertificatesCLI: generate, list (with the EXPIRING flag and
// the stages that use a certificate), update, a stage that presents it,
// a refused delete, then --force.
func TestClientCertificatesCLI(t *testing.T) {
	s := startStoreNode(t)
	var cc struct {
		ID           string            `json:"id"`
		KeyType      string            `json:"keyType"`
		Tags         map[string]string `json:"tags"`
		DaysLeft     int               `json:"daysLeft"`
		ExpiringSoon bool              `json:"expiringSoon"`
	}
	out := s.must("client-certificates", "generate", "--key-type", "ecdsa-p384", "--days", "20", "--description", "orders back end", "--tag", "team=payments", "--tag", "env=prod", "-o", "json")
	if err := json.Unmarshal([]byte(out), &cc); err != nil {
		t.Fatalf("generate -o json: %v", err)
	}
	if !strings.HasPrefix(cc.ID, "cc-") || cc.KeyType != "ecdsa-p384" || cc.Tags["team"] != "payments" || !cc.ExpiringSoon || cc.DaysLeft != 19 {
		t.Fatalf("generated %+v", cc)
	}
	other := s.must("client-certificates", "generate")
	if !strings.Contains(other, "KEY TYPE:") || strings.Contains(other, "BEGIN CERTIFICATE") {
		t.Fatalf("generate (table) shows:\n%s", other)
	}

	list := s.must("client-certificates", "list")
	if !regexp.MustCompile(`(?m)^` + cc.ID + `\s+orders back end\s+ecdsa-p384\s+\S+\s+19\s+EXPIRING\s+-$`).MatchString(list) {
		t.Fatalf("list:\n%s", list)
	}
	if !strings.HasPrefix(list, "ID  ") || !strings.Contains(list, "USED BY") {
		t.Fatalf("list header:\n%s", list)
	}

	s.must("client-certificates", "update", cc.ID, "--description", "orders", "--tag", "env=staging", "--remove-tag", "team")
	var got struct {
		Description string            `json:"description"`
		Tags        map[string]string `json:"tags"`
	}
	json.Unmarshal([]byte(s.must("client-certificates", "get", cc.ID, "--output", "json")), &got)
	if got.Description != "orders" || got.Tags["env"] != "staging" || len(got.Tags) != 1 {
		t.Fatalf("after update: %+v", got)
	}
	if code, _, _ := s.run("client-certificates", "update", cc.ID); code != 2 {
		t.Errorf("update without a change: exit %d, want 2", code)
	}

	s.must("apis", "create", "--name", "orders")
	s.must("apis", "add-stage", "orders", "--name", "prod", "--client-certificate", cc.ID, "--var", "region=eu")
	if out := s.must("apis", "stages", "orders"); !regexp.MustCompile(`prod\s+` + cc.ID + `\s+region=eu`).MatchString(out) {
		t.Fatalf("stages:\n%s", out)
	}
	if list := s.must("client-certificates", "list"); !regexp.MustCompile(cc.ID + `.*EXPIRING\s+orders/prod`).MatchString(list) {
		t.Fatalf("list does not show the stage using the certificate:\n%s", list)
	}
	code, _, errOut := s.run("apis", "add-stage", "orders", "--name", "dev", "--client-certificate", "cc-none")
	if code != 1 || !strings.Contains(errOut, "clientCertificateId") {
		t.Fatalf("add-stage with an unknown certificate: exit %d\n%s", code, errOut)
	}

	// delete refuses while a stage presents it, then --force detaches it.
	code, _, errOut = s.run("client-certificates", "delete", cc.ID)
	if code != 1 || !strings.Contains(errOut, "ClientCertificateInUse") || !strings.Contains(errOut, "orders/prod") || !strings.Contains(errOut, "--force") {
		t.Fatalf("delete in use: exit %d\n%s", code, errOut)
	}
	s.must("client-certificates", "delete", cc.ID, "--force")
	if out := s.must("client-certificates", "list"); strings.Contains(out, cc.ID) {
		t.Fatalf("deleted certificate still listed:\n%s", out)
	}
	var stages []struct {
		Name                string `json:"name"`
		ClientCertificateID string `json:"clientCertificateId"`
	}
	json.Unmarshal([]byte(s.must("apis", "stages", "orders", "-o", "json")), &stages)
	if len(stages) != 1 || stages[0].ClientCertificateID != "" {
		t.Fatalf("stages after --force: %+v", stages)
	}

	// set-stage attaches another certificate, keeping the variables.
	var second struct {
		ID string `json:"id"`
	}
	json.Unmarshal([]byte(s.must("client-certificates", "generate", "-o", "json")), &second)
	s.must("apis", "set-stage", "orders", "prod", "--client-certificate", second.ID)
	out = s.must("apis", "stages", "orders")
	if !regexp.MustCompile(`prod\s+` + second.ID + `\s+region=eu`).MatchString(out) {
		t.Fatalf("after set-stage:\n%s", out)
	}
	s.must("apis", "set-stage", "orders", "prod", "--no-client-certificate")
	if out := s.must("apis", "stages", "orders"); strings.Contains(out, second.ID) {
		t.Fatalf("after --no-client-certificate:\n%s", out)
	}
}
