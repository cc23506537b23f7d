package api

import (
	"fmt"
	"strings"
)

// Problem is an RFC 9457 body: every error of the admin API. Type stays
// at its default (about:blank); the stable machine-readable code travels
// in Code. It is an error so that the typed client can return it.
type Problem struct {
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Code   string       `json:"code"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
	UsedBy []UsedBy     `json:"usedBy,omitempty"`
}

// Error reads "Code (status title): detail", then one line per field.
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d %s)", p.Code, p.Status, p.Title)
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", e.Path, e.Message)
	}
	return b.String()
}

// FieldError is one invalid field of a request: its JSON path
// ("certificate.keyPEM", "deny.serials[2]") and what is wrong.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// UsedBy names an object that keeps another from being deleted.
type UsedBy struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Page is the answer of every list route: Items in ID order and, when
// more follow, the cursor to pass as ?next= for them.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}
