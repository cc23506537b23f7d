package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestReasonCodes: each rejection reason reaches the client as a 403
// problem+json naming it (failureResponse: http), and, with the default
// failureResponse, as a failed handshake logged and counted with the same
// reason code.
func TestReasonCodes(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	revoked := e.inter.Client(t, "revoked")
	denied := e.inter.Client(t, "denied-by-serial")
	deniedFP := e.inter.Client(t, "denied-by-fingerprint")
	e.write("inter.crl", e.inter.CRL(t, zeroTime, revoked.Cert.SerialNumber))

	// A second truststore-worthy hierarchy whose CRL is stale.
	staleRoot := pkitest.NewRoot(t, "Stale Root")
	staleInter := staleRoot.Intermediate(t, "Stale Intermediate")
	staleLeaf := staleInter.Client(t, "under-stale-crl")
	staleCRL, err := staleInter.SignCRL(nil, 1, now.Add(-48*time.Hour), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.write("stale.crl", staleCRL)
	e.write("stale-ca.pem", append(staleRoot.PEM(), staleInter.PEM()...))

	// Five CA levels above the leaf.
	deep := e.root
	for i := range 4 {
		deep = deep.Intermediate(t, fmt.Sprintf("Deep %d", i))
	}
	deepLeaf := deep.Client(t, "too-deep")

	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		code string
		leaf *pkitest.Leaf
	}{
		{"ClientCertTypeUnsupported", e.inter.IssueWithKey(t, weakKey, pki.Request{Subject: pkix.Name{CommonName: "rsa-1024"}})},
		{"ClientCertMissing", nil},
		{"ClientCertUntrusted", pkitest.NewRoot(t, "Stranger").Client(t, "stranger")},
		{"ClientCertExpired", e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "expired"},
			NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})},
		{"ClientCertNotYetValid", e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "future"},
			NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)})},
		{"ClientCertRevoked", revoked},
		{"ClientCertRevoked", denied},
		{"ClientCertRevoked", deniedFP},
		{"ClientCertCrlStale", staleLeaf},
		{"ClientCertMaxChainDepthExceeded", deepLeaf},
		{"ClientCertPurposeInvalid", e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "server-only"},
			Profile: pki.ProfileServer})},
		{"ClientCertPurposeInvalid", e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "no-digital-signature"},
			KeyUsage: x509.KeyUsageKeyAgreement})},
		{"ClientCertMaxSizeExceeded", e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "huge"},
			DNSNames: hugeSANs(300)})},
		{"ClientCertLeafIsCA", e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "ca-as-client"},
			IsCA: true, MaxPathLen: -1, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})},
	}
	ts := fmt.Sprintf("    caFiles: [ca.pem, stale-ca.pem]\n    crlFiles: [inter.crl, stale.crl]\n    maxCertificateBytes: 8192\n    deny:\n      serials: [%q]\n      fingerprints: [%q]\n",
		serialHex(denied.Cert), pki.Fingerprint(deniedFP.Cert))
	// caFiles is given twice otherwise: replace the default line.
	fix := func(y string) string {
		return strings.Replace(y, "    caFiles: [ca.pem]\n"+ts, ts, 1)
	}

	for _, failure := range []string{"http", "handshake"} {
		e.apply(fix(e.config([]domainYAML{{hosts: "a.test", mode: "verify", failure: failure}}, ts, "")))
		for _, tc := range cases {
			name := "nil"
			if tc.leaf != nil {
				name = tc.leaf.Cert.Subject.CommonName
			}
			t.Run(failure+"/"+tc.code+"/"+name, func(t *testing.T) {
				resp, body, err := e.get(e.client(clientOpts{cert: tc.leaf, sni: "a.test"}), "a.test", "/", nil)
				if failure == "http" {
					if err != nil {
						t.Fatalf("request failed: %v", err)
					}
					if resp.StatusCode != 403 {
						t.Fatalf("status = %d, want 403; body %s", resp.StatusCode, body)
					}
					if p := problemOf(t, resp, body); p.Code != tc.code || p.Detail == "" {
						t.Fatalf("problem = %+v, want code %s with a detail", p, tc.code)
					}
					return
				}
				if err == nil {
					t.Fatalf("request succeeded (%d), want a failed handshake", resp.StatusCode)
				}
				waitFor(t, "connection log with "+tc.code, func() bool {
					for _, l := range e.logs.lines("connection") {
						if l["reason"] == tc.code && (tc.leaf == nil || l["client_subject"] == tc.leaf.Cert.Subject.String()) {
							return true
						}
					}
					return false
				})
			})
		}
	}
}

func hugeSANs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("host-%04d.a-rather-long-name-to-grow-the-certificate.example", i)
	}
	return out
}
