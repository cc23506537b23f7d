package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

func apiOf(o store.Object) (api.API, error) {
	var a model.API
	if err := decodeBody(o, &a); err != nil {
		return api.API{}, err
	}
	return api.API{ID: o.ID, Name: a.Name, Description: a.Description, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
}

func checkAPI(in *api.APIRequest) error {
	errs := ops.LocalProblems(&config.Config{APIs: []config.API{{Name: in.Name}}}, "apis[0]")
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
		return newError(http.StatusConflict, CodeConflict, "%s named %q exists (%s)", what, clip(name, 64), o.ID)
	case err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrInvalid):
		return err
	}
	return nil
}

func (s *server) createAPI(c *call) error {
	var in api.APIRequest
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	if err := checkAPI(&in); err != nil {
		return err
	}
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		if err := nameTaken(tx, model.KindAPI, "", in.Name, "", "an API"); err != nil {
			return err
		}
		var err error
		out, err = tx.Create(store.Object{Kind: model.KindAPI, ID: store.NewID(model.Prefix[model.KindAPI]), Name: in.Name,
			Body: mustJSON(model.API{Name: in.Name, Description: in.Description})})
		return err
	})
	if err != nil {
		return err
	}
	j, err := apiOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusCreated, rev, out.Rev, "/v1/apis/"+out.ID, j)
	return nil
}

func (s *server) listAPIs(c *call) error { return list(s, c, model.KindAPI, "", apiOf) }

func (s *server) getAPI(c *call) error {
	o, err := get(s.reader(c), model.KindAPI, c.r.PathValue("id"), "API")
	if err != nil {
		return err
	}
	j, err := apiOf(o)
	if err != nil {
		return err
	}
	read(c.w, o.Rev, j)
	return nil
}

// patchAPI changes an API's description or name. A rename carries the
// base-path mappings that use the API along.
func (s *server) patchAPI(c *call) error {
	id := c.r.PathValue("id")
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		o, err := get(tx, model.KindAPI, id, "API")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		var cur model.API
		if err := decodeBody(o, &cur); err != nil {
			return err
		}
		merged, err := mergePatch(api.APIRequest{Name: cur.Name, Description: cur.Description}, c.body)
		if err != nil {
			return err
		}
		var in api.APIRequest
		if err := decodeStrict(merged, &in); err != nil {
			return err
		}
		if err := checkAPI(&in); err != nil {
			return err
		}
		if in.Name != cur.Name {
			if err := nameTaken(tx, model.KindAPI, "", in.Name, id, "an API"); err != nil {
				return err
			}
			err := listAll(tx, store.ListOptions{Kind: model.KindMapping}, func(m store.Object) error {
				var body model.Mapping
				if err := decodeBody(m, &body); err != nil {
					return err
				}
				if body.API != cur.Name {
					return nil
				}
				body.API = in.Name
				m.Body = mustJSON(body)
				_, err := tx.Replace(m, m.Rev)
				return err
			})
			if err != nil {
				return err
			}
		}
		o.Name = in.Name
		o.Body = mustJSON(model.API{Name: in.Name, Description: in.Description})
		out, err = tx.Replace(o, ifRev)
		return err
	})
	if err != nil {
		return err
	}
	j, err := apiOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, rev, out.Rev, "", j)
	return nil
}

