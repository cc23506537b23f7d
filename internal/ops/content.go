package ops

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// ReadObject adapts get (a store.Tx's, a store.ReadTx's or storeGetter's
// Get) to read object bodies for model.Assemble and model.ReadVersion.
func ReadObject(get func(kind, id string) (store.Object, error)) model.ObjectReader {
	return func(kind, id string) (json.RawMessage, error) {
		o, err := get(kind, id)
		return o.Body, err
	}
}

// CreateVersion stores v as version v.Version of truststore tsID: a
// small version object with v's settings and the digest of its content,
// and the content object (model.KindContent), unless the truststore
// holds the same content already (from an earlier version). It returns
// the version object.
func CreateVersion(tx store.Tx, tsID string, v StoredVersion) (store.Object, error) {
	meta, body, err := model.SplitContent(v.TruststoreVersion)
	if err != nil {
		return store.Object{}, err
	}
	v.TruststoreVersion = meta
	id := model.ContentID(tsID, meta.ContentSHA256)
	if _, err := tx.Get(model.KindContent, id); errors.Is(err, store.ErrNotFound) {
		if _, err := tx.Create(store.Object{Kind: model.KindContent, ID: id, Parent: tsID, Body: body}); err != nil {
			return store.Object{}, err
		}
	} else if err != nil {
		return store.Object{}, err
	}
	return tx.Create(store.Object{
		Kind: model.KindTruststoreVersion, ID: VersionID(tsID, v.Version), Parent: tsID,
		Name: strconv.Itoa(v.Version), Body: MustJSON(v),
	})
}

// ReadVersion decodes stored truststore version o with its content, read
// with get when it is stored apart (see model.KindContent).
func ReadVersion(o store.Object, get func(kind, id string) (store.Object, error)) (StoredVersion, error) {
	var v StoredVersion
	if err := decodeBody(o, &v); err != nil {
		return v, err
	}
	if v.ContentSHA256 == "" {
		return v, nil // stored before content objects: inline
	}
	c, err := model.ReadContent(model.Item{Kind: o.Kind, ID: o.ID, Parent: o.Parent, Name: o.Name, Body: o.Body}, v.ContentSHA256, ReadObject(get))
	if err != nil {
		return v, err
	}
	v.CABundle, v.Intermediates, v.CRLs = c.CABundle, c.Intermediates, c.CRLs
	return v, nil
}
