package trust

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// verifyInput is one verification: a truststore, a presented chain, the
// options, and for rejections the certificate the error must blame.
type verifyInput struct {
	cfg   Config
	chain []*x509.Certificate
	opts  VerifyOptions
	blame *x509.Certificate
}

func TestVerify(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	tests := []struct {
		name   string
		setup  func(t *testing.T) verifyInput
		want   error  // nil: admitted
		detail string // substring the Detail must contain
	}{
		// Admitted.
		{
			name: "leaf directly under root",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: root.Client(t, "alice").Chain()}
			},
		},
		{
			name: "leaf under intermediate sent by client",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := root.Intermediate(t, "Partners Intermediate")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: inter.Client(t, "alice").Chain()}
			},
		},
		{
			name: "leaf under intermediate from Config.Intermediates only",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := root.Intermediate(t, "Partners Intermediate")
				leaf := inter.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain(), Intermediates: []*x509.Certificate{inter.Cert}}, chain: []*x509.Certificate{leaf.Cert}}
			},
		},
		{
			name: "RSA-2048 leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyRSA2048, pki.Request{Subject: name("rsa")})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain()}
			},
		},
		{
			name: "Ed25519 leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyEd25519, pki.Request{Subject: name("ed")})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain()}
			},
		},
		{
			name: "four CA levels, bundle of all of them as anchors, default depth",
			setup: func(t *testing.T) verifyInput {
				cas := ladder(t, 3)
				return verifyInput{cfg: Config{Roots: caCerts(cas)}, chain: []*x509.Certificate{cas[3].Client(t, "deep enough").Cert}}
			},
		},
		{
			name: "six CA levels, bundle of all of them as anchors, MaxChainDepth 6",
			setup: func(t *testing.T) verifyInput {
				cas := ladder(t, 5)
				return verifyInput{cfg: Config{Roots: caCerts(cas), MaxChainDepth: 6}, chain: cas[5].Client(t, "deep").Chain()}
			},
		},
		{
			name: "an intermediate held alone is the top",
			setup: func(t *testing.T) verifyInput {
				cas := ladder(t, 5)
				return verifyInput{cfg: Config{Roots: caCerts(cas[5:]), MaxChainDepth: 1}, chain: cas[5].Client(t, "alone").Chain()}
			},
		},
		{
			name: "leaf without EKU by default",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("no-eku"), ExtKeyUsage: []x509.ExtKeyUsage{}})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain()}
			},
		},
		{
			name: "RequireClientAuthEKU: leaf with clientAuth",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("client-eku"), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny, x509.ExtKeyUsageClientAuth}})
				return verifyInput{cfg: Config{Roots: root.Chain(), RequireClientAuthEKU: true}, chain: leaf.Chain()}
			},
		},
		{
			name: "CA certificate as a server leaf (not a client)",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("ca-as-server"), IsCA: true, MaxPathLen: -1,
					DNSNames: []string{"api.example"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), opts: VerifyOptions{Purpose: PurposeServer, DNSName: "api.example"}}
			},
		},
		{
			name: "IgnoreExpiry admits an expired leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("old"), NotBefore: now.Add(-30 * day), NotAfter: now.Add(-day)})
				return verifyInput{cfg: Config{Roots: root.Chain(), IgnoreExpiry: true}, chain: leaf.Chain()}
			},
		},
		{
			name: "five CA levels with MaxChainDepth 5",
			setup: func(t *testing.T) verifyInput {
				cas := ladder(t, 4)
				leaf := cas[4].Client(t, "deep")
				return verifyInput{cfg: Config{Roots: cas[0].Chain(), MaxChainDepth: 5}, chain: leaf.Chain()}
			},
		},
		{
			name: "CRL of the issuer does not list the leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := root.Intermediate(t, "Partners Intermediate")
				other := inter.Client(t, "bob")
				crl := mustCRL(t, inter.CRL(t, time.Time{}, other.Cert.SerialNumber))
				return verifyInput{cfg: Config{Roots: root.Chain(), Intermediates: []*x509.Certificate{inter.Cert}, CRLs: []*x509.RevocationList{crl}}, chain: inter.Client(t, "alice").Chain()}
			},
		},
		{
			name: "server certificate with matching DNS name",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Server(t, "api.example.com", "127.0.0.1")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), opts: VerifyOptions{Purpose: PurposeServer, DNSName: "API.example.com."}}
			},
		},
		{
			name: "server certificate with matching IP",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Server(t, "api.example.com", "127.0.0.1")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), opts: VerifyOptions{Purpose: PurposeServer, DNSName: "127.0.0.1"}}
			},
		},

		// Rejected.
		{
			name: "missing",
			setup: func(t *testing.T) verifyInput {
				return verifyInput{cfg: Config{Roots: pkitest.NewRoot(t, "Root").Chain()}}
			},
			want:   ErrMissing,
			detail: "no certificate",
		},
		{
			name: "nil certificate in chain",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: []*x509.Certificate{root.Client(t, "alice").Cert, nil}}
			},
			want:   ErrInvalid,
			detail: "#2",
		},
		{
			name: "unparsed certificate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: []*x509.Certificate{{SerialNumber: big.NewInt(1)}}}
			},
			want: ErrInvalid,
		},
		{
			name: "untrusted: issued by another root",
			setup: func(t *testing.T) verifyInput {
				root, other := pkitest.NewRoot(t, "Root"), pkitest.NewRoot(t, "Other Root")
				leaf := other.Client(t, "mallory")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrUntrusted,
			detail: `"CN=Other Root,O=certgate test" of "CN=mallory" (serial `,
		},
		{
			name: "untrusted: intermediate neither sent nor configured",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Intermediate(t, "Partners Intermediate").Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: []*x509.Certificate{leaf.Cert}, blame: leaf.Cert}
			},
			want:   ErrUntrusted,
			detail: "Partners Intermediate",
		},
		{
			name: "untrusted: forged issuer name, wrong key",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := root.Intermediate(t, "Partners Intermediate")
				forger := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("Partners Intermediate")})
				leaf := forger.Client(t, "mallory")
				return verifyInput{cfg: Config{Roots: root.Chain(), Intermediates: []*x509.Certificate{inter.Cert}}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrUntrusted,
			detail: "does not verify",
		},
		{
			name: "untrusted: self-signed leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				self := selfSignedLeaf(t, "selfie")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: []*x509.Certificate{self}, blame: self}
			},
			want:   ErrUntrusted,
			detail: "self-signed",
		},
		{
			name: "expired leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("old"), NotBefore: now.Add(-30 * day), NotAfter: now.Add(-day)})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrExpired,
			detail: "expired at",
		},
		{
			name: "not yet valid leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("future"), NotBefore: now.Add(day), NotAfter: now.Add(30 * day)})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrNotYetValid,
			detail: "not valid before",
		},
		{
			name: "expired intermediate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := intermediateValid(t, root, "Old Intermediate", now.Add(-30*day), now.Add(-day))
				leaf := inter.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: inter.Cert}
			},
			want:   ErrExpired,
			detail: "Old Intermediate",
		},
		{
			name: "not yet valid intermediate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := intermediateValid(t, root, "Future Intermediate", now.Add(day), now.Add(30*day))
				leaf := inter.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: inter.Cert}
			},
			want:   ErrNotYetValid,
			detail: "Future Intermediate",
		},
		{
			name: "expired root",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("Old Root"), NotBefore: now.Add(-30 * day), NotAfter: now.Add(-day)})
				leaf := root.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: root.Cert}
			},
			want:   ErrExpired,
			detail: "Old Root",
		},
		{
			name: "IgnoreExpiry with an expired leaf and an expired intermediate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := intermediateValid(t, root, "Old Intermediate", now.Add(-30*day), now.Add(-day))
				leaf := inter.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("old"), NotBefore: now.Add(-20 * day), NotAfter: now.Add(-2 * day)})
				return verifyInput{cfg: Config{Roots: root.Chain(), IgnoreExpiry: true}, chain: leaf.Chain(), blame: inter.Cert}
			},
			want:   ErrExpired,
			detail: "Old Intermediate",
		},
		{
			name: "IgnoreExpiry with a valid leaf and an expired intermediate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := intermediateValid(t, root, "Old Intermediate", now.Add(-30*day), now.Add(-day))
				leaf := inter.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain(), IgnoreExpiry: true}, chain: leaf.Chain(), blame: inter.Cert}
			},
			want:   ErrExpired,
			detail: "Old Intermediate",
		},
		{
			name: "revoked via CRL of the intermediate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := root.Intermediate(t, "Partners Intermediate")
				leaf := inter.Client(t, "alice")
				crl := mustCRL(t, inter.CRL(t, time.Time{}, big.NewInt(7), leaf.Cert.SerialNumber))
				return verifyInput{cfg: Config{Roots: root.Chain(), Intermediates: []*x509.Certificate{inter.Cert}, CRLs: []*x509.RevocationList{crl}}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrRevoked,
			detail: `listed on the CRL of "CN=Partners Intermediate,O=certgate test"`,
		},
		{
			name: "revoked via CRL of the root covering the intermediate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := root.Intermediate(t, "Partners Intermediate")
				leaf := inter.Client(t, "alice")
				crl := mustCRL(t, root.CRL(t, time.Time{}, inter.Cert.SerialNumber))
				return verifyInput{cfg: Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{crl}}, chain: leaf.Chain(), blame: inter.Cert}
			},
			want:   ErrRevoked,
			detail: `"CN=Partners Intermediate,O=certgate test" (serial`,
		},
		{
			name: "revoked via deny-list serial",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain(), DenySerials: []*big.Int{big.NewInt(1), leaf.Cert.SerialNumber}}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrRevoked,
			detail: "deny-list",
		},
		{
			name: "revoked via deny-list serial of the intermediate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := root.Intermediate(t, "Partners Intermediate")
				leaf := inter.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain(), DenySerials: []*big.Int{inter.Cert.SerialNumber}}, chain: leaf.Chain(), blame: inter.Cert}
			},
			want: ErrRevoked,
		},
		{
			name: "revoked via deny-list fingerprint",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain(), DenyFingerprints: [][32]byte{sha256.Sum256(leaf.Cert.Raw)}}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrRevoked,
			detail: "fingerprint",
		},
		{
			name: "CRL stale",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := root.Intermediate(t, "Partners Intermediate")
				leaf := inter.Client(t, "alice")
				crl := mustCRL(t, inter.CRL(t, now.Add(-time.Minute)))
				return verifyInput{cfg: Config{Roots: root.Chain(), Intermediates: []*x509.Certificate{inter.Cert}, CRLs: []*x509.RevocationList{crl}}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrCrlStale,
			detail: "Partners Intermediate",
		},
		{
			name: "five CA levels with MaxChainDepth 4",
			setup: func(t *testing.T) verifyInput {
				cas := ladder(t, 4)
				leaf := cas[4].Client(t, "deep")
				return verifyInput{cfg: Config{Roots: cas[0].Chain(), MaxChainDepth: 4}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrMaxChainDepthExceeded,
			detail: "has 5 CA certificates above the leaf; the truststore allows 4",
		},
		{
			// Item 3 of the outside review: `cat Intermediate… Root >
			// bundle.pem` makes every intermediate an anchor; the depth
			// still counts up to the self-signed root.
			name: "six CA levels, bundle of all of them as anchors, default depth",
			setup: func(t *testing.T) verifyInput {
				cas := ladder(t, 5)
				leaf := cas[5].Client(t, "deep")
				return verifyInput{cfg: Config{Roots: caCerts(cas)}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrMaxChainDepthExceeded,
			detail: "has 6 CA certificates above the leaf (counted up to the self-signed root \"CN=Ladder Root",
		},
		{
			name: "six CA levels, bundle of all of them as anchors, leaf sent alone",
			setup: func(t *testing.T) verifyInput {
				cas := ladder(t, 5)
				leaf := cas[5].Client(t, "deep")
				return verifyInput{cfg: Config{Roots: caCerts(cas)}, chain: []*x509.Certificate{leaf.Cert}, blame: leaf.Cert}
			},
			want:   ErrMaxChainDepthExceeded,
			detail: "has 6 CA certificates above the leaf",
		},
		{
			name: "six CA levels, root an anchor, intermediates configured",
			setup: func(t *testing.T) verifyInput {
				cas := ladder(t, 5)
				leaf := cas[5].Client(t, "deep")
				return verifyInput{cfg: Config{Roots: caCerts(cas[:1]), Intermediates: caCerts(cas[1:])}, chain: []*x509.Certificate{leaf.Cert}, blame: leaf.Cert}
			},
			want:   ErrMaxChainDepthExceeded,
			detail: "has 6 CA certificates above the leaf; the truststore allows 4",
		},
		{
			name: "three of five intermediates as anchors without the root, depth 2",
			setup: func(t *testing.T) verifyInput {
				cas := ladder(t, 5)
				leaf := cas[5].Client(t, "deep")
				return verifyInput{cfg: Config{Roots: caCerts(cas[3:]), MaxChainDepth: 2}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrMaxChainDepthExceeded,
			detail: "has 3 CA certificates above the leaf (counted up to \"CN=Ladder Intermediate C",
		},
		{
			name: "leaf is a CA certificate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("ca-as-client"), IsCA: true, MaxPathLen: -1,
					ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrLeafIsCA,
			detail: "is a CA certificate",
		},
		{
			// openssl req -x509 sets CA:TRUE by default: a certificate the
			// operator pinned as its own anchor is trusted as it is.
			name: "leaf is a CA certificate pinned as an anchor",
			setup: func(t *testing.T) verifyInput {
				pinned := pkitest.NewRoot(t, "pinned-client")
				return verifyInput{cfg: Config{Roots: pinned.Chain()}, chain: pinned.Chain()}
			},
		},
		{
			name: "self-signed CA leaf not pinned",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				other := pkitest.NewRoot(t, "self-made")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: other.Chain(), blame: other.Cert}
			},
			want: ErrLeafIsCA,
		},
		{
			name: "RequireClientAuthEKU: leaf without EKU",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("no-eku"), ExtKeyUsage: []x509.ExtKeyUsage{}})
				return verifyInput{cfg: Config{Roots: root.Chain(), RequireClientAuthEKU: true}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrPurposeInvalid,
			detail: "does not list clientAuth among its extended key usages (none)",
		},
		{
			name: "RequireClientAuthEKU: leaf with only anyExtendedKeyUsage",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("any-eku"), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
				return verifyInput{cfg: Config{Roots: root.Chain(), RequireClientAuthEKU: true}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrPurposeInvalid,
			detail: "(any)",
		},
		{
			name: "more than eleven certificates presented",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Client(t, "alice")
				chain := leaf.Chain()
				for len(chain) < 12 {
					chain = append(chain, root.Cert)
				}
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: chain, blame: leaf.Cert}
			},
			want:   ErrMaxChainDepthExceeded,
			detail: "12 certificates",
		},
		{
			name: "purpose: serverAuth-only leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Server(t, "api.example.com")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrPurposeInvalid,
			detail: "does not allow clientAuth (its extended key usages: serverAuth)",
		},
		{
			name: "purpose: intermediate restricted to serverAuth",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				inter := root.IntermediateWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("Web Intermediate"), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
				leaf := inter.Client(t, "alice")
				// An unrelated root with a restrictive EKU must not be blamed.
				web := pkitest.NewRootWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("Web Root"), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
				return verifyInput{cfg: Config{Roots: []*x509.Certificate{web.Cert, root.Cert}}, chain: leaf.Chain(), blame: inter.Cert}
			},
			want:   ErrPurposeInvalid,
			detail: "Web Intermediate",
		},
		{
			name: "purpose: leaf keyUsage without digitalSignature",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("enc"), KeyUsage: x509.KeyUsageKeyAgreement})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrPurposeInvalid,
			detail: "digitalSignature",
		},
		{
			name: "RSA-1024 leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				key, err := rsa.GenerateKey(rand.Reader, 1024)
				if err != nil {
					t.Fatal(err)
				}
				leaf, err := pki.Issue(root.Issuer, &key.PublicKey, nil, pki.Request{Subject: name("weak")}, now)
				if err != nil {
					t.Fatal(err)
				}
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: []*x509.Certificate{leaf}, blame: leaf}
			},
			want:   ErrTypeUnsupported,
			detail: "RSA key of 1024 bits",
		},
		{
			name: "SHA-1 signed leaf",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRootWith(t, pki.KeyRSA2048, pki.Request{Subject: name("RSA Root")})
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("sha1"), SignatureAlgorithm: x509.SHA1WithRSA})
				if leaf.Cert.SignatureAlgorithm != x509.SHA1WithRSA {
					t.Fatalf("leaf signed with %v, want SHA1-RSA", leaf.Cert.SignatureAlgorithm)
				}
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrTypeUnsupported,
			detail: "SHA-1",
		},
		{
			name: "SHA-1 signed intermediate from Config.Intermediates",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRootWith(t, pki.KeyRSA2048, pki.Request{Subject: name("RSA Root")})
				inter := root.IntermediateWith(t, pki.KeyECDSAP256, pki.Request{Subject: name("SHA1 Intermediate"), SignatureAlgorithm: x509.SHA1WithRSA})
				leaf := inter.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain(), Intermediates: []*x509.Certificate{inter.Cert}}, chain: []*x509.Certificate{leaf.Cert}, blame: inter.Cert}
			},
			want:   ErrTypeUnsupported,
			detail: "SHA1 Intermediate",
		},
		{
			name: "SHA-1 self-signed root is fine",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRootWith(t, pki.KeyRSA2048, pki.Request{Subject: name("Old RSA Root"), SignatureAlgorithm: x509.SHA1WithRSA})
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("alice"), SignatureAlgorithm: x509.SHA256WithRSA})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: append(leaf.Chain(), root.Cert)}
			},
		},
		{
			name: "oversized certificate",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain(), MaxCertSize: 200}, chain: leaf.Chain(), blame: leaf.Cert}
			},
			want:   ErrMaxSizeExceeded,
			detail: "allows 200",
		},
		{
			name: "issuer is not a CA",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				parent := root.Client(t, "not a ca")
				leaf := (&pkitest.CA{Issuer: &pki.Issuer{Cert: parent.Cert, Key: parent.Key}}).Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: []*x509.Certificate{leaf.Cert, parent.Cert}, blame: parent.Cert}
			},
			want: ErrInvalid,
		},
		{
			name: "path length constraint",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				i1, err := root.NewSubordinate(pki.KeyECDSAP256, name("Zero Path Intermediate"), now, 365*day, 0)
				if err != nil {
					t.Fatal(err)
				}
				ca1 := &pkitest.CA{Issuer: i1, Parent: root}
				i2 := ca1.Intermediate(t, "Too Deep Intermediate")
				leaf := i2.Client(t, "alice")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), blame: i1.Cert}
			},
			want:   ErrInvalid,
			detail: "allows 0 intermediates",
		},
		{
			name: "unhandled critical extension",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				key, err := pki.GenerateKey(pki.KeyECDSAP256)
				if err != nil {
					t.Fatal(err)
				}
				der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
					SerialNumber: big.NewInt(77), Subject: name("odd"), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(day),
					KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
					ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{5, 0}}},
				}, root.Cert, key.Public(), root.Key)
				if err != nil {
					t.Fatal(err)
				}
				leaf, err := x509.ParseCertificate(der)
				if err != nil {
					t.Fatal(err)
				}
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: []*x509.Certificate{leaf}, blame: leaf}
			},
			want:   ErrInvalid,
			detail: "1.3.6.1.4.1.99999.1",
		},
		{
			name: "server: name mismatch",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Server(t, "api.example.com")
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), opts: VerifyOptions{Purpose: PurposeServer, DNSName: "evil.example.com"}, blame: leaf.Cert}
			},
			want:   ErrNameMismatch,
			detail: "evil.example.com",
		},
		{
			name: "server: client-only EKU",
			setup: func(t *testing.T) verifyInput {
				root := pkitest.NewRoot(t, "Root")
				leaf := root.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("api.example.com"), DNSNames: []string{"api.example.com"}})
				return verifyInput{cfg: Config{Roots: root.Chain()}, chain: leaf.Chain(), opts: VerifyOptions{Purpose: PurposeServer, DNSName: "api.example.com"}, blame: leaf.Cert}
			},
			want:   ErrPurposeInvalid,
			detail: "does not allow serverAuth",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.setup(t)
			if in.opts.Now.IsZero() {
				in.opts.Now = now
			}
			s := mustNew(t, in.cfg, now)
			id, err := s.Verify(in.chain, in.opts)
			t.Logf("Verify() = %v", err)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify() = %v, want admitted", err)
				}
				checkAdmitted(t, s, id, in.chain)
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify() = %v, want %v", err, tt.want)
			}
			if id != nil {
				t.Errorf("Verify() returned identity %+v with error", id)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify() error %T is not *Error", err)
			}
			if !strings.Contains(e.Detail, tt.detail) {
				t.Errorf("Detail = %q, want it to contain %q", e.Detail, tt.detail)
			}
			if in.blame != nil && e.Cert != in.blame {
				got := "<nil>"
				if e.Cert != nil {
					got = e.Cert.Subject.String()
				}
				t.Errorf("Error.Cert = %s, want %s", got, in.blame.Subject)
			}
			if want := e.Reason.Code(in.opts.Purpose) + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
			}
			if strings.Contains(err.Error(), "BEGIN") {
				t.Errorf("Error() = %q contains PEM", err.Error())
			}
		})
	}
}

