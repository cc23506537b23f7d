package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

// Codes of refusals of the API operations (Conflict).
const (
	CodeAPIInUse         = "APIInUse"         // a mapping uses the API
	CodeStageInUse       = "StageInUse"       // a mapping uses the stage
	CodeIntegrationInUse = "IntegrationInUse" // a route uses the integration
)

// Limits of stage variables.
const (
	maxStageVariables    = 100
	maxStageVariableSize = 2048
)

// variablePattern is the charset of stage variable names.
var variablePattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// idPattern is the charset of object IDs given as references.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// APIs runs the API operations: create, read, list, rename or describe
// (a rename carries the mappings that use the API along), delete (refused
// while mappings use it), and those of the API's integrations, routes and
// stages. It is safe for concurrent use; every write is one store
// transaction.
type APIs struct {
	base
	// Integrations are the API's back ends.
	Integrations *Children[config.Integration, api.Integration]
	// Routes are the API's routes to its integrations.
	Routes *Children[config.Route, api.Route]
	// Stages are the API's stages (variables, the client certificate
	// presented to back ends).
	Stages *Children[model.Stage, api.Stage]
}

// NewAPIs returns the API operations over opts.
func NewAPIs(opts Options) *APIs {
	b := newBase(opts)
	return &APIs{
		base:         b,
		Integrations: &Children[config.Integration, api.Integration]{base: b, spec: integrationSpec},
		Routes:       &Children[config.Route, api.Route]{base: b, spec: routeSpec},
		Stages:       &Children[model.Stage, api.Stage]{base: b, spec: stageSpec},
	}
}

// APIView shows a stored API.
func APIView(o store.Object) (api.API, error) {
	var a model.API
	if err := decodeBody(o, &a); err != nil {
		return api.API{}, err
	}
	return api.API{ID: o.ID, Name: a.Name, Description: a.Description, IdentityHeaders: a.IdentityHeaders, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
}

func checkAPI(in *api.APIRequest) error {
	errs := LocalProblems(&config.Config{APIs: []config.API{{Name: in.Name, IdentityHeaders: in.IdentityHeaders}}}, "apis[0]")
	if len(in.Description) > 1000 {
		errs = append(errs, api.FieldError{Path: "description", Message: "at most 1000 bytes"})
	}
	if len(errs) > 0 {
		return invalidFields(errs)
	}
	return nil
}

// nameTaken refuses a name used by another object of kind under parent.
func nameTaken(tx store.Tx, kind, parent, name, self, what string) error {
	o, err := tx.GetByName(kind, parent, name)
	switch {
	case err == nil && o.ID != self:
		return conflict("", "%s named %q exists (%s)", what, Clip(name, 64), o.ID)
	case err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrInvalid):
		return err
	}
	return nil
}

// inUse is a Conflict with code: users (of kind what) keep an object.
// format's last verb is the users' names (UsersString).
func inUse(code, what string, users []api.UsedBy, format string, args ...any) error {
	e := conflict(code, format, append(args, UsersString(what, users))...)
	for _, u := range users {
		e.UsedBy = append(e.UsedBy, Ref{ID: u.ID, Name: u.Name})
	}
	return e
}

// Create makes an API from in.
func (s *APIs) Create(ctx context.Context, actor store.Actor, in api.APIRequest) (api.API, Written, error) {
	if err := checkAPI(&in); err != nil {
		return api.API{}, Written{}, err
	}
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		if err := nameTaken(tx, model.KindAPI, "", in.Name, "", "an API"); err != nil {
			return err
		}
		var err error
		out, err = tx.Create(store.Object{Kind: model.KindAPI, ID: store.NewID(model.Prefix[model.KindAPI]), Name: in.Name,
			Body: MustJSON(model.API{Name: in.Name, Description: in.Description, IdentityHeaders: in.IdentityHeaders})})
		return err
	})
	return writtenView(out, rev, err, APIView)
}

