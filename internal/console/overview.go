package console

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/api"
	"github.com/certgate/certgate/internal/ca"
	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/ops"
	"github.com/certgate/certgate/internal/store"
)

// listLimit is the page size of the console's lists.
const listLimit = 100

// all reads every page of a list.
func all[T any](list func(limit int, after string) ([]T, string, error)) ([]T, error) {
	var out []T
	after := ""
	for {
		items, next, err := list(store.MaxPageLimit, after)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// allCAs lists every CA (the forms' CA choices, the dashboard).
func (s *server) allCAs(r *http.Request) ([]api.CA, error) {
	return all(func(l int, a string) ([]api.CA, string, error) { return s.ops.CAs.List(r.Context(), l, a) })
}

// expiring is one certificate that ends within Soon, for the dashboard.
type expiring struct {
	Kind, Name, Link    string
	NotBefore, NotAfter time.Time
}

type dashboardData struct {
	Status   api.NodeStatus
	HasNode  bool
	Expiring []expiring
	// Refusals are the last hour's refused handshakes by reason, most
	// first; HasRefusals says the node counts them.
	Refusals    []refusalCount
	HasRefusals bool
	// Nodes are the store's nodes with their states.
	Nodes []nodeRow
	// CanRotate offers the admin token's rotation.
	CanRotate bool
}

type refusalCount struct {
	Reason string
	Count  uint64
}

func (s *server) dashboard(w http.ResponseWriter, r *http.Request) {
	var d dashboardData
	if s.opts.Status != nil {
		d.Status, d.HasNode = s.opts.Status(), true
		d.Nodes = nodeRows(d.Status)
	}
	d.CanRotate = s.opts.RotateToken != nil
	ctx := r.Context()
	horizon := s.now().Add(Soon)
	soon := func(na time.Time) bool { return !na.IsZero() && na.Before(horizon) }
	certs, err := all(func(l int, a string) ([]api.ClientCertificate, string, error) {
		return s.ops.ClientCertificates.List(ctx, l, a)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, c := range certs {
		if soon(c.ExpiresAt) {
			kind := "Client certificate"
			if len(c.UsedBy) > 0 {
				var stages []string
				for _, u := range c.UsedBy {
					stages = append(stages, u.Name)
				}
				kind = "Stage client certificate (" + strings.Join(stages, ", ") + ")"
			}
			d.Expiring = append(d.Expiring, expiring{kind, c.ID, "/client-certificates/" + c.ID, c.NotBefore, c.ExpiresAt})
		}
	}
	cas, err := s.allCAs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, c := range cas {
		if soon(c.NotAfter) {
			d.Expiring = append(d.Expiring, expiring{"Certificate authority", c.Name, "/cas/" + c.ID, c.NotBefore, c.NotAfter})
		}
	}
	tss, err := all(func(l int, a string) ([]api.Truststore, string, error) { return s.ops.Truststores.List(ctx, l, a) })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, ts := range tss {
		v, _, err := s.ops.Truststores.GetVersion(ctx, ts.ID, ts.LatestVersion)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !soon(v.Summary.NotAfter) {
			continue // no CA of it ends soon
		}
		for _, c := range ca.ParseChain(v.CABundle + "\n" + v.Intermediates) {
			if soon(c.NotAfter) {
				d.Expiring = append(d.Expiring, expiring{"Truststore CA", ts.Name + ": " + c.Subject.CommonName,
					fmt.Sprintf("/truststores/%s", ts.ID), c.NotBefore, c.NotAfter})
			}
		}
	}
	if err := s.expiringServing(r, soon, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.opts.HandshakeRefusals != nil {
		d.HasRefusals = true
		for reason, n := range s.opts.HandshakeRefusals() {
			d.Refusals = append(d.Refusals, refusalCount{reason, n})
		}
		slices.SortFunc(d.Refusals, func(a, b refusalCount) int {
			if a.Count != b.Count {
				return cmp.Compare(b.Count, a.Count)
			}
			return strings.Compare(a.Reason, b.Reason)
		})
	}
	sort.SliceStable(d.Expiring, func(i, j int) bool { return d.Expiring[i].NotAfter.Before(d.Expiring[j].NotAfter) })
	s.render(w, r, http.StatusOK, "dashboard", &page{Title: "Dashboard", Nav: "dashboard", D: d})
}

// expiringServing adds to d the domains' server certificates and the
// back ends' certificates (as the node last saw them) that end soon.
func (s *server) expiringServing(r *http.Request, soon func(time.Time) bool, d *dashboardData) error {
	ctx := r.Context()
	domains, err := all(func(l int, a string) ([]api.Domain, string, error) { return s.ops.Domains.List(ctx, l, a) })
	if err != nil {
		return err
	}
	for _, dm := range domains {
		if c := dm.CertificateInfo; c != nil && soon(c.NotAfter) {
			d.Expiring = append(d.Expiring, expiring{"Domain server certificate", strings.Join(dm.Hosts, ", "), "/domains/" + dm.ID, c.NotBefore, c.NotAfter})
		}
	}
	if s.opts.BackendTLS == nil {
		return nil
	}
	apis, err := all(func(l int, a string) ([]api.API, string, error) { return s.ops.APIs.List(ctx, l, a) })
	if err != nil {
		return err
	}
	for _, a := range apis {
		ins, err := all(func(l int, after string) ([]api.Integration, string, error) {
			return s.ops.APIs.Integrations.List(ctx, a.ID, l, after)
		})
		if err != nil {
			return err
		}
		for _, in := range ins {
			if !strings.HasPrefix(strings.ToLower(in.URL), "https:") {
				continue
			}
			b, err := s.backendOf(r, a.Name, in.Name, false)
			if err != nil {
				return err
			}
			if b.Leaf != nil && soon(b.Leaf.NotAfter) {
				d.Expiring = append(d.Expiring, expiring{"Back-end certificate", a.Name + "/" + in.Name,
					"/apis/" + a.ID + "/integrations/" + in.ID, b.Leaf.NotBefore, b.Leaf.NotAfter})
			}
		}
	}
	return nil
}

// auditRow is one audit entry as the log page shows it.
type auditRow struct {
	store.AuditEntry
	Link string
	Diff []diffLine
}

// diffLine is one changed field: Op is "+", "-" or "~".
type diffLine struct {
	Op, Path, From, To string
}

type auditData struct {
	Rows       []auditRow
	Next       string
	Limit      int
	FirstPage  bool
	KindFilter string
}

func (s *server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l <= store.MaxPageLimit {
		limit = l
	}
	pg, err := s.ops.Store.Audit(r.Context(), store.AuditOptions{Limit: limit, After: q.Get("next")})
	if errors.Is(err, store.ErrInvalid) {
		s.render(w, r, http.StatusBadRequest, "error", &page{Title: "Audit log", Nav: "audit", D: "next is not a cursor of this list"})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := auditData{Next: pg.Next, Limit: limit, FirstPage: q.Get("next") == ""}
	for _, e := range pg.Entries {
		d.Rows = append(d.Rows, auditRow{AuditEntry: e, Link: linkOf(e.Kind, e.ID, e.Op), Diff: diff(e.Before, e.After)})
	}
	s.render(w, r, http.StatusOK, "audit", &page{Title: "Audit log", Nav: "audit", D: d})
}

// linkOf is the console page of an object, "" if it has none (or it was
// deleted).
func linkOf(kind, id, op string) string {
	if op == "delete" {
		return ""
	}
	switch kind {
	case model.KindTruststore:
		return "/truststores/" + id
	case model.KindClientCertificate:
		return "/client-certificates/" + id
	case model.KindCA:
		return "/cas/" + id
	}
	return ""
}

// secretFields are JSON members whose values the audit page never shows.
var secretFields = []string{"keysecret", "key", "keypem", "privatekey", "token", "secret", "password"}

// diff lists the fields that differ between two JSON documents, with
// secrets and PEM blocks redacted and long values clipped.
func diff(before, after json.RawMessage) []diffLine {
	b, a := map[string]string{}, map[string]string{}
	flatten("", decode(before), b)
	flatten("", decode(after), a)
	var paths []string
	for p := range b {
		paths = append(paths, p)
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	var out []diffLine
	for _, p := range paths {
		from, hadFrom := b[p]
		to, hasTo := a[p]
		switch {
		case hadFrom && !hasTo:
			out = append(out, diffLine{"-", p, from, ""})
		case !hadFrom && hasTo:
			out = append(out, diffLine{"+", p, "", to})
		case from != to:
			out = append(out, diffLine{"~", p, from, to})
		}
	}
	return out
}

func decode(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return v
}

func flatten(path string, v any, out map[string]string) {
	switch v := v.(type) {
	case nil:
		if path != "" {
			out[path] = "null"
		}
	case map[string]any:
		for k, x := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if slices.Contains(secretFields, strings.ToLower(k)) {
				out[p] = "(redacted)"
				continue
			}
			flatten(p, x, out)
		}
	case []any:
		for i, x := range v {
			flatten(fmt.Sprintf("%s[%d]", path, i), x, out)
		}
	case string:
		if strings.Contains(v, "-----BEGIN") {
			if strings.Contains(v, "PRIVATE KEY") {
				out[path] = "(redacted)"
			} else {
				out[path] = "(PEM, " + strconv.Itoa(len(v)) + " bytes)"
			}
			return
		}
		out[path] = ops.Clip(v, 200)
	default:
		j, _ := json.Marshal(v)
		out[path] = string(j)
	}
}
