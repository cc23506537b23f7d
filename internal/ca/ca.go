package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/store"
)

// CA defaults and limits.
const (
	DefaultRootCADays        = 3650
	DefaultSubordinateCADays = 1825
	MaxCADays                = 36500
	DefaultCRLValidity       = 7 * 24 * time.Hour
	MinCRLValidity           = time.Hour
	MaxCRLValidity           = 365 * 24 * time.Hour
	// CRLPath is where the gateway publishes a CA's CRL: the prefix of
	// "{ca-id}.crl".
	CRLPath = "/.well-known/certgate/crl/"
	// OCSPPath is where the gateway answers OCSP for a CA: the prefix of
	// "{ca-id}".
	OCSPPath = "/.well-known/certgate/ocsp/"
)

// Options configure a Service. Store and Key are required.
type Options struct {
	// Store holds the CAs, their issued certificates and sealed keys.
	Store store.Store
	// Key seals the CAs' private keys (AAD keyring.SecretAAD).
	Key *keyring.MasterKey
	// Update runs fn in one write transaction as actor and returns the
	// revision committed. The admin API checks the candidate
	// configuration in it. nil: Store.Update at Now().
	Update func(ctx context.Context, actor store.Actor, fn func(tx store.Tx) error) (int64, error)
	// Now is the clock of validity, CRL dates and re-signing; nil means
	// time.Now.
	Now func() time.Time
	// Logger receives what ResignDue did; nil discards.
	Logger *slog.Logger
	// PublicURL is the base URL (scheme://host[:port]) of the gateway's
	// public documents: a CA writes PublicURL + CRLPath + "{ca-id}.crl"
	// into what it issues as the CRL distribution point, and PublicURL +
	// OCSPPath + "{ca-id}" as the OCSP responder. Empty: none unless a CA
	// is given a crlUrl.
	PublicURL string
}

// Service runs the CA operations. It is safe for concurrent use; every
// write is one store transaction.
type Service struct {
	opts   Options
	st     store.Store
	now    func() time.Time
	log    *slog.Logger
	update func(ctx context.Context, actor store.Actor, fn func(tx store.Tx) error) (int64, error)
}

// New returns a Service over opts.
func New(opts Options) *Service {
	s := &Service{opts: opts, st: opts.Store, now: opts.Now, log: opts.Logger, update: opts.Update}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.update == nil {
		s.update = func(ctx context.Context, actor store.Actor, fn func(tx store.Tx) error) (int64, error) {
			return s.st.Update(ctx, actor, s.now(), fn)
		}
	}
	return s
}

// Written is what a write committed.
type Written struct {
	// Revision is the store revision of the write.
	Revision int64
	// Rev is the written object's revision (its ETag).
	Rev int64
}

// Match is an If-Match check of an object's revision; nil matches any.
type Match func(rev int64) bool

// precondition refuses o when match does not accept its revision.
func precondition(o store.Object, match Match) error {
	if match != nil && !match(o.Rev) {
		return &Error{Kind: PreconditionFailed, Message: fmt.Sprintf("the object is at revision %d, not the one given in If-Match; read it again", o.Rev)}
	}
	return nil
}

// SecretReader reads sealed secrets: a store.Tx or a store.ReadTx.
type SecretReader interface {
	GetSecret(id string) (store.Secret, error)
}

// OpenKey unseals the private key kept as secret id (PEM).
func OpenKey(k *keyring.MasterKey, tx SecretReader, id string) ([]byte, error) {
	sec, err := tx.GetSecret(id)
	if err != nil {
		return nil, err
	}
	return keyring.Open(k, keyring.Sealed{KEKID: sec.KEKID, WrappedDEK: sec.WrappedDEK, Ciphertext: sec.Ciphertext}, keyring.SecretAAD(id))
}

// SealKey seals a private key (PEM) as a new secret; the caller sets its
// Owner and puts it.
func SealKey(k *keyring.MasterKey, keyPEM []byte) (store.Secret, error) {
	id := store.NewID("sec")
	sealed, err := keyring.Seal(k, keyPEM, keyring.SecretAAD(id))
	if err != nil {
		return store.Secret{}, fmt.Errorf("seal private key: %w", err)
	}
	return store.Secret{ID: id, KEKID: sealed.KEKID, WrappedDEK: sealed.WrappedDEK, Ciphertext: sealed.Ciphertext}, nil
}