// List returns a page of APIs (at most limit, after the cursor after)
// and the cursor of the next page ("" at the end).
func (s *APIs) List(ctx context.Context, limit int, after string) ([]api.API, string, error) {
	return store.ListPage(ctx, s.st, store.ListOptions{Kind: model.KindAPI, Limit: limit, After: after}, APIView)
}

// Get returns API id and its revision.
func (s *APIs) Get(ctx context.Context, id string) (api.API, int64, error) {
	return show(ctx, s.st, model.KindAPI, "", id, "API", APIView)
}

// Update changes API id's name, description and identity headers to
// what change makes of the current ones, in one transaction, if match accepts its revision. A
// rename carries the base-path mappings that use the API along.
func (s *APIs) Update(ctx context.Context, actor store.Actor, id string, match Match, change func(cur api.APIRequest) (api.APIRequest, error)) (api.API, Written, error) {
	var out store.Object
	rev, err := s.update(ctx, actor, func(tx store.Tx) error {
		o, ifRev, err := getMatched(tx, model.KindAPI, id, "API", match)
		if err != nil {
			return err
		}
		var cur model.API
		if err := decodeBody(o, &cur); err != nil {
			return err
		}
		in, err := change(api.APIRequest{Name: cur.Name, Description: cur.Description, IdentityHeaders: cur.IdentityHeaders})
		if err != nil {
			return err
		}
		if err := checkAPI(&in); err != nil {
			return err
		}
		if in.Name != cur.Name {
			if err := nameTaken(tx, model.KindAPI, "", in.Name, id, "an API"); err != nil {
				return err
			}
			err := store.ListAll(tx, store.ListOptions{Kind: model.KindMapping}, func(m store.Object) error {
				var body model.Mapping
				if err := decodeBody(m, &body); err != nil {
					return err
				}
				if body.API != cur.Name {
					return nil
				}
				body.API = in.Name
				m.Body = MustJSON(body)
				_, err := tx.Replace(m, m.Rev)
				return err
			})
			if err != nil {
				return err
			}
		}
		o.Name = in.Name
		o.Body = MustJSON(model.API{Name: in.Name, Description: in.Description, IdentityHeaders: in.IdentityHeaders})
		out, err = tx.Replace(o, ifRev)
		return err
	})
	return writtenView(out, rev, err, APIView)
}

// mappingsOf lists the mappings that use API apiName (and stage, if not
// "").
func mappingsOf(tx store.Tx, apiName, stage string) ([]api.UsedBy, error) {
	var users []api.UsedBy
	err := store.ListAll(tx, store.ListOptions{Kind: model.KindMapping}, func(m store.Object) error {
		var body model.Mapping
		if err := decodeBody(m, &body); err != nil {
			return err
		}
		if body.API == apiName && (stage == "" || body.Stage == stage) {
			name := body.BasePath
			if d, err := tx.Get(model.KindDomain, m.Parent); err == nil {
				name = d.Name + name
			}
			users = append(users, api.UsedBy{ID: m.ID, Name: name})
		}
		return nil
	})
	return users, err
}

// Delete deletes API id with its integrations, routes and stages, if
// match accepts its revision. An API that mappings use is refused
// (Conflict, CodeAPIInUse, the mappings in UsedBy). It returns the
// revision committed.
func (s *APIs) Delete(ctx context.Context, actor store.Actor, id string, match Match) (int64, error) {
	return s.update(ctx, actor, func(tx store.Tx) error {
		o, ifRev, err := getMatched(tx, model.KindAPI, id, "API", match)
		if err != nil {
			return err
		}
		users, err := mappingsOf(tx, o.Name, "")
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return inUse(CodeAPIInUse, "mapping", users, "API %q is mapped by %s; delete those mappings first", Clip(o.Name, 64))
		}
		return tx.DeleteTree(model.KindAPI, id, ifRev)
	})
}

