package gateway

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestDepthCountedToBundleRoot: with a truststore bundle made AWS-style
// (`cat Intermediate… Root`), every intermediate is a trust anchor, yet a
// six-level chain (root → five intermediates → leaf) is refused at the
// default depth of 4, in the handshake and as a 403, while a chain of four
// levels is admitted: the depth counts up to the self-signed root the
// truststore holds, not to the first anchor met.
func TestDepthCountedToBundleRoot(t *testing.T) {
	e := newEnv(t)
	cas := []*pkitest.CA{pkitest.NewRoot(t, "Bundle Root")}
	for i := range 5 {
		cas = append(cas, cas[len(cas)-1].Intermediate(t, fmt.Sprintf("Bundle Intermediate %d", i+1)))
	}
	var bundle []byte
	for i := len(cas) - 1; i >= 0; i-- {
		bundle = append(bundle, cas[i].PEM()...)
	}
	e.write("ca.pem", bundle)
	deep := cas[5].Client(t, "six-levels")
	shallow := cas[3].Client(t, "four-levels")

	for _, failure := range []string{"http", "handshake"} {
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify", failure: failure}}, "", ""))
		t.Run(failure+"/six levels refused", func(t *testing.T) {
			resp, body, err := e.get(e.client(clientOpts{cert: deep, sni: "a.test"}), "a.test", "/", nil)
			if failure == "http" {
				if err != nil {
					t.Fatalf("request failed: %v", err)
				}
				if p := problemOf(t, resp, body); resp.StatusCode != 403 || p.Code != "ClientCertMaxChainDepthExceeded" {
					t.Fatalf("status %d, problem %+v; want 403 ClientCertMaxChainDepthExceeded", resp.StatusCode, p)
				}
				return
			}
			if err == nil {
				t.Fatalf("request succeeded (%d), want a failed handshake", resp.StatusCode)
			}
			waitFor(t, "connection log with ClientCertMaxChainDepthExceeded", func() bool {
				for _, l := range e.logs.lines("connection") {
					if l["reason"] == "ClientCertMaxChainDepthExceeded" && l["client_subject"] == deep.Cert.Subject.String() {
						return true
					}
				}
				return false
			})
		})
		t.Run(failure+"/four levels admitted", func(t *testing.T) {
			resp, body, err := e.get(e.client(clientOpts{cert: shallow, sni: "a.test"}), "a.test", "/", nil)
			if err != nil {
				t.Fatalf("request failed: %v", err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d, body %s; want 200", resp.StatusCode, body)
			}
		})
	}
}

// TestRequireClientAuthEKU: the truststore setting requireClientAuthEKU,
// from the declarative file, refuses a leaf without an extended key usage
// or with only anyExtendedKeyUsage (ClientCertPurposeInvalid), which is
// admitted without it.
func TestRequireClientAuthEKU(t *testing.T) {
	e := newEnv(t)
	noEKU := e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "no-eku"}, ExtKeyUsage: []x509.ExtKeyUsage{}})
	anyEKU := e.inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: "any-eku"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	good := e.inter.Client(t, "client-auth")
	for _, required := range []bool{false, true} {
		ts := ""
		if required {
			ts = "    requireClientAuthEKU: true\n"
		}
		e.apply(e.config([]domainYAML{{hosts: "a.test", mode: "verify", failure: "http"}}, ts, ""))
		for _, leaf := range []*pkitest.Leaf{noEKU, anyEKU, good} {
			t.Run(fmt.Sprintf("required=%t/%s", required, leaf.Cert.Subject.CommonName), func(t *testing.T) {
				resp, body, err := e.get(e.client(clientOpts{cert: leaf, sni: "a.test"}), "a.test", "/", nil)
				if err != nil {
					t.Fatalf("request failed: %v", err)
				}
				if !required || leaf == good {
					if resp.StatusCode != 200 {
						t.Fatalf("status %d, body %s; want 200", resp.StatusCode, body)
					}
					return
				}
				if p := problemOf(t, resp, body); resp.StatusCode != 403 || p.Code != "ClientCertPurposeInvalid" {
					t.Fatalf("status %d, problem %+v; want 403 ClientCertPurposeInvalid", resp.StatusCode, p)
				}
			})
		}
	}
}

// TestCRLNumberRequiredAtLoad: a CRL without a CRL number, or with a
// critical one (RFC 5280 §5.2.3), is refused where CRLs are loaded: a
// crlFiles entry fails the configuration naming the CRL. (A CRL source
// serving one stays pending: crlsource's TestFetchRefusesBadCRLs.)
func TestCRLNumberRequiredAtLoad(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	bad := map[string][]byte{
		"no number":       pkitest.RawCRL(t, e.inter.Issuer, now.Add(-time.Hour), now.Add(24*time.Hour), nil),
		"critical number": pkitest.RawCRL(t, e.inter.Issuer, now.Add(-time.Hour), now.Add(24*time.Hour), []pkix.Extension{pkitest.CRLNumberExtension(t, 3, true)}),
	}
	want := map[string]string{"no number": "has no CRL number", "critical number": "cRLNumber extension marked critical"}
	for name, der := range bad {
		t.Run("crlFiles/"+name, func(t *testing.T) {
			e.write("bad.crl", der)
			_, err := e.load(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "    crlFiles: [bad.crl]\n", ""))
			if err == nil || !strings.Contains(err.Error(), want[name]) || !strings.Contains(err.Error(), `CRL #1: the CRL of "CN=Test Client Intermediate`) {
				t.Fatalf("load = %v, want an error naming the CRL and containing %q", err, want[name])
			}
		})
	}
	// The same CRL with a non-critical number loads.
	e.write("good.crl", pkitest.RawCRL(t, e.inter.Issuer, now.Add(-time.Hour), now.Add(24*time.Hour), []pkix.Extension{pkitest.CRLNumberExtension(t, 3, false)}))
	if _, err := e.load(e.config([]domainYAML{{hosts: "a.test", mode: "verify"}}, "    crlFiles: [good.crl]\n", "")); err != nil {
		t.Fatalf("load with a numbered CRL: %v", err)
	}
}
