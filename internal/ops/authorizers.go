package ops

import (
	"context"
	"fmt"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// CodeAuthorizerInUse refuses to delete an authorizer that routes name
// (Conflict; the routes in UsedBy).
const CodeAuthorizerInUse = "AuthorizerInUse"

// Authorizers runs the authorizer operations: create, read, list,
// replace (a rename carries the routes that name the authorizer along),
// delete (refused while a route names it). Settings are validated by
// the configuration's own Validate, so the API, the file and the store
// refuse the same things with the same field paths. It is safe for
// concurrent use; every write is one store transaction.
type Authorizers struct {
	base
}

// NewAuthorizers returns the authorizer operations over opts.
func NewAuthorizers(opts Options) *Authorizers { return &Authorizers{base: newBase(opts)} }

// AuthorizerView shows a stored authorizer.
func AuthorizerView(o store.Object) (api.Authorizer, error) {
	var au model.Authorizer
	if err := decodeBody(o, &au); err != nil {
		return api.Authorizer{}, err
	}
	return api.Authorizer{ID: o.ID, AuthorizerSpec: au, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
}

// checkAuthorizer validates in as a store holds it: a JWKS file is the
// client's to read (the store takes the keys inline or a URL).
func checkAuthorizer(in *api.AuthorizerSpec) error {
	if in.JWT != nil && in.JWT.JWKSFile != "" {
		return invalid("jwt.jwksFile", "files are read by the client (certgate apply and certgate authorizers create --jwks-file inline them); send the keys inline in jwt.jwks, or give jwt.jwksUrl")
	}
	if errs := LocalProblems(&config.Config{Authorizers: []config.Authorizer{*in}}, "authorizers[0]"); len(errs) > 0 {
		return invalidFields(errs)
	}
	return nil
}

// Create makes an authorizer from in.
func (s *Authorizers) Create(ctx context.Context, actor store.Actor, in api.AuthorizerSpec) (api.Authorizer, Written, error) {
	if err := checkAuthorizer(&in); err != nil {
		return api.Authorizer{}, Written{}, err
	}
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		if err := nameTaken(tx, model.KindAuthorizer, "", in.Name, "", "an authorizer"); err != nil {
			return err
		}
		var err error
		out, err = tx.Create(store.Object{Kind: model.KindAuthorizer, ID: store.NewID(model.Prefix[model.KindAuthorizer]), Name: in.Name, Body: MustJSON(in)})
		return err
	})
	return writtenView(out, rev, err, AuthorizerView)
}

// List returns a page of authorizers (at most limit, after the cursor
// after) and the cursor of the next page ("" at the end).
func (s *Authorizers) List(ctx context.Context, limit int, after string) ([]api.Authorizer, string, error) {
	return store.ListPage(ctx, s.st, store.ListOptions{Kind: model.KindAuthorizer, Limit: limit, After: after}, AuthorizerView)
}

// Get returns authorizer id and its revision.
func (s *Authorizers) Get(ctx context.Context, id string) (api.Authorizer, int64, error) {
	return show(ctx, s.st, model.KindAuthorizer, "", id, "authorizer", AuthorizerView)
}

// Update replaces authorizer id with what change makes of the current
// one, in one transaction, if match accepts its revision. A rename
// carries the routes that name the authorizer along.
func (s *Authorizers) Update(ctx context.Context, actor store.Actor, id string, match Match, change func(cur api.AuthorizerSpec) (api.AuthorizerSpec, error)) (api.Authorizer, Written, error) {
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		o, ifRev, err := getMatched(tx, model.KindAuthorizer, id, "authorizer", match)
		if err != nil {
			return err
		}
		var cur model.Authorizer
		if err := decodeBody(o, &cur); err != nil {
			return err
		}
		in, err := change(cur)
		if err != nil {
			return err
		}
		if err := checkAuthorizer(&in); err != nil {
			return err
		}
		if in.Name != cur.Name {
			if err := nameTaken(tx, model.KindAuthorizer, "", in.Name, id, "an authorizer"); err != nil {
				return err
			}
			if err := renameAuthorizer(tx, cur.Name, in.Name); err != nil {
				return err
			}
		}
		o.Name = in.Name
		o.Body = MustJSON(in)
		out, err = tx.Replace(o, ifRev)
		return err
	})
	return writtenView(out, rev, err, AuthorizerView)
}

// renameAuthorizer makes the routes that name authorizer from name to.
func renameAuthorizer(tx store.Tx, from, to string) error {
	return store.ListAll(tx, store.ListOptions{Kind: model.KindRoute}, func(r store.Object) error {
		var rt config.Route
		if err := decodeBody(r, &rt); err != nil {
			return err
		}
		if rt.Authorizer != from {
			return nil
		}
		rt.Authorizer = to
		r.Body = MustJSON(rt)
		_, err := tx.Replace(r, r.Rev)
		return err
	})
}

// routesNaming lists the routes that name authorizer name, as
// "API METHOD PATH".
func routesNaming(tx store.Tx, name string) ([]api.UsedBy, error) {
	apiNames := map[string]string{}
	var users []api.UsedBy
	err := store.ListAll(tx, store.ListOptions{Kind: model.KindRoute}, func(r store.Object) error {
		var rt config.Route
		if err := decodeBody(r, &rt); err != nil {
			return err
		}
		if rt.Authorizer != name {
			return nil
		}
		apiName, ok := apiNames[r.Parent]
		if !ok {
			if a, err := tx.Get(model.KindAPI, r.Parent); err == nil {
				apiName = a.Name
			}
			apiNames[r.Parent] = apiName
		}
		users = append(users, api.UsedBy{ID: r.ID, Name: fmt.Sprintf("%s %s %s", apiName, rt.Method, rt.Path)})
		return nil
	})
	return users, err
}

// Delete deletes authorizer id, if match accepts its revision. An
// authorizer that routes name is refused (Conflict, CodeAuthorizerInUse,
// the routes in UsedBy): a route must never lose its authorizer. It
// returns the revision committed.
func (s *Authorizers) Delete(ctx context.Context, actor store.Actor, id string, match Match) (int64, error) {
	return s.update(ctx, actor, func(tx store.Tx) error {
		o, ifRev, err := getMatched(tx, model.KindAuthorizer, id, "authorizer", match)
		if err != nil {
			return err
		}
		users, err := routesNaming(tx, o.Name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return inUse(CodeAuthorizerInUse, "route", users, "authorizer %q is named by %s; change those routes first", Clip(o.Name, 64))
		}
		return tx.Delete(model.KindAuthorizer, id, ifRev)
	})
}
