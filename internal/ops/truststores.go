package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// TruststoreView shows a stored truststore.
func TruststoreView(o store.Object) (api.Truststore, error) {
	var ts model.Truststore
	if err := decodeBody(o, &ts); err != nil {
		return api.Truststore{}, err
	}
	return api.Truststore{ID: o.ID, Name: ts.Name, Description: ts.Description, LatestVersion: ts.LatestVersion, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
}

// VersionOf shows a stored truststore version without its content (the
// bundles and CRLs).
func VersionOf(o store.Object) (api.TruststoreVersion, error) {
	var v StoredVersion
	if err := decodeBody(o, &v); err != nil {
		return api.TruststoreVersion{}, err
	}
	return versionView(o, v, false)
}

// versionView shows stored version v (of object o). Every field of the
// stored body that versionJSON has, by JSON name, is shown, so a setting
// added to both shows without code here; without content, the bundles
// and CRLs are left out.
func versionView(o store.Object, v StoredVersion, content bool) (api.TruststoreVersion, error) {
	out := api.TruststoreVersion{Version: v.Version, Warnings: v.Warnings, Summary: v.Summary, VersionContent: v.VersionContent}
	if !content {
		out.CABundle, out.Intermediates, out.CRLs = "", "", nil
	}
	out.TruststoreID, out.CreatedAt = o.Parent, o.CreatedAt
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	if out.Summary.CASubjects == nil {
		out.Summary.CASubjects = []string{}
	}
	return out, nil
}

// VersionID is the ID of version n of truststore tsID. Derived IDs sort
// in version order within a truststore, so lists come in version order.
func VersionID(tsID string, n int) string {
	return model.Prefix[model.KindTruststoreVersion] + "-" + strings.TrimPrefix(tsID, model.Prefix[model.KindTruststore]+"-") + "-" + fmt.Sprintf("%08d", n)
}

// Options configure the operations. Store is required.
type Options struct {
	// Store holds the objects.
	Store store.Store
	// Update runs fn in one write transaction as actor and returns the
	// revision committed. The admin API checks the candidate
	// configuration in it (validation, the audit's actor, the node's
	// reload). nil: Store.Update at Now().
	Update func(ctx context.Context, actor store.Actor, fn func(tx store.Tx) error) (int64, error)
	// Now is the clock of linting (expiry, CRL dates) and of writes; nil
	// means time.Now.
	Now func() time.Time
}

// Truststores runs the truststore operations. It is safe for concurrent
// use; every write is one store transaction.
type Truststores struct {
	base
}

// base is what every operation runs over: the store, the clock and the
// write transaction of Options, with their defaults.
type base struct {
	st     store.Store
	now    func() time.Time
	update func(ctx context.Context, actor store.Actor, fn func(tx store.Tx) error) (int64, error)
}

func newBase(opts Options) base {
	b := base{st: opts.Store, now: opts.Now, update: opts.Update}
	if b.now == nil {
		b.now = time.Now
	}
	if b.update == nil {
		st, now := b.st, b.now
		b.update = func(ctx context.Context, actor store.Actor, fn func(tx store.Tx) error) (int64, error) {
			return st.Update(ctx, actor, now(), fn)
		}
	}
	return b
}

// NewTruststores returns the truststore operations over opts.
func NewTruststores(opts Options) *Truststores { return &Truststores{base: newBase(opts)} }

// getter reads objects: a store.Tx, a store.ReadTx, or the store with a
// context (storeGetter).
type getter interface {
	Get(kind, id string) (store.Object, error)
}

type storeGetter struct {
	ctx context.Context
	st  store.Store
}

func (g storeGetter) Get(kind, id string) (store.Object, error) { return g.st.Get(g.ctx, kind, id) }

// get reads an object of kind by ID; a malformed ID is NotFound too.
func get(tx getter, kind, id, what string) (store.Object, error) {
	o, err := tx.Get(kind, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return store.Object{}, notFound("no %s with ID %q", what, Clip(id, 64))
	}
	return o, err
}

// getChild reads an object and checks that it belongs to parent.
func getChild(tx getter, kind, parent, id, what string) (store.Object, error) {
	o, err := get(tx, kind, id, what)
	if err != nil {
		return o, err
	}
	if o.Parent != parent {
		return store.Object{}, notFound("no %s with ID %q here", what, Clip(id, 64))
	}
	return o, nil
}

// show reads object id of kind under parent ("" for a top-level object)
// from the committed store and returns it as view shows it, with its
// revision.
func show[T any](ctx context.Context, st store.Store, kind, parent, id, what string, view func(store.Object) (T, error)) (T, int64, error) {
	o, err := getChild(storeGetter{ctx, st}, kind, parent, id, what)
	if err != nil {
		var zero T
		return zero, 0, err
	}
	v, err := view(o)
	return v, o.Rev, err
}

// decodeBody decodes a stored body; a body that does not decode is an
// internal error (the store holds what the operations wrote).
func decodeBody(o store.Object, v any) error {
	if err := json.Unmarshal(o.Body, v); err != nil {
		return fmt.Errorf("%s %s: stored body does not decode: %w", o.Kind, o.ID, err)
	}
	return nil
}

// MustJSON encodes a body for the store; it panics on a type that does
// not encode (the operations' own types only).
func MustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ops: encode stored body: " + err.Error())
	}
	return b
}

