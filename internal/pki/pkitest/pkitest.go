// Package pkitest builds throw-away PKIs for tests: a fresh root per test,
// intermediates, leaves with any profile and CRLs. It fails the test on any
// error, so call sites stay one line.
package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
)

// CA is a test certificate authority. Parent is nil for a root.
type CA struct {
	*pki.Issuer
	Parent *CA
}

// NewRoot returns a fresh ECDSA P-256 root CA valid for ten years.
func NewRoot(t testing.TB, cn string) *CA {
	t.Helper()
	iss, err := pki.NewRoot(pki.KeyECDSAP256, pkix.Name{CommonName: cn, Organization: []string{"certgate test"}}, time.Now(), 10*365*24*time.Hour)
	if err != nil {
		t.Fatalf("pkitest: new root %q: %v", cn, err)
	}
	return &CA{Issuer: iss}
}

// NewRootWith returns a root built from an explicit request (any key type,
// validity or signature algorithm).
func NewRootWith(t testing.TB, kt pki.KeyType, req pki.Request) *CA {
	t.Helper()
	key, err := pki.GenerateKey(kt)
	if err != nil {
		t.Fatalf("pkitest: key: %v", err)
	}
	req.IsCA = true
	if req.MaxPathLen == 0 {
		req.MaxPathLen = -1
	}
	cert, err := pki.Issue(nil, key.Public(), key, req, time.Now())
	if err != nil {
		t.Fatalf("pkitest: root: %v", err)
	}
	return &CA{Issuer: &pki.Issuer{Cert: cert, Key: key}}
}

// Intermediate returns a CA signed by ca.
func (ca *CA) Intermediate(t testing.TB, cn string) *CA {
	t.Helper()
	iss, err := ca.NewSubordinate(pki.KeyECDSAP256, pkix.Name{CommonName: cn, Organization: []string{"certgate test"}}, time.Now(), 5*365*24*time.Hour, -1)
	if err != nil {
		t.Fatalf("pkitest: intermediate %q: %v", cn, err)
	}
	return &CA{Issuer: iss, Parent: ca}
}

// IntermediateWith returns a CA signed by ca from an explicit request.
func (ca *CA) IntermediateWith(t testing.TB, kt pki.KeyType, req pki.Request) *CA {
	t.Helper()
	key, err := pki.GenerateKey(kt)
	if err != nil {
		t.Fatalf("pkitest: key: %v", err)
	}
	req.IsCA = true
	if req.MaxPathLen == 0 {
		req.MaxPathLen = -1
	}
	cert, err := pki.Issue(ca.Issuer, key.Public(), nil, req, time.Now())
	if err != nil {
		t.Fatalf("pkitest: intermediate: %v", err)
	}
	return &CA{Issuer: &pki.Issuer{Cert: cert, Key: key}, Parent: ca}
}

// Chain returns ca and its ancestors, ca first, root last.
func (ca *CA) Chain() []*x509.Certificate {
	var out []*x509.Certificate
	for c := ca; c != nil; c = c.Parent {
		out = append(out, c.Cert)
	}
	return out
}

// PEM returns ca's certificate as PEM.
func (ca *CA) PEM() []byte { return pki.CertPEM(ca.Cert) }

// Leaf is an issued end-entity certificate with its key and the
// intermediates a client would send after it (root excluded).
type Leaf struct {
	Cert          *x509.Certificate
	Key           crypto.Signer
	Intermediates []*x509.Certificate
}

// Chain returns the leaf followed by its intermediates, as a client sends it.
func (l *Leaf) Chain() []*x509.Certificate {
	return append([]*x509.Certificate{l.Cert}, l.Intermediates...)
}

// ChainPEM returns Chain() as PEM, leaf first.
func (l *Leaf) ChainPEM() []byte { return pki.CertPEM(l.Chain()...) }

// KeyPEM returns the private key as PKCS#8 PEM.
func (l *Leaf) KeyPEM() []byte {
	b, err := pki.KeyPEM(l.Key)
	if err != nil {
		panic(err)
	}
	return b
}

// TLS returns a tls.Certificate carrying the leaf and its intermediates.
func (l *Leaf) TLS() tls.Certificate {
	c := tls.Certificate{PrivateKey: l.Key, Leaf: l.Cert}
	for _, x := range l.Chain() {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c
}

// Client issues a client certificate (clientAuth EKU) with common name cn.
func (ca *CA) Client(t testing.TB, cn string) *Leaf {
	t.Helper()
	return ca.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: pkix.Name{CommonName: cn}})
}

