package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// KindContent is the kind of a truststore version's content object: its
// CA bundle, intermediates and CRLs (object Parent: the truststore's ID;
// ID: ContentID; body: a Content). It is content-addressed and written
// once per truststore and content, so versions that keep a 30 MB CRL
// share one copy, and the version objects themselves stay small: a write
// that does not touch a truststore reads kilobytes, not its CRLs. Content
// objects go with their truststore (it is their Parent).
const KindContent = "truststore_content"

// Content is the bulky part of a truststore version, stored apart from
// its settings (see KindContent).
type Content struct {
	CABundle      string   `json:"caBundle,omitempty"`
	Intermediates string   `json:"intermediates,omitempty"`
	CRLs          []string `json:"crls,omitempty"`
}

// ContentID is the ID of the content object of truststore tsID whose
// body has the SHA-256 digest (hex) sum.
func ContentID(tsID, sum string) string {
	return Prefix[KindContent] + "-" + strings.TrimPrefix(tsID, Prefix[KindTruststore]+"-") + "-" + sum
}

// SplitContent moves v's content out: it returns v with ContentSHA256
// set and no bundles or CRLs, and the content object's body. A version
// stored this way is read back with ReadBlob (see VersionCache).
func SplitContent(v TruststoreVersion) (TruststoreVersion, json.RawMessage, error) {
	body, err := json.Marshal(Content{CABundle: v.CABundle, Intermediates: v.Intermediates, CRLs: v.CRLs})
	if err != nil {
		return v, nil, fmt.Errorf("truststore version %d: encode its content: %w", v.Version, err)
	}
	sum := sha256.Sum256(body)
	v.ContentSHA256 = hex.EncodeToString(sum[:])
	v.CABundle, v.Intermediates, v.CRLs = "", "", nil
	return v, body, nil
}

// ObjectReader reads the body of a stored object by kind and ID (a store
// transaction or read snapshot, adapted by the caller).
type ObjectReader func(kind, id string) (json.RawMessage, error)

// ReadContent reads the content object (digest sum) of the stored
// truststore version it through read, and checks its digest.
func ReadContent(it Item, sum string, read ObjectReader) (Content, error) {
	var c Content
	if read == nil {
		return c, fmt.Errorf("%s %s: its content is stored apart and no reader was given", it.Kind, it.ID)
	}
	id := ContentID(it.Parent, sum)
	body, err := read(KindContent, id)
	if err != nil {
		return c, fmt.Errorf("%s %s: read its content %s: %w", it.Kind, it.ID, id, err)
	}
	if got := sha256.Sum256(body); hex.EncodeToString(got[:]) != sum {
		return c, fmt.Errorf("%s %s: its content %s does not match its digest", it.Kind, it.ID, id)
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return c, fmt.Errorf("%s %s: its content %s does not decode: %w", it.Kind, it.ID, id, err)
	}
	return c, nil
}

// ReadVersion decodes stored truststore version it with its content,
// read through read when it is stored apart (versions stored before
// content objects hold it inline). It caches nothing: see VersionCache.
func ReadVersion(it Item, read ObjectReader) (TruststoreVersion, error) {
	var c *VersionCache
	return c.Decode(it, read)
}