// Children runs the operations on one kind of an API's children
// (integrations, routes or stages): In is the request, Out the view. It
// is safe for concurrent use; every write is one store transaction.
type Children[In, Out any] struct {
	base
	spec childSpec[In, Out]
}

// childSpec describes an API child resource: its request type In, its
// stored body, its view Out.
type childSpec[In, Out any] struct {
	kind, what string
	// prepare validates in for the API (in tx) and returns the body to
	// store and the object's name. self is the object's ID on a replace,
	// "" on a create; old is its current body then.
	prepare func(tx store.Tx, apiObj store.Object, in *In, self string, old json.RawMessage) (body any, name string, err error)
	// view shows a stored object.
	view func(o store.Object) (Out, error)
	// id is the ID a view shows.
	id func(Out) string
	// inUse refuses the deletion of o, or returns nil.
	inUse func(tx store.Tx, apiObj store.Object, o store.Object) error
}

// ID returns the ID of the child v shows.
func (c *Children[In, Out]) ID(v Out) string { return c.spec.id(v) }

// target reads, in tx, API apiID and its child id, refused when match
// does not accept the child's revision.
func (c *Children[In, Out]) target(tx store.Tx, apiID, id string, match Match) (apiObj, o store.Object, ifRev int64, err error) {
	if apiObj, err = get(tx, model.KindAPI, apiID, "API"); err != nil {
		return
	}
	if o, err = getChild(tx, c.spec.kind, apiObj.ID, id, c.spec.what); err != nil {
		return
	}
	ifRev, err = precondition(o, match)
	return
}

// Create makes a child of API apiID from in.
func (c *Children[In, Out]) Create(ctx context.Context, actor store.Actor, apiID string, in In) (Out, Written, error) {
	var out store.Object
	rev, err := c.update(ctx, actor, func(tx store.Tx) error {
		apiObj, err := get(tx, model.KindAPI, apiID, "API")
		if err != nil {
			return err
		}
		body, name, err := c.spec.prepare(tx, apiObj, &in, "", nil)
		if err != nil {
			return err
		}
		out, err = tx.Create(store.Object{Kind: c.spec.kind, ID: store.NewID(model.Prefix[c.spec.kind]), Parent: apiObj.ID, Name: name, Body: MustJSON(body)})
		return err
	})
	return writtenView(out, rev, err, c.spec.view)
}

// List returns a page of API apiID's children (at most limit, after the
// cursor after) and the cursor of the next page ("" at the end).
func (c *Children[In, Out]) List(ctx context.Context, apiID string, limit int, after string) ([]Out, string, error) {
	if _, err := get(storeGetter{ctx, c.st}, model.KindAPI, apiID, "API"); err != nil {
		return nil, "", err
	}
	return store.ListPage(ctx, c.st, store.ListOptions{Kind: c.spec.kind, Parent: apiID, Limit: limit, After: after}, c.spec.view)
}

// Get returns child id of API apiID and its revision.
func (c *Children[In, Out]) Get(ctx context.Context, apiID, id string) (Out, int64, error) {
	return show(ctx, c.st, c.spec.kind, apiID, id, c.spec.what, c.spec.view)
}

// Replace replaces child id of API apiID with in, if match accepts its
// revision.
func (c *Children[In, Out]) Replace(ctx context.Context, actor store.Actor, apiID, id string, match Match, in In) (Out, Written, error) {
	var out store.Object
	rev, err := c.update(ctx, actor, func(tx store.Tx) error {
		apiObj, o, ifRev, err := c.target(tx, apiID, id, match)
		if err != nil {
			return err
		}
		body, name, err := c.spec.prepare(tx, apiObj, &in, o.ID, o.Body)
		if err != nil {
			return err
		}
		o.Name = name
		o.Body = MustJSON(body)
		out, err = tx.Replace(o, ifRev)
		return err
	})
	return writtenView(out, rev, err, c.spec.view)
}

