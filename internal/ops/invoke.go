package ops

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/textproto"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/h1"
	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// InvokeRequest is a test invocation as the node runs it: names resolved,
// the override client certificate opened. The admin API and the console
// build it; the node runs it through its live pipeline. It carries a
// private key (KeyPEM): never log it.
type InvokeRequest struct {
	API, Stage   string
	Method, Path string
	// Header holds the request's header fields by canonical name (an
	// http.Header).
	Header map[string][]string
	Body   []byte
	// ClientCertificateID, CertPEM and KeyPEM override the stage's
	// certificate when ClientCertificateID is set.
	ClientCertificateID string
	CertPEM, KeyPEM     string
}

// Invocations prepare test invocations: a request is checked and its API,
// stage and override client certificate resolved (the certificate's key
// opened) from one read snapshot. It is safe for concurrent use.
type Invocations struct {
	st  store.Store
	key *keyring.MasterKey
}

// NewInvocations returns the test-invocation preparation over st, opening
// client certificate keys with key.
func NewInvocations(st store.Store, key *keyring.MasterKey) *Invocations {
	return &Invocations{st: st, key: key}
}

// Prepare checks in (an empty method is GET) and resolves it for API
// apiID into the request the node runs. An unknown API is NotFound; an
// unknown stage or client certificate and a malformed method, path,
// header or base64 body are Invalid with the field's path.
func (s *Invocations) Prepare(ctx context.Context, apiID string, in api.InvokeRequest) (InvokeRequest, error) {
	var errs []api.FieldError
	if in.Method == "" {
		in.Method = "GET"
	}
	if !h1.IsToken(in.Method) {
		errs = append(errs, api.FieldError{Path: "method", Message: "not an HTTP method"})
	}
	if !strings.HasPrefix(in.Path, "/") {
		errs = append(errs, api.FieldError{Path: "path", Message: "required: the API-relative path, starting with /, optionally with ?query"})
	}
	h := map[string][]string{}
	for k, v := range in.Headers {
		if !h1.IsToken(k) || strings.ContainsAny(v, "\r\n\x00") {
			errs = append(errs, api.FieldError{Path: config.FieldPath("headers", k), Message: "not a valid header name or value"})
			continue
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		h[ck] = append(h[ck], v)
	}
	body := []byte(in.Body)
	if in.BodyBase64 {
		b, err := base64.StdEncoding.DecodeString(in.Body)
		if err != nil {
			errs = append(errs, api.FieldError{Path: "body", Message: "not base64 (bodyBase64 is true)"})
		}
		body = b
	}
	if len(errs) > 0 {
		return InvokeRequest{}, invalidFields(errs)
	}
	var req InvokeRequest
	err := s.st.View(ctx, func(tx store.ReadTx) error {
		apiObj, err := get(tx, model.KindAPI, apiID, "API")
		if err != nil {
			return err
		}
		req = InvokeRequest{API: apiObj.Name, Stage: in.Stage, Method: strings.ToUpper(in.Method), Path: in.Path, Header: h, Body: body}
		if in.Stage != "" {
			if _, err := tx.GetByName(model.KindStage, apiObj.ID, in.Stage); err != nil {
				return invalid("stage", "API %q has no stage %q", Clip(apiObj.Name, 64), Clip(in.Stage, 64))
			}
		}
		id := in.ClientCertificateID
		if id == "" {
			return nil
		}
		o, err := tx.Get(model.KindClientCertificate, id)
		if err != nil {
			return invalid("clientCertificateId", "no client certificate with ID %q", Clip(id, 64))
		}
		var cc model.ClientCertificate
		if err := decodeBody(o, &cc); err != nil {
			return err
		}
		key, err := ca.OpenKey(s.key, tx, cc.KeySecret)
		if err != nil {
			return fmt.Errorf("open client certificate %s: %w", id, err)
		}
		req.ClientCertificateID, req.CertPEM, req.KeyPEM = id, cc.CertPEM, string(key)
		return nil
	})
	if err != nil {
		return InvokeRequest{}, err
	}
	return req, nil
}