// Server issues a server certificate for the given DNS names and IPs.
func (ca *CA) Server(t testing.TB, hosts ...string) *Leaf {
	t.Helper()
	req := pki.Request{Subject: pkix.Name{CommonName: hosts[0]}, Profile: pki.ProfileServer}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			req.IPs = append(req.IPs, ip)
		} else {
			req.DNSNames = append(req.DNSNames, h)
		}
	}
	return ca.Issue(t, pki.KeyECDSAP256, req)
}

// Issue signs a leaf from an explicit request with a fresh key of type kt.
func (ca *CA) Issue(t testing.TB, kt pki.KeyType, req pki.Request) *Leaf {
	t.Helper()
	key, err := pki.GenerateKey(kt)
	if err != nil {
		t.Fatalf("pkitest: key: %v", err)
	}
	return ca.IssueWithKey(t, key, req)
}

// CRL returns a DER CRL signed by ca revoking serials, valid from an hour
// ago until nextUpdate (zero: a week from now).
func (ca *CA) CRL(t testing.TB, nextUpdate time.Time, serials ...*big.Int) []byte {
	t.Helper()
	now := time.Now()
	if nextUpdate.IsZero() {
		nextUpdate = now.Add(7 * 24 * time.Hour)
	}
	var es []pki.RevokedEntry
	for _, s := range serials {
		es = append(es, pki.RevokedEntry{Serial: s, RevokedAt: now.Add(-time.Minute)})
	}
	der, err := ca.SignCRL(es, now.UnixNano(), now.Add(-time.Hour), nextUpdate)
	if err != nil {
		t.Fatalf("pkitest: CRL: %v", err)
	}
	return der
}

// CRLSeries signs successive CRLs of CA, each with a higher number and a
// later thisUpdate than the one before (a CRL fetcher refuses an older
// copy). N is the number of the last CRL signed.
type CRLSeries struct {
	CA *CA
	N  int64
}

// Next returns the next CRL revoking serials, valid until nextUpdate
// (zero: a day from now).
func (c *CRLSeries) Next(t testing.TB, nextUpdate time.Time, serials ...*big.Int) []byte {
	t.Helper()
	c.N++
	now := time.Now()
	var es []pki.RevokedEntry
	for _, s := range serials {
		es = append(es, pki.RevokedEntry{Serial: s, RevokedAt: now.Add(-time.Minute)})
	}
	if nextUpdate.IsZero() {
		nextUpdate = now.Add(24 * time.Hour)
	}
	der, err := c.CA.SignCRL(es, c.N, now.Add(-time.Hour).Add(time.Duration(c.N)*time.Second), nextUpdate)
	if err != nil {
		t.Fatalf("pkitest: CRL: %v", err)
	}
	return der
}

// MustURL parses u or panics; for building URI SANs in tests.
func MustURL(u string) *url.URL {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	return p
}

// IssueWithKey signs a leaf for an existing key (for deliberately weak keys
// that pki.GenerateKey refuses to make).
func (ca *CA) IssueWithKey(t testing.TB, key crypto.Signer, req pki.Request) *Leaf {
	t.Helper()
	cert, err := pki.Issue(ca.Issuer, key.Public(), nil, req, time.Now())
	if err != nil {
		t.Fatalf("pkitest: issue: %v", err)
	}
	var inter []*x509.Certificate
	for c := ca; c != nil && c.Parent != nil; c = c.Parent {
		inter = append(inter, c.Cert)
	}
	return &Leaf{Cert: cert, Key: key, Intermediates: inter}
}