// checkAdmitted checks the invariants of an admitted chain.
func checkAdmitted(t *testing.T, s *Store, id *Identity, presented []*x509.Certificate) {
	t.Helper()
	if id == nil || !id.Verified {
		t.Fatalf("Verify() identity = %+v, want verified", id)
	}
	if id.Leaf != presented[0] || id.Chain[0] != presented[0] {
		t.Errorf("identity leaf is not the presented leaf")
	}
	if !s.isRoot(id.Chain[len(id.Chain)-1]) {
		t.Errorf("identity chain ends in %s, not a root", id.Chain[len(id.Chain)-1].Subject)
	}
}

func TestVerifyZeroNow(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	s := mustNew(t, Config{Roots: root.Chain()}, time.Now())
	if _, err := s.Verify(root.Client(t, "alice").Chain(), VerifyOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify(Now: zero) = %v, want %v", err, ErrInvalid)
	}
}

func TestVerifyNilStore(t *testing.T) {
	var s *Store
	if _, err := s.Verify(nil, VerifyOptions{Now: time.Now()}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("(*Store)(nil).Verify() = %v, want %v", err, ErrUntrusted)
	}
}

func TestVerifyServerCodes(t *testing.T) {
	root, other := pkitest.NewRoot(t, "Root"), pkitest.NewRoot(t, "Other")
	s := mustNew(t, Config{Roots: root.Chain()}, time.Now())
	_, err := s.Verify(other.Server(t, "api.example.com").Chain(), VerifyOptions{Now: time.Now(), Purpose: PurposeServer})
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Verify() = %v, want %v", err, ErrUntrusted)
	}
	if !strings.HasPrefix(err.Error(), "ServerCertUntrusted: ") {
		t.Errorf("Error() = %q, want prefix ServerCertUntrusted", err)
	}
}