// mappingsOf lists the mappings that use API apiName (and stage, if not
// "").
func mappingsOf(tx store.Tx, apiName, stage string) ([]api.UsedBy, error) {
	var users []api.UsedBy
	err := listAll(tx, store.ListOptions{Kind: model.KindMapping}, func(m store.Object) error {
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

func (s *server) deleteAPI(c *call) error {
	id := c.r.PathValue("id")
	rev, err := s.update(c, func(tx store.Tx) error {
		o, err := get(tx, model.KindAPI, id, "API")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		users, err := mappingsOf(tx, o.Name, "")
		if err != nil {
			return err
		}
		if len(users) > 0 {
			e := newError(http.StatusConflict, CodeAPIInUse, "API %q is mapped by %s; delete those mappings first", clip(o.Name, 64), usersString("mapping", users))
			e.usedBy = users
			return e
		}
		return tx.DeleteTree(model.KindAPI, id, ifRev)
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}

// childKind is one collection under /v1/apis/{id}/.
type childKind struct {
	collection                     string
	create, list, get, put, delete func(*server, *call) error
}

var apiChildren = []childKind{
	childHandlers(integrationSpec),
	childHandlers(routeSpec),
	childHandlers(stageSpec),
}

// childSpec describes an API child resource: its request type In, its
// stored body, its view Out.
type childSpec[In, Out any] struct {
	collection, kind, what string
	// prepare validates in for the API (in tx) and returns the body to
	// store and the object's name. self is the object's ID on a PUT, ""
	// on a POST; old is its current body then.
	prepare func(tx store.Tx, apiObj store.Object, in *In, self string, old json.RawMessage) (body any, name string, err error)
	// view shows a stored object.
	view func(o store.Object) (Out, error)
	// inUse refuses the deletion of o, or returns nil.
	inUse func(tx store.Tx, apiObj store.Object, o store.Object) error
}

// target loads, in tx, the API and the child a PUT or DELETE names, and
// the revision its If-Match requires (store.AnyRev when absent).
func (sp childSpec[In, Out]) target(c *call, tx store.Tx) (apiObj, o store.Object, ifRev int64, err error) {
	if apiObj, err = get(tx, model.KindAPI, c.r.PathValue("id"), "API"); err != nil {
		return
	}
	if o, err = getChild(tx, sp.kind, apiObj.ID, c.r.PathValue("cid"), sp.what); err != nil {
		return
	}
	ifRev, err = precondition(c.r, o)
	return
}

func childHandlers[In, Out any](sp childSpec[In, Out]) childKind {
	apiOfCall := func(c *call, tx store.Tx) (store.Object, error) {
		return get(tx, model.KindAPI, c.r.PathValue("id"), "API")
	}
	return childKind{
		collection: sp.collection,
		create: func(s *server, c *call) error {
			var in In
			if err := decodeStrict(c.body, &in); err != nil {
				return err
			}
			var out store.Object
			rev, err := s.update(c, func(tx store.Tx) error {
				apiObj, err := apiOfCall(c, tx)
				if err != nil {
					return err
				}
				body, name, err := sp.prepare(tx, apiObj, &in, "", nil)
				if err != nil {
					return err
				}
				out, err = tx.Create(store.Object{Kind: sp.kind, ID: store.NewID(model.Prefix[sp.kind]), Parent: apiObj.ID, Name: name, Body: mustJSON(body)})
				return err
			})
			if err != nil {
				return err
			}
			j, err := sp.view(out)
			if err != nil {
				return err
			}
			written(c.w, http.StatusCreated, rev, out.Rev, fmt.Sprintf("/v1/apis/%s/%s/%s", out.Parent, sp.collection, out.ID), j)
			return nil
		},
		list: func(s *server, c *call) error {
			id := c.r.PathValue("id")
			if _, err := get(s.reader(c), model.KindAPI, id, "API"); err != nil {
				return err
			}
			return list(s, c, sp.kind, id, sp.view)
		},
		get: func(s *server, c *call) error {
			o, err := getChild(s.reader(c), sp.kind, c.r.PathValue("id"), c.r.PathValue("cid"), sp.what)
			if err != nil {
				return err
			}
			j, err := sp.view(o)
			if err != nil {
				return err
			}
			read(c.w, o.Rev, j)
			return nil
		},
		put: func(s *server, c *call) error {
			var in In
			if err := decodeStrict(c.body, &in); err != nil {
				return err
			}
			var out store.Object
			rev, err := s.update(c, func(tx store.Tx) error {
				apiObj, o, ifRev, err := sp.target(c, tx)
				if err != nil {
					return err
				}
				body, name, err := sp.prepare(tx, apiObj, &in, o.ID, o.Body)
				if err != nil {
					return err
				}
				o.Name = name
				o.Body = mustJSON(body)
				out, err = tx.Replace(o, ifRev)
				return err
			})
			if err != nil {
				return err
			}
			j, err := sp.view(out)
			if err != nil {
				return err
			}
			written(c.w, http.StatusOK, rev, out.Rev, "", j)
			return nil
		},
		delete: func(s *server, c *call) error {
			rev, err := s.update(c, func(tx store.Tx) error {
				apiObj, o, ifRev, err := sp.target(c, tx)
				if err != nil {
					return err
				}
				if sp.inUse != nil {
					if err := sp.inUse(tx, apiObj, o); err != nil {
						return err
					}
				}
				return tx.Delete(sp.kind, o.ID, ifRev)
			})
			if err != nil {
				return err
			}
			written(c.w, http.StatusNoContent, rev, 0, "", nil)
			return nil
		},
	}
}

// apiStub is the API a child is validated in: its name and integrations
// (with a stub URL), so references between children resolve.
func apiStub(tx store.Tx, apiObj store.Object) (config.API, error) {
	var a model.API
	if err := decodeBody(apiObj, &a); err != nil {
		return config.API{}, err
	}
	ca := config.API{Name: a.Name}
	err := listAll(tx, store.ListOptions{Kind: model.KindIntegration, Parent: apiObj.ID}, func(o store.Object) error {
		ca.Integrations = append(ca.Integrations, config.Integration{Name: o.Name, URL: "https://stub.invalid"})
		return nil
	})
	return ca, err
}

// Integrations.

var integrationSpec = childSpec[config.Integration, api.Integration]{
	collection: "integrations", kind: model.KindIntegration, what: "integration",
	prepare: func(tx store.Tx, apiObj store.Object, in *config.Integration, self string, old json.RawMessage) (any, string, error) {
		var a model.API
		if err := decodeBody(apiObj, &a); err != nil {
			return nil, "", err
		}
		if in.TLS.CAFile != "" {
			return nil, "", invalid("tls.caFile", "files cannot be referenced through the API; give the PEM bundle in tls.caBundle")
		}
		if errs := ops.LocalProblems(&config.Config{APIs: []config.API{{Name: a.Name, Integrations: []config.Integration{*in}}}}, "apis[0].integrations[0]"); len(errs) > 0 {
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
	inUse: func(tx store.Tx, apiObj store.Object, o store.Object) error {
		var users []api.UsedBy
		err := listAll(tx, store.ListOptions{Kind: model.KindRoute, Parent: apiObj.ID}, func(r store.Object) error {
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
			e := newError(http.StatusConflict, CodeIntegrationInUse, "integration %q is used by %s; change them first", clip(o.Name, 64), usersString("route", users))
			e.usedBy = users
			return e
		}
		return nil
	},
}

// Routes.

var routeSpec = childSpec[config.Route, api.Route]{
	collection: "routes", kind: model.KindRoute, what: "route",
	prepare: func(tx store.Tx, apiObj store.Object, in *config.Route, self string, old json.RawMessage) (any, string, error) {
		in.Method = strings.ToUpper(in.Method)
		if in.Method == "" {
			in.Method = config.MethodAny
		}
		ca, err := apiStub(tx, apiObj)
		if err != nil {
			return nil, "", err
		}
		ca.Routes = []config.Route{*in}
		if errs := ops.LocalProblems(&config.Config{APIs: []config.API{ca}}, "apis[0].routes[0]"); len(errs) > 0 {
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
}

// Stages.

// Limits of stage variables.
const (
	maxStageVariables    = 100
	maxStageVariableSize = 2048
)

var stageSpec = childSpec[model.Stage, api.Stage]{
	collection: "stages", kind: model.KindStage, what: "stage",
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
				return nil, "", invalid("clientCertificateId", "no client certificate with ID %q (create one with POST /v1/client-certificates)", clip(id, 64))
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
	inUse: func(tx store.Tx, apiObj store.Object, o store.Object) error { return stageInUse(tx, apiObj, o.Name) },
}

// stageInUse refuses to delete or rename a stage that mappings name.
func stageInUse(tx store.Tx, apiObj store.Object, stage string) error {
	users, err := mappingsOf(tx, apiObj.Name, stage)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		e := newError(http.StatusConflict, CodeStageInUse, "stage %q is mapped by %s; change those mappings first", clip(stage, 64), usersString("mapping", users))
		e.usedBy = users
		return e
	}
	return nil
}