// validDescription refuses a description longer than 1000 bytes.
func validDescription(d string) error {
	if len(d) > 1000 {
		return invalid("description", "at most 1000 bytes")
	}
	return nil
}

// Create makes a truststore with its version 1 from in.
func (s *Truststores) Create(ctx context.Context, actor store.Actor, in api.TruststoreCreate) (api.TruststoreCreated, Written, error) {
	if errs := LocalProblems(&config.Config{Truststores: []config.Truststore{{Name: in.Name, CABundle: StubPEM}}}, "truststores[0]"); len(errs) > 0 {
		return api.TruststoreCreated{}, Written{}, invalidFields(errs)
	}
	if err := validDescription(in.Description); err != nil {
		return api.TruststoreCreated{}, Written{}, err
	}
	v, err := LintVersion(in.VersionContent, InheritedCRLs{}, s.now(), ResolveCAIn(storeGetter{ctx, s.st}.Get))
	if err != nil {
		return api.TruststoreCreated{}, Written{}, err
	}
	v.Version = 1
	var ts store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		if o, err := tx.GetByName(model.KindTruststore, "", in.Name); err == nil {
			return conflict("", "a truststore named %q exists (%s)", in.Name, o.ID)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var err error
		ts, err = tx.Create(store.Object{
			Kind: model.KindTruststore, ID: store.NewID(model.Prefix[model.KindTruststore]), Name: in.Name,
			Body: MustJSON(model.Truststore{Name: in.Name, Description: in.Description, LatestVersion: 1}),
		})
		if err != nil {
			return err
		}
		_, err = CreateVersion(tx, ts.ID, v)
		return err
	})
	if err != nil {
		return api.TruststoreCreated{}, Written{}, err
	}
	j, err := TruststoreView(ts)
	if err != nil {
		return api.TruststoreCreated{}, Written{}, err
	}
	out := api.TruststoreCreated{Truststore: j, Warnings: v.Warnings}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	return out, Written{Revision: rev, Rev: ts.Rev}, nil
}

// List returns a page of truststores (at most limit, after the cursor
// after) and the cursor of the next page ("" at the end).
func (s *Truststores) List(ctx context.Context, limit int, after string) ([]api.Truststore, string, error) {
	return store.ListPage(ctx, s.st, store.ListOptions{Kind: model.KindTruststore, Limit: limit, After: after}, TruststoreView)
}

// Get returns truststore id and its revision.
func (s *Truststores) Get(ctx context.Context, id string) (api.Truststore, int64, error) {
	return show(ctx, s.st, model.KindTruststore, "", id, "truststore", TruststoreView)
}

// Update changes truststore id's settings (its description) to what
// change makes of the current ones, in one transaction, if match accepts
// its revision.
func (s *Truststores) Update(ctx context.Context, actor store.Actor, id string, match Match, change func(cur api.TruststorePatch) (api.TruststorePatch, error)) (api.Truststore, Written, error) {
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		o, ifRev, err := getMatched(tx, model.KindTruststore, id, "truststore", match)
		if err != nil {
			return err
		}
		var ts model.Truststore
		if err := decodeBody(o, &ts); err != nil {
			return err
		}
		p, err := change(api.TruststorePatch{Description: ts.Description})
		if err != nil {
			return err
		}
		if err := validDescription(p.Description); err != nil {
			return err
		}
		ts.Description = p.Description
		o.Body = MustJSON(ts)
		out, err = tx.Replace(o, ifRev)
		return err
	})
	if err != nil {
		return api.Truststore{}, Written{}, err
	}
	j, err := TruststoreView(out)
	return j, Written{Revision: rev, Rev: out.Rev}, err
}

// Delete deletes truststore id and its versions, if match accepts its
// revision, unless a domain uses it (Conflict, CodeTruststoreInUse, with
// the domains in UsedBy). It returns the revision committed.
func (s *Truststores) Delete(ctx context.Context, actor store.Actor, id string, match Match) (int64, error) {
	return s.update(ctx, actor, func(tx store.Tx) error {
		o, ifRev, err := getMatched(tx, model.KindTruststore, id, "truststore", match)
		if err != nil {
			return err
		}
		var ts model.Truststore
		if err := decodeBody(o, &ts); err != nil {
			return err
		}
		var users []api.UsedBy
		err = store.ListAll(tx, store.ListOptions{Kind: model.KindDomain}, func(d store.Object) error {
			var body model.Domain
			if err := decodeBody(d, &body); err != nil {
				return err
			}
			if body.ClientAuth.Truststore == ts.Name {
				users = append(users, api.UsedBy{ID: d.ID, Name: d.Name})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return inUse(CodeTruststoreInUse, "domain", users, "truststore %q is used by %s; change their clientAuth first", ts.Name)
		}
		return tx.DeleteTree(model.KindTruststore, id, ifRev)
	})
}

// UsersString names the objects of a UsedBy list (of kind) for a
// refusal's message: at most five, quoted and clipped.
func UsersString(kind string, users []api.UsedBy) string {
	var names []string
	for i, u := range users {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(users)-5))
			break
		}
		names = append(names, fmt.Sprintf("%s (%s)", strconv.Quote(Clip(u.Name, 100)), u.ID))
	}
	if len(users) > 1 {
		kind += "s"
	}
	return kind + " " + strings.Join(names, ", ")
}