// RawCRL signs with iss a CRL revoking serial 2 whose extensions are
// exactly exts. crypto/x509 always writes a non-critical CRL number, so
// tests of CRLs without one, or with a critical one, build them here.
// iss must have an ECDSA (signed with SHA-256) or Ed25519 key.
func RawCRL(t testing.TB, iss *pki.Issuer, thisUpdate, nextUpdate time.Time, exts []pkix.Extension) []byte {
	t.Helper()
	var (
		alg  pkix.AlgorithmIdentifier
		hash crypto.Hash
	)
	switch iss.Key.Public().(type) {
	case *ecdsa.PublicKey:
		alg.Algorithm, hash = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, crypto.SHA256 // ecdsa-with-SHA256
	case ed25519.PublicKey:
		alg.Algorithm = asn1.ObjectIdentifier{1, 3, 101, 112}
	default:
		t.Fatalf("pkitest: RawCRL: unsupported key %T", iss.Key.Public())
	}
	thisUpdate, nextUpdate = thisUpdate.UTC().Truncate(time.Second), nextUpdate.UTC().Truncate(time.Second)
	tbs := struct {
		Version    int `asn1:"optional"`
		Signature  pkix.AlgorithmIdentifier
		Issuer     asn1.RawValue
		ThisUpdate time.Time
		NextUpdate time.Time
		Revoked    []pkix.RevokedCertificate `asn1:"optional"`
		Extensions []pkix.Extension          `asn1:"tag:0,optional,explicit"`
	}{
		Version: 1, Signature: alg, Issuer: asn1.RawValue{FullBytes: iss.Cert.RawSubject},
		ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		Revoked:    []pkix.RevokedCertificate{{SerialNumber: big.NewInt(2), RevocationTime: thisUpdate}},
		Extensions: exts,
	}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		t.Fatalf("pkitest: RawCRL: %v", err)
	}
	signed := tbsDER
	if hash != 0 {
		sum := sha256.Sum256(tbsDER)
		signed = sum[:]
	}
	sig, err := iss.Key.Sign(rand.Reader, signed, hash)
	if err != nil {
		t.Fatalf("pkitest: RawCRL: %v", err)
	}
	der, err := asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{asn1.RawValue{FullBytes: tbsDER}, alg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatalf("pkitest: RawCRL: %v", err)
	}
	return der
}

// CRLNumberExtension is a cRLNumber extension (RFC 5280 §5.2.3) with
// value n, for RawCRL.
func CRLNumberExtension(t testing.TB, n int64, critical bool) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(big.NewInt(n))
	if err != nil {
		t.Fatalf("pkitest: CRL number: %v", err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 20}, Critical: critical, Value: v}
}

// BigCRL returns a DER CRL signed by ca that revokes serials 1..n (a
// million entries: 21 MB of DER, built in about a second). The
// structure comes from pki.Issuer.SignCRL (an empty CRL); the entries are
// encoded here and the list is signed again with ca's key, because
// encoding/asn1 takes most of a minute for a million entries under the
// race detector.
func (ca *CA) BigCRL(t testing.TB, n int) []byte {
	t.Helper()
	now := time.Now()
	tmpl, err := ca.SignCRL(nil, 1, now.Add(-time.Hour), now.Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var outer struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(tmpl, &outer); err != nil {
		t.Fatal(err)
	}
	// TBSCertList: version, signature, issuer, thisUpdate, nextUpdate,
	// [revokedCertificates], [0] crlExtensions.
	var fields []asn1.RawValue
	for rest := outer.TBS.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			t.Fatal(err)
		}
		fields = append(fields, f)
	}
	if len(fields) != 6 {
		t.Fatalf("template CRL has %d TBS fields, want 6", len(fields))
	}
	// Each entry: SEQUENCE { INTEGER serial, UTCTime revocationDate },
	// written in place (serials below 2^23 need at most 3 bytes).
	revokedAt := now.Add(-time.Hour).UTC().Format("060102150405Z")
	entries := make([]byte, 0, n*22)
	var serial [4]byte
	for i := 1; i <= n; i++ {
		s := serial[:0]
		for v := i; v > 0; v >>= 8 {
			s = append([]byte{byte(v)}, s...)
		}
		if s[0]&0x80 != 0 {
			s = append([]byte{0}, s...)
		}
		entries = append(entries, 0x30, byte(2+len(s)+2+len(revokedAt)), 0x02, byte(len(s)))
		entries = append(entries, s...)
		entries = append(entries, 0x17, byte(len(revokedAt)))
		entries = append(entries, revokedAt...)
	}
	var tbs []byte
	for _, f := range fields[:5] {
		tbs = append(tbs, f.FullBytes...)
	}
	tbs = append(tbs, derTLV(0x30, entries)...)
	tbs = append(tbs, fields[5].FullBytes...)
	tbs = derTLV(0x30, tbs)
	digest := sha256.Sum256(tbs)
	sig, err := ca.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	body := append(tbs, outer.SigAlg.FullBytes...)
	body = append(body, derTLV(0x03, append([]byte{0}, sig...))...)
	return derTLV(0x30, body)
}

// derTLV encodes one DER element with a definite length.
func derTLV(tag byte, content []byte) []byte {
	out := []byte{tag}
	switch n := len(content); {
	case n < 0x80:
		out = append(out, byte(n))
	default:
		var l []byte
		for ; n > 0; n >>= 8 {
			l = append([]byte{byte(n)}, l...)
		}
		out = append(out, 0x80|byte(len(l)))
		out = append(out, l...)
	}
	return append(out, content...)
}