// Delete deletes child id of API apiID, if match accepts its revision
// and nothing uses it (integrations: routes, CodeIntegrationInUse;
// stages: mappings, CodeStageInUse), and returns the revision committed.
func (c *Children[In, Out]) Delete(ctx context.Context, actor store.Actor, apiID, id string, match Match) (int64, error) {
	return c.update(ctx, actor, func(tx store.Tx) error {
		apiObj, o, ifRev, err := c.target(tx, apiID, id, match)
		if err != nil {
			return err
		}
		if c.spec.inUse != nil {
			if err := c.spec.inUse(tx, apiObj, o); err != nil {
				return err
			}
		}
		return tx.Delete(c.spec.kind, o.ID, ifRev)
	})
}

// apiStub is the configuration a child is validated in: the API's name
// and integrations (with a stub URL), and the store's authorizers, so
// references resolve.
func apiStub(tx store.Tx, apiObj store.Object) (*config.Config, error) {
	var a model.API
	if err := decodeBody(apiObj, &a); err != nil {
		return nil, err
	}
	ca := config.API{Name: a.Name}
	err := store.ListAll(tx, store.ListOptions{Kind: model.KindIntegration, Parent: apiObj.ID}, func(o store.Object) error {
		ca.Integrations = append(ca.Integrations, config.Integration{Name: o.Name, URL: "https://stub.invalid"})
		return nil
	})
	if err != nil {
		return nil, err
	}
	cfg := &config.Config{APIs: []config.API{ca}}
	err = store.ListAll(tx, store.ListOptions{Kind: model.KindAuthorizer}, func(o store.Object) error {
		var au model.Authorizer
		if err := decodeBody(o, &au); err != nil {
			return err
		}
		cfg.Authorizers = append(cfg.Authorizers, au)
		return nil
	})
	return cfg, err
}

// Integrations.

