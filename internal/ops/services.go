package ops

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// Checker judges the whole candidate configuration inside a write
// transaction, after the change: items are the candidate's objects
// (truststore versions no domain uses are left out) and openKey reads the
// transaction's sealed keys and read the transaction's other objects
// (truststore contents, read only on a cache miss). A non-nil error
// refuses the write.
type Checker func(ctx context.Context, items []model.Item, openKey model.KeyOpener, read model.ObjectReader) error

// CheckError is what the Checker returned: the candidate configuration
// is refused and nothing was written. A *config.ValidationError (or one
// it wraps) lists the fields at fault.
type CheckError struct{ Err error }

func (e *CheckError) Error() string { return "check: " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// ServicesOptions configure every operation. Store and Key are required.
type ServicesOptions struct {
	// Store holds the configuration.
	Store store.Store
	// Key seals and opens private keys at rest.
	Key *keyring.MasterKey
	// Check judges each write's candidate configuration in its
	// transaction; nil writes without a check.
	Check Checker
	// Now is the clock of writes and lint checks; nil means time.Now.
	Now func() time.Time
	// Logger receives what the CA operations log; nil discards.
	Logger *slog.Logger
	// PublicURL is the base URL of the gateway's public documents (CRL
	// distribution points); see ca.Options.
	PublicURL string
}

// Services are the operations of a configuration store, each write run
// through one checked transaction. The admin API and the web console
// both call them, so validation, errors and the audit log are the same
// whichever a person uses. Safe for concurrent use.
type Services struct {
	Store              store.Store
	Key                *keyring.MasterKey
	Now                func() time.Time
	Truststores        *Truststores
	ClientCertificates *ClientCertificates
	CAs                *ca.Service
	Domains            *Domains
	Mappings           *Mappings
	APIs               *APIs
	Authorizers        *Authorizers
	Config             *Config
	Audit              *Audit
	Invocations        *Invocations
	check              Checker
}

// NewServices returns the operations over opts.
func NewServices(opts ServicesOptions) *Services {
	s := &Services{Store: opts.Store, Key: opts.Key, Now: opts.Now, check: opts.Check}
	if s.Now == nil {
		s.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := Options{Store: opts.Store, Update: s.Update, Now: s.Now}
	s.Truststores = NewTruststores(o)
	s.CAs = ca.New(ca.Options{Store: opts.Store, Key: opts.Key, Update: s.Update, Now: s.Now, Logger: log, PublicURL: opts.PublicURL})
	s.ClientCertificates = NewClientCertificates(ClientCertOptions{Options: o, Key: opts.Key, CAs: s.CAs})
	s.Domains = NewDomains(DomainOptions{Options: o, Key: opts.Key})
	s.Mappings = NewMappings(o)
	s.APIs = NewAPIs(o)
	s.Authorizers = NewAuthorizers(o)
	s.Config = NewConfig(ConfigOptions{Options: o, Key: opts.Key, Check: s.Check})
	s.Audit = NewAudit(opts.Store)
	s.Invocations = NewInvocations(opts.Store, opts.Key)
	return s
}

// Update runs fn and then the check in one store transaction, as actor,
// and returns the revision committed. A refusal by the check is a
// *CheckError.
func (s *Services) Update(ctx context.Context, actor store.Actor, fn func(tx store.Tx) error) (int64, error) {
	return s.Store.Update(ctx, actor, s.Now(), func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.Check(ctx, tx)
	})
}

// Check hands the candidate configuration of tx to the Checker.
func (s *Services) Check(ctx context.Context, tx store.Tx) error {
	if s.check == nil {
		return nil
	}
	items, err := Candidate(tx)
	if err != nil {
		return err
	}
	openKey := func(id string) ([]byte, error) { return ca.OpenKey(s.Key, tx, id) }
	if err := s.check(ctx, items, openKey, ReadObject(tx.Get)); err != nil {
		return &CheckError{Err: err}
	}
	return nil
}

// checkedKinds are the kinds the check sees (truststore versions are
// added only where a domain uses them).
var checkedKinds = []string{
	model.KindDomain, model.KindMapping, model.KindTruststore,
	model.KindAPI, model.KindIntegration, model.KindRoute, model.KindStage,
	model.KindClientCertificate, model.KindCA, model.KindAuthorizer,
}

// Candidate lists the objects of the pending revision. Truststore
// versions are many and may be large (50 MB CRLs); Assemble only emits
// the ones domains use, so only those are read.
func Candidate(tx store.Tx) ([]model.Item, error) {
	var items []model.Item
	truststores := map[string]store.Object{} // by name
	var domains []model.Domain
	for _, kind := range checkedKinds {
		err := store.ListAll(tx, store.ListOptions{Kind: kind}, func(o store.Object) error {
			items = append(items, model.Item{Kind: o.Kind, ID: o.ID, Parent: o.Parent, Name: o.Name, Body: o.Body})
			switch kind {
			case model.KindTruststore:
				var ts model.Truststore
				if json.Unmarshal(o.Body, &ts) == nil {
					truststores[ts.Name] = o
				}
			case model.KindDomain:
				var d model.Domain
				if json.Unmarshal(o.Body, &d) == nil {
					domains = append(domains, d)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, d := range domains {
		o, ok := truststores[d.ClientAuth.Truststore]
		if !ok {
			continue // Assemble reports it
		}
		v := d.ClientAuth.TruststoreVersion
		if v == 0 {
			var ts model.Truststore
			if json.Unmarshal(o.Body, &ts) != nil {
				continue
			}
			v = ts.LatestVersion
		}
		id := VersionID(o.ID, v)
		if seen[id] {
			continue
		}
		seen[id] = true
		vo, err := tx.Get(model.KindTruststoreVersion, id)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			continue // Assemble reports it
		}
		if err != nil {
			return nil, err
		}
		items = append(items, model.Item{Kind: vo.Kind, ID: vo.ID, Parent: vo.Parent, Name: vo.Name, Body: vo.Body})
	}
	return items, nil
}
