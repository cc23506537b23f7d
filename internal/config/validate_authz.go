package config

import (
	"errors"
	"fmt"

	"github.com/certgate/certgate/internal/authz"
	"github.com/certgate/certgate/internal/suggest"
)

// authorizer checks one authorizer on its own.
func (v *validator) authorizer(a *Authorizer, path string) {
	v.name(path+".name", "authorizer", a.Name)
	switch {
	case a.JWT == nil && a.HTTP == nil:
		v.add(path, "set one of jwt (verify a bearer token) or http (ask an external authorizer)")
	case a.JWT != nil && a.HTTP != nil:
		v.add(path, "set one of jwt or http, not both: make two authorizers")
	case a.JWT != nil:
		v.settings(path+".jwt", a.JWT.Validate())
		if a.JWT.JWKSFile != "" && !v.store {
			v.file(path+".jwt.jwksFile", a.JWT.JWKSFile)
		}
	default:
		v.settings(path+".http", a.HTTP.Validate())
	}
}

// settings adds the problem an authorizer's settings reported.
func (v *validator) settings(path string, err error) {
	if err == nil {
		return
	}
	var p authz.Problem
	if errors.As(err, &p) {
		if p.Field != "" {
			path += "." + p.Field
		}
		v.add(path, "%s", p.Message)
		return
	}
	v.add(path, "%s", err)
}

// apiAuthorizers checks an API's routes' authorizer references and its
// identity headers.
func (v *validator) apiAuthorizers(c *Config, a *API, path string) {
	for j := range a.Routes {
		r := &a.Routes[j]
		p := fmt.Sprintf("%s.routes[%d]", path, j)
		if r.Authorizer == "" {
			if len(r.Scopes) > 0 {
				v.add(p+".scopes", "scopes are checked by a JWT authorizer: name one in authorizer, or leave scopes out")
			}
			continue
		}
		au := c.Authorizer(r.Authorizer)
		if au == nil {
			msg := "no authorizer named " + quote(r.Authorizer)
			if m := suggest.Closest(r.Authorizer, authorizerNames(c)); m != "" {
				msg += "; did you mean " + quote(m) + "?"
			}
			v.add(p+".authorizer", "%s", msg)
			continue
		}
		if len(r.Scopes) > 0 && au.JWT == nil {
			v.add(p+".scopes", "authorizer %s is not a JWT authorizer: only a JWT authorizer checks scopes", quote(r.Authorizer))
		}
		for k, sc := range r.Scopes {
			if !validScope(sc) {
				v.add(fmt.Sprintf("%s.scopes[%d]", p, k), "%s is not a scope (RFC 6749: printable ASCII, no space, quote or backslash)", quote(sc))
			}
		}
	}
	if len(a.IdentityHeaders) > 0 {
		if _, err := authz.ParseIdentityHeaders(a.IdentityHeaders); err != nil {
			v.add(path+".identityHeaders", "%s", err)
		}
	}
}

// validScope reports whether s is an RFC 6749 scope token.
func validScope(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b <= 0x20 || b >= 0x7f || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

func authorizerNames(c *Config) []string {
	names := make([]string, 0, len(c.Authorizers))
	for _, a := range c.Authorizers {
		names = append(names, a.Name)
	}
	return names
}