// NewKey generates a key of type kt and seals it as a new secret. RSA
// 4096 takes a while: call it outside a transaction.
func NewKey(k *keyring.MasterKey, kt pki.KeyType) (crypto.Signer, store.Secret, error) {
	key, err := pki.GenerateKey(kt)
	if err != nil {
		return nil, store.Secret{}, err
	}
	keyPEM, err := pki.KeyPEM(key)
	if err != nil {
		return nil, store.Secret{}, err
	}
	sec, err := SealKey(k, keyPEM)
	if err != nil {
		return nil, store.Secret{}, err
	}
	return key, sec, nil
}

// ParseChain reads the certificates of a PEM text, skipping what does
// not parse (the store holds what certgate wrote).
func ParseChain(pemText string) []*x509.Certificate {
	var out []*x509.Certificate
	rest := []byte(pemText)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			out = append(out, c)
		}
	}
}

// decodeBody decodes a stored body; a body that does not decode is an
// internal error (the store holds what certgate wrote).
func decodeBody(o store.Object, v any) error {
	if err := json.Unmarshal(o.Body, v); err != nil {
		return fmt.Errorf("%s %s: stored body does not decode: %w", o.Kind, o.ID, err)
	}
	return nil
}

// mustJSON encodes a body for the store.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ca: encode stored body: " + err.Error()) // our own types only
	}
	return b
}

// missing reports whether err means "no such object" (a malformed ID
// included).
func missing(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid)
}

// getter reads objects: a store.Tx, a store.ReadTx, or the store with a
// context.
type getter interface {
	Get(kind, id string) (store.Object, error)
}

type storeGetter struct {
	ctx context.Context
	st  store.Store
}

func (g storeGetter) Get(kind, id string) (store.Object, error) { return g.st.Get(g.ctx, kind, id) }

// getCA reads a CA by ID (NotFound).
func getCA(tx getter, id string) (store.Object, model.CA, error) {
	o, err := tx.Get(model.KindCA, id)
	if missing(err) {
		return o, model.CA{}, notFound("", "no CA with ID %.64q", id)
	}
	if err != nil {
		return o, model.CA{}, err
	}
	var ca model.CA
	err = decodeBody(o, &ca)
	return o, ca, err
}

func (s *Service) ocspURLFor(id string) string {
	if s.opts.PublicURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.opts.PublicURL, "/") + OCSPPath + id
}

func (s *Service) crlURLFor(id, override string) string {
	if override != "" {
		return override
	}
	if s.opts.PublicURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.opts.PublicURL, "/") + CRLPath + id + ".crl"
}

// View shows a stored CA object.
func View(o store.Object) (api.CA, error) {
	var ca model.CA
	if err := decodeBody(o, &ca); err != nil {
		return api.CA{}, err
	}
	j := api.CA{
		ID: o.ID, CARecord: ca.CARecord, CertificatePEM: ca.CertPEM, CRLValidity: ca.CRLValidity.String(),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
	if certs := ParseChain(ca.CertPEM); len(certs) > 0 {
		c := certs[0]
		j.Subject, j.Serial, j.SHA256, j.NotBefore, j.NotAfter = c.Subject.String(), c.SerialNumber.Text(16), pki.Fingerprint(c), c.NotBefore, c.NotAfter
	}
	if ca.CRLPEM != "" {
		j.CRL = &api.CRLInfo{Number: ca.CRLNumber, ThisUpdate: ca.CRLThisUpdate, NextUpdate: ca.CRLNextUpdate, URL: ca.CRLURL}
	}
	return j, nil
}

// IssuedView shows a stored issued-certificate object.
func IssuedView(o store.Object) (api.IssuedCertificate, error) {
	var r model.Issued
	if err := decodeBody(o, &r); err != nil {
		return api.IssuedCertificate{}, err
	}
	return api.IssuedCertificate{ID: o.ID, CAID: o.Parent, IssuedRecord: r.IssuedRecord, IssuedAt: o.CreatedAt, CertificatePEM: r.CertPEM}, nil
}
