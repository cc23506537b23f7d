package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/store"
)

func truststoreOf(o store.Object) (api.Truststore, error) {
	var ts model.Truststore
	if err := decodeBody(o, &ts); err != nil {
		return api.Truststore{}, err
	}
	return api.Truststore{ID: o.ID, Name: ts.Name, Description: ts.Description, LatestVersion: ts.LatestVersion, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}, nil
}

func versionOf(o store.Object, content bool) (api.TruststoreVersion, error) {
	var v storedVersion
	if err := decodeBody(o, &v); err != nil {
		return api.TruststoreVersion{}, err
	}
	return versionView(o, v, content)
}

// versionView shows stored version v (of object o). Every field of the
// stored body that versionJSON has, by JSON name, is shown, so a setting
// added to both shows without code here; without content, the bundles
// and CRLs are left out.
func versionView(o store.Object, v storedVersion, content bool) (api.TruststoreVersion, error) {
	// The bulky fields go around the JSON round trip (megabytes of CRLs).
	bundle, inters, crls := v.CABundle, v.Intermediates, v.CRLs
	v.CABundle, v.Intermediates, v.CRLs = "", "", nil
	var out api.TruststoreVersion
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		return api.TruststoreVersion{}, fmt.Errorf("truststore %s version %d: %w", o.Parent, v.Version, err)
	}
	if content {
		out.CABundle, out.Intermediates, out.CRLs = bundle, inters, crls
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

// versionID is the ID of version n of truststore tsID. Derived IDs sort
// in version order within a truststore, so lists come in version order.
func versionID(tsID string, n int) string {
	return model.Prefix[model.KindTruststoreVersion] + "-" + strings.TrimPrefix(tsID, model.Prefix[model.KindTruststore]+"-") + "-" + fmt.Sprintf("%08d", n)
}

func (s *server) createTruststore(c *call) error {
	var in api.TruststoreCreate
	if err := decodeStrict(c.body, &in); err != nil {
		return err
	}
	if errs := localProblems(&config.Config{Truststores: []config.Truststore{{Name: in.Name, CABundle: stubPEM}}}, "truststores[0]"); len(errs) > 0 {
		return invalidFields(errs)
	}
	if len(in.Description) > 1000 {
		return invalid("description", "at most 1000 bytes")
	}
	v, err := lintVersion(in.VersionContent, inheritedCRLs{}, s.now(), s.resolveCA(c))
	if err != nil {
		return err
	}
	v.Version = 1
	var ts store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		if o, err := tx.GetByName(model.KindTruststore, "", in.Name); err == nil {
			return newError(http.StatusConflict, CodeConflict, "a truststore named %q exists (%s)", in.Name, o.ID)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var err error
		ts, err = tx.Create(store.Object{
			Kind: model.KindTruststore, ID: store.NewID(model.Prefix[model.KindTruststore]), Name: in.Name,
			Body: mustJSON(model.Truststore{Name: in.Name, Description: in.Description, LatestVersion: 1}),
		})
		if err != nil {
			return err
		}
		_, err = tx.Create(store.Object{
			Kind: model.KindTruststoreVersion, ID: versionID(ts.ID, 1), Parent: ts.ID, Name: "1", Body: mustJSON(v),
		})
		return err
	})
	if err != nil {
		return err
	}
	j, err := truststoreOf(ts)
	if err != nil {
		return err
	}
	out := api.TruststoreCreated{Truststore: j, Warnings: v.Warnings}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	written(c.w, http.StatusCreated, rev, ts.Rev, "/v1/truststores/"+ts.ID, out)
	return nil
}

func (s *server) listTruststores(c *call) error {
	return list(s, c, model.KindTruststore, "", truststoreOf)
}

func (s *server) getTruststore(c *call) error {
	o, err := get(s.reader(c), model.KindTruststore, c.r.PathValue("id"), "truststore")
	if err != nil {
		return err
	}
	out, err := truststoreOf(o)
	if err != nil {
		return err
	}
	read(c.w, o.Rev, out)
	return nil
}

func (s *server) patchTruststore(c *call) error {
	id := c.r.PathValue("id")
	var out store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		o, err := get(tx, model.KindTruststore, id, "truststore")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		var ts model.Truststore
		if err := decodeBody(o, &ts); err != nil {
			return err
		}
		merged, err := mergePatch(api.TruststorePatch{Description: ts.Description}, c.body)
		if err != nil {
			return err
		}
		var p api.TruststorePatch
		if err := decodeStrict(merged, &p); err != nil {
			return err
		}
		if len(p.Description) > 1000 {
			return invalid("description", "at most 1000 bytes")
		}
		ts.Description = p.Description
		o.Body = mustJSON(ts)
		out, err = tx.Replace(o, ifRev)
		return err
	})
	if err != nil {
		return err
	}
	j, err := truststoreOf(out)
	if err != nil {
		return err
	}
	written(c.w, http.StatusOK, rev, out.Rev, "", j)
	return nil
}

