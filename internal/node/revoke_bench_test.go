package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkRevokeToRefusal measures, on one store-backed node, the time
// from the revoke API's 2xx answer to the first refused handshake of the
// revoked certificate (the truststore follows the certgate CA). It
// reports the median and p99 (ms) over b.N revocations.
//
//	go test -run '^$' -bench RevokeToRefusal -benchtime 100x ./internal/node/
func BenchmarkRevokeToRefusal(b *testing.B) {
	tn := startNode(b, nil)
	var ca caObj
	tn.do("POST", "/v1/cas", map[string]any{"name": "partners-ca", "subject": map[string]any{"commonName": "Partners CA"}}, &ca)
	tn.caGateway(ca.ID)
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: fmt.Sprintf("p-%d", i)}}, key)
		var iss issuedObj
		tn.do("POST", "/v1/cas/"+ca.ID+"/issue", map[string]any{"csr": string(pemBlock("CERTIFICATE REQUEST", der))}, &iss)
		leaf, err := parsePEM(iss.CertificatePEM)
		if err != nil {
			b.Fatal(err)
		}
		cfg := tn.tlsConfig(tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key})
		if code, err := tn.get(cfg, "/x"); err != nil || code != 200 {
			b.Fatalf("issued certificate not admitted: %d %v", code, err)
		}
		b.StartTimer()
		tn.do("POST", "/v1/cas/"+ca.ID+"/revoke", map[string]any{"serial": iss.Serial}, nil)
		t0 := time.Now()
		for {
			code, err := tn.get(cfg, "/x")
			if err != nil || code != 200 {
				break
			}
			if time.Since(t0) > 10*time.Second {
				b.Fatal("still admitted 10 s after the revocation")
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "median-ms")
	b.ReportMetric(ms(lat[(len(lat)*99)/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}
