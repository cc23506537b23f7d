package route

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/certgate/certgate/internal/h1"
)

// Status is the outcome of Table.Match.
type Status int

const (
	NotFound         Status = iota // no template matches the path
	Found                          // a route matches the path and method
	MethodNotAllowed               // templates match the path, none the method
)

func (s Status) String() string {
	switch s {
	case NotFound:
		return "NotFound"
	case Found:
		return "Found"
	case MethodNotAllowed:
		return "MethodNotAllowed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// AnyMethod is the method that matches every request method.
const AnyMethod = "ANY"

// ErrDuplicate is returned by Table.Add for a method and template shape that
// is already in the table.
var ErrDuplicate = errors.New("duplicate route")

// Table is a route table: a trie of template segments with, at each
// template's end, the routes by method.
//
// The zero Table is empty and ready to use. Build it with Add, then call
// Match from any number of goroutines; Add must not run concurrently with
// anything else.
type Table[V any] struct {
	root node[V]
	n    int
}

type node[V any] struct {
	lits   map[string]*node[V] // by decoded literal
	param  *node[V]
	greedy *endpoint[V] // templates ending in a greedy parameter here
	end    *endpoint[V] // templates ending here
}

// endpoint holds the routes of one template shape (parameter names aside).
type endpoint[V any] struct {
	routes []methodRoute[V] // exact methods, sorted
	any    *methodRoute[V]
	allow  []string // the methods of routes, sorted; shared, never modified
}

type methodRoute[V any] struct {
	method string
	tmpl   *Template
	v      V
}

// Add registers v for method and tmpl. method is an RFC 9110 token
// compared case-sensitively (callers upper-case it); AnyMethod matches
// every method, but a route with the exact method on the same template
// shape wins over it. Two routes with the same method and the same
// template shape ("/w/{id}" and "/w/{name}" have the same shape) are an
// error wrapping ErrDuplicate.
func (t *Table[V]) Add(method string, tmpl *Template, v V) error {
	if tmpl == nil {
		return errors.New("route: add: nil template")
	}
	if !h1.IsToken(method) {
		return fmt.Errorf("route: add %q %s: method is not an HTTP token", method, tmpl)
	}
	n := &t.root
	var e **endpoint[V]
	for i, s := range tmpl.segs {
		switch s.kind {
		case segLiteral:
			if n.lits == nil {
				n.lits = make(map[string]*node[V])
			}
			c := n.lits[s.lit]
			if c == nil {
				c = new(node[V])
				n.lits[s.lit] = c
			}
			n = c
		case segParam:
			if n.param == nil {
				n.param = new(node[V])
			}
			n = n.param
		case segGreedy:
			if i != len(tmpl.segs)-1 {
				panic("route: greedy parameter not last") // ParseTemplate prevents it
			}
			e = &n.greedy
		}
	}
	if e == nil {
		e = &n.end
	}
	if *e == nil {
		*e = new(endpoint[V])
	}
	ep := *e
	r := methodRoute[V]{method: method, tmpl: tmpl, v: v}
	if method == AnyMethod {
		if ep.any != nil {
			return fmt.Errorf("route: add %s %s: %w (same shape as %s)", method, tmpl, ErrDuplicate, ep.any.tmpl)
		}
		ep.any = &r
		t.n++
		return nil
	}
	i, found := slices.BinarySearchFunc(ep.routes, method, func(r methodRoute[V], m string) int {
		return strings.Compare(r.method, m)
	})
	if found {
		return fmt.Errorf("route: add %s %s: %w (same shape as %s)", method, tmpl, ErrDuplicate, ep.routes[i].tmpl)
	}
	ep.routes = slices.Insert(ep.routes, i, r)
	allow := make([]string, len(ep.routes))
	for i, r := range ep.routes {
		allow[i] = r.method
	}
	ep.allow = allow
	t.n++
	return nil
}

// Len returns the number of routes in t.
func (t *Table[V]) Len() int { return t.n }

// Match finds the route for method and path, a decoded URL path starting
// with "/".
//
// Templates are tried in order of specificity, segment by segment from the
// left: a literal beats a parameter, which beats a greedy parameter. So
// "/widgets/special" beats "/widgets/{id}", which beats "/{proxy+}"; and
// for "/a/b/c", "/a/b/{y}" beats "/a/{x}/c" because the choice is made at
// the leftmost segment where they differ. A greedy parameter matches one
// or more segments ("/{proxy+}" does not match "/"). One trailing slash on
// the path is ignored ("/widgets/" matches "/widgets"); empty ("//") and
// dot ("." and "..") segments never match anything.
//
// The first template in that order that has a route for method (exactly,
// else AnyMethod) wins: Found. If templates match the path but none has a
// route for method, the result is MethodNotAllowed and allow lists the
// methods of the most specific matching template, sorted; allow is shared
// and must not be modified. Otherwise NotFound.
//
// Parameters of the winning template are appended to *buf after resetting
// it to length zero; with enough capacity in *buf, Match does not
// allocate. Values are raw path segments; a greedy parameter gets the rest
// of the path joined with "/". buf may be nil.
func (t *Table[V]) Match(method, path string, buf *Params) (v V, status Status, allow []string) {
	m := matcher[V]{method: method}
	if buf != nil {
		m.params = (*buf)[:0]
		defer func() { *buf = m.params }()
	}
	segs, i, ok := splitPath(path)
	if !ok {
		return v, NotFound, nil
	}
	m.segs = segs
	r := m.walk(&t.root, i)
	if r == nil {
		if m.first != nil {
			return v, MethodNotAllowed, m.first.allow
		}
		return v, NotFound, nil
	}
	// The i-th parameter value belongs to the i-th parameter segment of
	// the winning template; names come from it, since templates of one
	// shape may name their parameters differently.
	p := m.params
	for _, s := range r.tmpl.segs {
		if s.kind != segLiteral {
			p[0].Name = s.name
			p = p[1:]
		}
	}
	return r.v, Found, nil
}

type matcher[V any] struct {
	method string
	segs   string
	params Params
	first  *endpoint[V] // the most specific endpoint matching the path
}

// walk matches the segments of m.segs from index i against the subtree n,
// depth first in order of specificity, and returns the first route whose
// method matches. Each trie node is visited at most once per call.
func (m *matcher[V]) walk(n *node[V], i int) *methodRoute[V] {
	if i > len(m.segs) {
		return m.pick(n.end)
	}
	seg, next := cutSegment(m.segs, i)
	if segmentOK(seg) {
		if c := n.lits[seg]; c != nil {
			if r := m.walk(c, next); r != nil {
				return r
			}
		}
		if n.param != nil {
			k := len(m.params)
			m.params = append(m.params, Param{Value: seg})
			if r := m.walk(n.param, next); r != nil {
				return r
			}
			m.params = m.params[:k]
		}
	}
	if n.greedy != nil && greedyOK(m.segs[i:]) {
		k := len(m.params)
		m.params = append(m.params, Param{Value: m.segs[i:]})
		if r := m.pick(n.greedy); r != nil {
			return r
		}
		m.params = m.params[:k]
	}
	return nil
}

// pick returns e's route for m.method, remembering the first endpoint
// that matched the path for the 405 answer.
func (m *matcher[V]) pick(e *endpoint[V]) *methodRoute[V] {
	if e == nil {
		return nil
	}
	if m.first == nil {
		m.first = e
	}
	for i := range e.routes {
		if e.routes[i].method == m.method {
			return &e.routes[i]
		}
	}
	return e.any
}