var integrationSpec = childSpec[config.Integration, api.Integration]{
	kind: model.KindIntegration, what: "integration",
	prepare: func(tx store.Tx, apiObj store.Object, in *config.Integration, self string, old json.RawMessage) (any, string, error) {
		var a model.API
		if err := decodeBody(apiObj, &a); err != nil {
			return nil, "", err
		}
		if in.TLS.CAFile != "" {
			return nil, "", invalid("tls.caFile", "files cannot be referenced through the API; give the PEM bundle in tls.caBundle")
		}
		if errs := LocalProblems(&config.Config{APIs: []config.API{{Name: a.Name, Integrations: []config.Integration{*in}}}}, "apis[0].integrations[0]"); len(errs) > 0 {
			return nil, "", invalidFields(errs)
		}
		if err := nameTaken(tx, model.KindIntegration, apiObj.ID, in.Name, self, "an integration"); err != nil {
			return nil, "", err
		}
		return in, in.Name, nil
	},
	view: func(o store.Object) (api.Integration, error) {
		var in config.Integration
		if err := decodeBody(o, &in); err != nil {
			return api.Integration{}, err
		}
		return api.Integration{ID: o.ID, APIID: o.Parent, Integration: in, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
	},
	id: func(v api.Integration) string { return v.ID },
	inUse: func(tx store.Tx, apiObj store.Object, o store.Object) error {
		var users []api.UsedBy
		err := store.ListAll(tx, store.ListOptions{Kind: model.KindRoute, Parent: apiObj.ID}, func(r store.Object) error {
			var rt config.Route
			if err := decodeBody(r, &rt); err != nil {
				return err
			}
			if rt.Integration == o.Name {
				users = append(users, api.UsedBy{ID: r.ID, Name: rt.Method + " " + rt.Path})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return inUse(CodeIntegrationInUse, "route", users, "integration %q is used by %s; change them first", Clip(o.Name, 64))
		}
		return nil
	},
}

// Routes.

var routeSpec = childSpec[config.Route, api.Route]{
	kind: model.KindRoute, what: "route",
	prepare: func(tx store.Tx, apiObj store.Object, in *config.Route, self string, old json.RawMessage) (any, string, error) {
		in.Method = strings.ToUpper(in.Method)
		if in.Method == "" {
			in.Method = config.MethodAny
		}
		cfg, err := apiStub(tx, apiObj)
		if err != nil {
			return nil, "", err
		}
		cfg.APIs[0].Routes = []config.Route{*in}
		if errs := LocalProblems(cfg, "apis[0].routes[0]"); len(errs) > 0 {
			return nil, "", invalidFields(errs)
		}
		return in, "", nil
	},
	view: func(o store.Object) (api.Route, error) {
		var r config.Route
		if err := decodeBody(o, &r); err != nil {
			return api.Route{}, err
		}
		return api.Route{ID: o.ID, APIID: o.Parent, Route: r, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
	},
	id: func(v api.Route) string { return v.ID },
}

// Stages.

var stageSpec = childSpec[model.Stage, api.Stage]{
	kind: model.KindStage, what: "stage",
	prepare: func(tx store.Tx, apiObj store.Object, in *model.Stage, self string, old json.RawMessage) (any, string, error) {
		var errs []api.FieldError
		if in.Name == "" {
			errs = append(errs, api.FieldError{Path: "name", Message: "required: the stage's name"})
		} else if !namePattern.MatchString(in.Name) {
			errs = append(errs, api.FieldError{Path: "name", Message: "not a valid name: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"})
		}
		if len(in.Variables) > maxStageVariables {
			errs = append(errs, api.FieldError{Path: "variables", Message: fmt.Sprintf("at most %d variables", maxStageVariables)})
		}
		for k, v := range in.Variables {
			p := config.FieldPath("variables", k)
			if !variablePattern.MatchString(k) {
				errs = append(errs, api.FieldError{Path: p, Message: "a variable name is 1 to 64 letters, digits or '_'"})
			}
			if len(v) > maxStageVariableSize {
				errs = append(errs, api.FieldError{Path: p, Message: fmt.Sprintf("at most %d bytes", maxStageVariableSize)})
			}
		}
		if id := in.ClientCertificateID; id != "" && !idPattern.MatchString(id) {
			errs = append(errs, api.FieldError{Path: "clientCertificateId", Message: "not an ID (letters, digits, '.', '_' or '-')"})
		}
		if len(errs) > 0 {
			return nil, "", invalidFields(errs)
		}
		if err := nameTaken(tx, model.KindStage, apiObj.ID, in.Name, self, "a stage"); err != nil {
			return nil, "", err
		}
		if id := in.ClientCertificateID; id != "" {
			if _, err := tx.Get(model.KindClientCertificate, id); errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
				return nil, "", invalid("clientCertificateId", "no client certificate with ID %q (create one with POST /v1/client-certificates)", Clip(id, 64))
			} else if err != nil {
				return nil, "", err
			}
		}
		if old != nil {
			var prev model.Stage
			if err := json.Unmarshal(old, &prev); err == nil && prev.Name != in.Name {
				if err := stageInUse(tx, apiObj, prev.Name); err != nil {
					return nil, "", err
				}
			}
		}
		return in, in.Name, nil
	},
	view: func(o store.Object) (api.Stage, error) {
		var st model.Stage
		if err := decodeBody(o, &st); err != nil {
			return api.Stage{}, err
		}
		return api.Stage{ID: o.ID, APIID: o.Parent, StageSpec: api.StageSpec(st), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
	},
	id:    func(v api.Stage) string { return v.ID },
	inUse: func(tx store.Tx, apiObj store.Object, o store.Object) error { return stageInUse(tx, apiObj, o.Name) },
}

// stageInUse refuses to delete or rename a stage that mappings name.
func stageInUse(tx store.Tx, apiObj store.Object, stage string) error {
	users, err := mappingsOf(tx, apiObj.Name, stage)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return inUse(CodeStageInUse, "mapping", users, "stage %q is mapped by %s; change those mappings first", Clip(stage, 64))
	}
	return nil
}
