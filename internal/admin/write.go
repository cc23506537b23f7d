package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // cannot happen: our own types
		writeProblem(w, api.Problem{Title: http.StatusText(500), Status: 500, Code: CodeInternal, Detail: "encoding the answer failed"})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// written answers a successful write: the object (nil for a delete: 204),
// its ETag, and the revision committed.
func written(w http.ResponseWriter, status int, rev, objRev int64, location string, v any) {
	h := w.Header()
	h.Set("X-Certgate-Revision", strconv.FormatInt(rev, 10))
	if v == nil {
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("ETag", etag(objRev))
	if location != "" {
		h.Set("Location", location)
	}
	writeJSON(w, status, v)
}

// read answers a GET of one object.
func read(w http.ResponseWriter, rev int64, v any) {
	w.Header().Set("ETag", etag(rev))
	writeJSON(w, http.StatusOK, v)
}

// update runs fn and then Check in one store transaction, as the caller.
func (s *server) update(c *call, fn func(tx store.Tx) error) (int64, error) {
	return s.updateAs(c.ctx(), c.actor, fn)
}

// updateAs runs fn and then Check in one store transaction, as actor.
func (s *server) updateAs(ctx context.Context, actor store.Actor, fn func(tx store.Tx) error) (int64, error) {
	return s.st.Update(ctx, actor, s.now(), func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.check(ctx, tx)
	})
}

// checkedKinds are the kinds Check sees (truststore versions are added
// only where a domain uses them).
var checkedKinds = []string{
	model.KindDomain, model.KindMapping, model.KindTruststore,
	model.KindAPI, model.KindIntegration, model.KindRoute, model.KindStage,
	model.KindClientCertificate, model.KindCA,
}

// check hands the candidate configuration to Options.Check.
func (s *server) check(ctx context.Context, tx store.Tx) error {
	if s.opts.Check == nil {
		return nil
	}
	items, err := candidate(tx)
	if err != nil {
		return err
	}
	openKey := func(id string) ([]byte, error) { return s.openSecret(tx, id) }
	if err := s.opts.Check(ctx, items, openKey, ops.ReadObject(tx.Get)); err != nil {
		return &checkError{err: err}
	}
	return nil
}

// candidate lists the objects of the pending revision. Truststore
// versions are many and may be large (50 MB CRLs); Assemble only emits
// the ones domains use, so only those are read.
func candidate(tx store.Tx) ([]model.Item, error) {
	var items []model.Item
	truststores := map[string]store.Object{} // by name
	var domains []model.Domain
	for _, kind := range checkedKinds {
		err := listAll(tx, store.ListOptions{Kind: kind}, func(o store.Object) error {
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
		id := ops.VersionID(o.ID, v)
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

// objectReader reads objects: a write transaction (store.Tx) or a read
// snapshot (store.ReadTx).
type objectReader interface {
	Get(kind, id string) (store.Object, error)
	List(opts store.ListOptions) (store.Page, error)
}

// listAll calls fn for every object of a listing.
func listAll(tx objectReader, opts store.ListOptions, fn func(store.Object) error) error {
	return store.ListAll(tx, opts, fn)
}

// openSecret unseals a domain key within tx.
func (s *server) openSecret(tx store.Tx, id string) ([]byte, error) {
	return ca.OpenKey(s.opts.Key, tx, id)
}

// get reads an object of kind by ID; a malformed ID is a 404 too.
func get(tx interface {
	Get(kind, id string) (store.Object, error)
}, kind, id, what string) (store.Object, error) {
	o, err := tx.Get(kind, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return store.Object{}, notFound("no %s with ID %q", what, clip(id, 64))
	}
	return o, err
}

// getChild reads an object and checks that it belongs to parent.
func getChild(tx interface {
	Get(kind, id string) (store.Object, error)
}, kind, parent, id, what string) (store.Object, error) {
	o, err := get(tx, kind, id, what)
	if err != nil {
		return o, err
	}
	if o.Parent != parent {
		return store.Object{}, notFound("no %s with ID %q here", what, clip(id, 64))
	}
	return o, nil
}

// pageOptions reads limit and next from the query.
func pageOptions(r *http.Request) (limit int, after string, err error) {
	q := r.URL.Query()
	limit = store.DefaultPageLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxPageLimit {
			return 0, "", newError(http.StatusBadRequest, CodeInvalidQuery, "limit must be an integer from 1 to %d", store.MaxPageLimit)
		}
		limit = n
	}
	return limit, q.Get("next"), nil
}

// list answers a list route: a page of objects of kind under parent,
// each converted by conv.
func list[T any](s *server, c *call, kind, parent string, conv func(store.Object) (T, error)) error {
	limit, after, err := pageOptions(c.r)
	if err != nil {
		return err
	}
	page, err := s.st.List(c.ctx(), store.ListOptions{Kind: kind, Parent: parent, Limit: limit, After: after})
	if err != nil {
		return answerPage[T](c, nil, "", err)
	}
	items := make([]T, 0, len(page.Objects))
	for _, o := range page.Objects {
		v, err := conv(o)
		if err != nil {
			return err
		}
		items = append(items, v)
	}
	return answerPage(c, items, page.Next, nil)
}

// decodeBody decodes a stored body; a body that does not decode is an
// internal error (the store holds what admin wrote).
func decodeBody(o store.Object, v any) error {
	if err := json.Unmarshal(o.Body, v); err != nil {
		return errors.New(o.Kind + " " + o.ID + ": stored body does not decode: " + err.Error())
	}
	return nil
}

// mustJSON encodes a body for the store.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("admin: encode stored body: " + err.Error()) // our own types only
	}
	return b
}

// show answers a GET of one object as conv shows it.
func show[T any](c *call, o store.Object, conv func(store.Object) (T, error)) error {
	j, err := conv(o)
	if err != nil {
		return err
	}
	read(c.w, o.Rev, j)
	return nil
}