// AddVersion makes a new version of truststore id from its latest one
// and body, the version's content as a JSON object. With inherit, what
// body leaves out is inherited (see inheritVersion: null resets a field,
// a CRL replaces only its issuer's); without, body is the whole version
// (what apply sends). The answer lists what changed. body's JSON errors
// are *config.JSONError; the refusals *Error.
func (s *Truststores) AddVersion(ctx context.Context, actor store.Actor, id string, body []byte, inherit bool) (api.VersionCreated, Written, error) {
	// The version to inherit from; the expensive lint runs before the
	// transaction, which then checks that no version came in between.
	rd := storeGetter{ctx, s.st}
	o, err := get(rd, model.KindTruststore, id, "truststore")
	if err != nil {
		return api.VersionCreated{}, Written{}, err
	}
	var ts model.Truststore
	if err := decodeBody(o, &ts); err != nil {
		return api.VersionCreated{}, Written{}, err
	}
	base := ts.LatestVersion
	po, err := getChild(rd, model.KindTruststoreVersion, id, VersionID(id, base), "truststore version")
	if err != nil {
		return api.VersionCreated{}, Written{}, err
	}
	prev, err := ReadVersion(po, rd.Get)
	if err != nil {
		return api.VersionCreated{}, Written{}, err
	}
	var in api.VersionContent
	var inherited InheritedCRLs
	if inherit {
		in, inherited, err = inheritVersion(prev.TruststoreVersion, body)
	} else {
		err = config.DecodeStrictJSON(body, &in)
	}
	if err != nil {
		return api.VersionCreated{}, Written{}, err
	}
	v, err := LintVersion(in, inherited, s.now(), ResolveCAIn(rd.Get))
	if err != nil {
		return api.VersionCreated{}, Written{}, err
	}
	changes, err := versionChanges(prev.TruststoreVersion, v.TruststoreVersion, v.crlLabels)
	if err != nil {
		return api.VersionCreated{}, Written{}, err
	}
	var vo store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		o, err := get(tx, model.KindTruststore, id, "truststore")
		if err != nil {
			return err
		}
		var ts model.Truststore
		if err := decodeBody(o, &ts); err != nil {
			return err
		}
		if ts.LatestVersion != base {
			return conflict("", "truststore %s got version %d while this one was being checked against version %d; send the request again to build on the latest", id, ts.LatestVersion, base)
		}
		ts.LatestVersion++
		v.Version = ts.LatestVersion
		vo, err = CreateVersion(tx, id, v)
		if err != nil {
			return err
		}
		o.Body = MustJSON(ts)
		_, err = tx.Replace(o, o.Rev)
		return err
	})
	if err != nil {
		return api.VersionCreated{}, Written{}, err
	}
	// Built from what was stored rather than by decoding its tens of
	// megabytes again.
	info, err := versionView(vo, v, false)
	if err != nil {
		return api.VersionCreated{}, Written{}, err
	}
	out := api.VersionCreated{TruststoreVersion: info, PreviousVersion: base, Changes: changes}
	return out, Written{Revision: rev, Rev: vo.Rev}, nil
}

// ListVersions returns a page of truststore id's versions, in version
// order, without their content.
func (s *Truststores) ListVersions(ctx context.Context, id string, limit int, after string) ([]api.TruststoreVersion, string, error) {
	if _, err := get(storeGetter{ctx, s.st}, model.KindTruststore, id, "truststore"); err != nil {
		return nil, "", err
	}
	return store.ListPage(ctx, s.st, store.ListOptions{Kind: model.KindTruststoreVersion, Parent: id, Limit: limit, After: after},
		VersionOf)
}

// GetVersion returns version n of truststore id, with its content, and
// its revision.
func (s *Truststores) GetVersion(ctx context.Context, id string, n int) (api.TruststoreVersion, int64, error) {
	if n < 1 {
		return api.TruststoreVersion{}, 0, notFound("versions are numbered from 1")
	}
	rd := storeGetter{ctx, s.st}
	if _, err := get(rd, model.KindTruststore, id, "truststore"); err != nil {
		return api.TruststoreVersion{}, 0, err
	}
	o, err := getChild(rd, model.KindTruststoreVersion, id, VersionID(id, n), "truststore version")
	var e *Error
	if errors.As(err, &e) && e.Kind == NotFound {
		return api.TruststoreVersion{}, 0, notFound("truststore %s has no version %d", id, n)
	}
	if err != nil {
		return api.TruststoreVersion{}, 0, err
	}
	v, err := ReadVersion(o, rd.Get)
	if err != nil {
		return api.TruststoreVersion{}, 0, err
	}
	out, err := versionView(o, v, true)
	return out, o.Rev, err
}