func (s *server) deleteTruststore(c *call) error {
	id := c.r.PathValue("id")
	rev, err := s.update(c, func(tx store.Tx) error {
		o, err := get(tx, model.KindTruststore, id, "truststore")
		if err != nil {
			return err
		}
		ifRev, err := precondition(c.r, o)
		if err != nil {
			return err
		}
		var ts model.Truststore
		if err := decodeBody(o, &ts); err != nil {
			return err
		}
		var users []api.UsedBy
		err = listAll(tx, store.ListOptions{Kind: model.KindDomain}, func(d store.Object) error {
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
			e := newError(http.StatusConflict, CodeTruststoreInUse, "truststore %q is used by %s; change their clientAuth first", ts.Name, usersString("domain", users))
			e.usedBy = users
			return e
		}
		return tx.DeleteTree(model.KindTruststore, id, ifRev)
	})
	if err != nil {
		return err
	}
	written(c.w, http.StatusNoContent, rev, 0, "", nil)
	return nil
}

// usersString names the objects in a UsedBy list for a detail message.
func usersString(kind string, users []api.UsedBy) string {
	var names []string
	for i, u := range users {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(users)-5))
			break
		}
		names = append(names, fmt.Sprintf("%s (%s)", strconv.Quote(clip(u.Name, 100)), u.ID))
	}
	if len(users) > 1 {
		kind += "s"
	}
	return kind + " " + strings.Join(names, ", ")
}

// createVersion makes a new version from the latest one and the request:
// what the request leaves out is inherited (see inheritVersion), and the
// answer lists what changed.
func (s *server) createVersion(c *call) error {
	id := c.r.PathValue("id")
	inherit := true // ?inherit=false: the body is the whole version (apply)
	if v := c.r.URL.Query().Get("inherit"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return newError(http.StatusBadRequest, CodeInvalidQuery, "inherit must be true or false")
		}
		inherit = b
	}
	// The version to inherit from; the expensive lint runs before the
	// transaction, which then checks that no version came in between.
	o, err := get(s.reader(c), model.KindTruststore, id, "truststore")
	if err != nil {
		return err
	}
	var ts model.Truststore
	if err := decodeBody(o, &ts); err != nil {
		return err
	}
	base := ts.LatestVersion
	po, err := getChild(s.reader(c), model.KindTruststoreVersion, id, versionID(id, base), "truststore version")
	if err != nil {
		return err
	}
	var prev storedVersion
	if err := decodeBody(po, &prev); err != nil {
		return err
	}
	var in api.VersionContent
	var inherited inheritedCRLs
	if inherit {
		in, inherited, err = inheritVersion(prev.TruststoreVersion, c.body)
	} else {
		err = decodeStrict(c.body, &in)
	}
	if err != nil {
		return err
	}
	v, err := lintVersion(in, inherited, s.now(), s.resolveCA(c))
	if err != nil {
		return err
	}
	changes, err := versionChanges(prev.TruststoreVersion, v.TruststoreVersion, v.crlLabels)
	if err != nil {
		return err
	}
	var vo store.Object
	rev, err := s.update(c, func(tx store.Tx) error {
		o, err := get(tx, model.KindTruststore, id, "truststore")
		if err != nil {
			return err
		}
		var ts model.Truststore
		if err := decodeBody(o, &ts); err != nil {
			return err
		}
		if ts.LatestVersion != base {
			return newError(http.StatusConflict, CodeConflict, "truststore %s got version %d while this one was being checked against version %d; send the request again to build on the latest", id, ts.LatestVersion, base)
		}
		ts.LatestVersion++
		v.Version = ts.LatestVersion
		vo, err = tx.Create(store.Object{
			Kind: model.KindTruststoreVersion, ID: versionID(id, v.Version), Parent: id,
			Name: strconv.Itoa(v.Version), Body: mustJSON(v),
		})
		if err != nil {
			return err
		}
		o.Body = mustJSON(ts)
		_, err = tx.Replace(o, o.Rev)
		return err
	})
	if err != nil {
		return err
	}
	// Built from what was stored rather than by decoding its tens of
	// megabytes again.
	info, err := versionView(vo, v, false)
	if err != nil {
		return err
	}
	out := api.VersionCreated{TruststoreVersion: info, PreviousVersion: base, Changes: changes}
	written(c.w, http.StatusCreated, rev, vo.Rev, fmt.Sprintf("/v1/truststores/%s/versions/%d", id, v.Version), out)
	return nil
}

func (s *server) listVersions(c *call) error {
	id := c.r.PathValue("id")
	if _, err := get(s.reader(c), model.KindTruststore, id, "truststore"); err != nil {
		return err
	}
	return list(s, c, model.KindTruststoreVersion, id, func(o store.Object) (api.TruststoreVersion, error) { return versionOf(o, false) })
}

func (s *server) getVersion(c *call) error {
	id := c.r.PathValue("id")
	n, err := strconv.Atoi(c.r.PathValue("version"))
	if err != nil || n < 1 {
		return notFound("versions are numbered from 1")
	}
	if _, err := get(s.reader(c), model.KindTruststore, id, "truststore"); err != nil {
		return err
	}
	o, err := getChild(s.reader(c), model.KindTruststoreVersion, id, versionID(id, n), "truststore version")
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		return notFound("truststore %s has no version %d", id, n)
	}
	if err != nil {
		return err
	}
	out, err := versionOf(o, true)
	if err != nil {
		return err
	}
	read(c.w, o.Rev, out)
	return nil
}
