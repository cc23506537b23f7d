package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/certgate/certgate/internal/api"
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

// decodeBody decodes a stored body; a body that does not decode is an
// internal error (the store holds what admin wrote).
func decodeBody(o store.Object, v any) error {
	if err := json.Unmarshal(o.Body, v); err != nil {
		return errors.New(o.Kind + " " + o.ID + ": stored body does not decode: " + err.Error())
	}
	return nil
}