// TestVerifyRevokedEvenIfStale: a listed certificate is reported revoked
// even when the CRL that lists it is past nextUpdate.
func TestVerifyRevokedEvenIfStale(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	leaf := root.Client(t, "alice")
	crl := mustCRL(t, root.CRL(t, now.Add(-time.Minute), leaf.Cert.SerialNumber))
	s := mustNew(t, Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{crl}}, now)
	if _, err := s.Verify(leaf.Chain(), VerifyOptions{Now: now}); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify() = %v, want %v", err, ErrRevoked)
	}
}

// TestVerifyCRLOnlyForItsIssuer: a CRL applies to certificates of its own
// issuer only, even when another CA issued a certificate with a listed
// serial.
func TestVerifyCRLOnlyForItsIssuer(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	a, b := root.Intermediate(t, "A"), root.Intermediate(t, "B")
	leaf := b.Issue(t, pki.KeyECDSAP256, pki.Request{Subject: name("alice"), Serial: big.NewInt(42)})
	crl := mustCRL(t, a.CRL(t, time.Time{}, big.NewInt(42)))
	s := mustNew(t, Config{Roots: root.Chain(), Intermediates: a.Chain()[:1], CRLs: []*x509.RevocationList{crl}}, now)
	if _, err := s.Verify(leaf.Chain(), VerifyOptions{Now: now}); err != nil {
		t.Errorf("Verify() = %v, want admitted", err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	inter := root.Intermediate(t, "Partners Intermediate")
	good, bad := inter.Client(t, "alice"), inter.Client(t, "mallory")
	crl := mustCRL(t, inter.CRL(t, time.Time{}, bad.Cert.SerialNumber))
	s := mustNew(t, Config{Roots: root.Chain(), Intermediates: inter.Chain()[:1], CRLs: []*x509.RevocationList{crl}}, now)
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 20 {
				if _, err := s.Verify(good.Chain(), VerifyOptions{Now: now}); err != nil {
					t.Errorf("Verify(good) = %v", err)
				}
				if _, err := s.Verify(bad.Chain(), VerifyOptions{Now: now}); !errors.Is(err, ErrRevoked) {
					t.Errorf("Verify(bad) = %v, want %v", err, ErrRevoked)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

// TestVerifyStaleAndFreshCRL: one current CRL of an issuer is enough; an
// older one that lingers does not make its certificates stale.
func TestVerifyStaleAndFreshCRL(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Root")
	leaf := root.Client(t, "alice")
	old := mustCRL(t, root.CRL(t, now.Add(-time.Minute)))
	cur := mustCRL(t, root.CRL(t, time.Time{}))
	for _, tt := range []struct {
		name string
		crls []*x509.RevocationList
		want error
	}{
		{"stale only", []*x509.RevocationList{old}, ErrCrlStale},
		{"stale and fresh", []*x509.RevocationList{old, cur}, nil},
		{"fresh and stale", []*x509.RevocationList{cur, old}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, Config{Roots: root.Chain(), CRLs: tt.crls}, now)
			_, err := s.Verify(leaf.Chain(), VerifyOptions{Now: now})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify() = %v, want %v", err, tt.want)
			}
		})
	}
}
