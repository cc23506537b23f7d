package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The benchmark's one PKI, shared by every peer (all ECDSA P-256):
//
//	client-root.pem    client root CA: the truststore every peer verifies against
//	client.pem/.key    client leaf, signed by an intermediate; the file holds
//	                   the leaf then the intermediate, as the client presents them
//	server-ca.pem      a separate CA for the server certificate
//	server.pem/.key    server leaf for localhost and 127.0.0.1
//	server-full.pem    server leaf and key in one file (HAProxy's crt)
//	rogue.pem/.key     a client chain with the same subject from an untrusted
//	                   root, which every peer must refuse (sanity check)
//
// The files are written by the generator rather than openssl so the
// benchmark needs nothing but Go, and it keeps bench/ independent of
// certgate's internal packages.
const (
	clientCN = "bench-client"
	clientO  = "certgate-bench"
)

func runPKI(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("pki", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory to write the PKI into (created)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("pki: -dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	now := time.Now()
	subject := pkix.Name{CommonName: clientCN, Organization: []string{clientO}}

	root, err := newCA(nil, pkix.Name{CommonName: "certgate bench client root CA", Organization: []string{clientO}}, now, -1)
	if err != nil {
		return err
	}
	inter, err := newCA(root, pkix.Name{CommonName: "certgate bench client intermediate CA", Organization: []string{clientO}}, now, 0)
	if err != nil {
		return err
	}
	client, err := newLeaf(inter, subject, now, x509.ExtKeyUsageClientAuth, nil, nil)
	if err != nil {
		return err
	}
	serverCA, err := newCA(nil, pkix.Name{CommonName: "certgate bench server CA", Organization: []string{clientO}}, now, -1)
	if err != nil {
		return err
	}
	server, err := newLeaf(serverCA, pkix.Name{CommonName: "localhost", Organization: []string{clientO}}, now,
		x509.ExtKeyUsageServerAuth, []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	rogueRoot, err := newCA(nil, pkix.Name{CommonName: "certgate bench client root CA", Organization: []string{"rogue"}}, now, -1)
	if err != nil {
		return err
	}
	rogue, err := newLeaf(rogueRoot, subject, now, x509.ExtKeyUsageClientAuth, nil, nil)
	if err != nil {
		return err
	}

	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"client-root.pem", certPEM(root.cert), 0o644},
		{"client.pem", certPEM(client.cert, inter.cert), 0o644},
		{"client.key", keyPEM(client.key), 0o600},
		{"server-ca.pem", certPEM(serverCA.cert), 0o644},
		{"server.pem", certPEM(server.cert), 0o644},
		{"server.key", keyPEM(server.key), 0o600},
		{"server-full.pem", append(certPEM(server.cert), keyPEM(server.key)...), 0o600},
		{"rogue.pem", certPEM(rogue.cert, rogueRoot.cert), 0o644},
		{"rogue.key", keyPEM(rogue.key), 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(*dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// newCA makes a root (parent nil) or an intermediate CA. maxPathLen -1
// leaves the path length unconstrained.
func newCA(parent *issuer, name pkix.Name, now time.Time, maxPathLen int) (*issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               name,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPathLen,
		MaxPathLenZero:        maxPathLen == 0,
	}
	signer, parentCert := crypto.Signer(key), tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("pki: CA %q: %w", name.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &issuer{cert: cert, key: key}, nil
}

func newLeaf(ca *issuer, name pkix.Name, now time.Time, eku x509.ExtKeyUsage, dns []string, ips []net.IP) (*issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               name,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{eku},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: leaf %q: %w", name.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &issuer{cert: cert, key: key}, nil
}

func certPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func keyPEM(k crypto.Signer) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // an ECDSA key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
