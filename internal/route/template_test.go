package route

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var validTemplates = []string{
	"/",
	"/widgets",
	"/widgets/{id}",
	"/widgets/{id}/parts/{part}",
	"/{proxy+}",
	"/files/{path+}",
	"/a/b/c/d",
	"/v1/users/{user_id}/keys/{_k2}",
	"/enc/a%20b",
	"/sub-delims/!$&'()*+,;=:@",
	"/unreserved/aZ09-._~",
	"/mixed/%2e%2Ex", // decodes to "..x": not a dot segment
	"/" + strings.Repeat("a/", 63) + "a",
	"/{" + strings.Repeat("p", 64) + "}",
}

func TestParseTemplateValid(t *testing.T) {
	for _, s := range validTemplates {
		tmpl, err := ParseTemplate(s)
		if err != nil {
			t.Errorf("ParseTemplate(%q) = %v", s, err)
			continue
		}
		if tmpl.String() != s {
			t.Errorf("ParseTemplate(%q).String() = %q", s, tmpl.String())
		}
	}
}

var invalidTemplates = []struct {
	in   string
	want string // substring of the error message
}{
	{"", `must start with "/"`},
	{"widgets", `must start with "/"`},
	{"/widgets/", "trailing slash"},
	{"//", "trailing slash"},
	{"//widgets", `segment 1 "": empty segment`},
	{"/a//b", `segment 2 "": empty segment`},
	{"/a/{id", `segment 2 "{id": unclosed "{"`},
	{"/a/id}", `segment 2 "id}": a parameter must be the whole segment`},
	{"/a{b}", `segment 1 "a{b}": a parameter must be the whole segment`},
	{"/{a}b", `segment 1 "{a}b": a parameter must be the whole segment`},
	{"/{a}{b}", `segment 1 "{a}{b}": a parameter must be the whole segment`},
	{"/{}", `segment 1 "{}": empty parameter name`},
	{"/{+}", `segment 1 "{+}": empty parameter name`},
	{"/{1a}", `invalid character '1' in parameter name`},
	{"/{a-b}", `invalid character '-' in parameter name`},
	{"/{a b}", `invalid character ' ' in parameter name`},
	{"/{a++}", `invalid character '+' in parameter name`},
	{"/{" + strings.Repeat("p", 65) + "}", "parameter name longer than 64 bytes"},
	{"/{p+}/x", `segment 1 "{p+}": a greedy parameter must be the last segment`},
	{"/{id}/{id}", `segment 2 "{id}": duplicate parameter name "id"`},
	{"/{id}/{id+}", `duplicate parameter name "id"`},
	{"/a/.", `segment 2 ".": dot segment`},
	{"/../a", `segment 1 "..": dot segment`},
	{"/%2e%2E", "dot segment"},
	{"/a%2fb", `escaped "/" never matches`},
	{"/a%zz", `"%" not followed by two hex digits`},
	{"/a%4", `"%" not followed by two hex digits`},
	{"/a b", `invalid character ' '`},
	{"/a?b", `invalid character '?'`},
	{"/a#b", `invalid character '#'`},
	{"/a\x00", `invalid character '\x00'`},
	{"/caf\xc3\xa9", `invalid character '\xc3'`},
	{"/" + strings.Repeat("a/", 64) + "a", "65 segments, more than 64"},
	{"/" + strings.Repeat("a", 2048), "longer than 2048 bytes"},
}

func TestParseTemplateErrors(t *testing.T) {
	for _, tt := range invalidTemplates {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseTemplate(tt.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseTemplate(%q) = %v, want a *ParseError", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseTemplate(%q) = %q, want it to contain %q", tt.in, err, tt.want)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("ParseTemplate(%q): error of %d bytes, want it shortened", tt.in, len(err.Error()))
			}
		})
	}
}

func TestTemplateMatch(t *testing.T) {
	tests := []struct {
		tmpl, path string
		want       Params // nil: no match
	}{
		{"/", "/", Params{}},
		{"/", "//", nil},
		{"/", "/a", nil},
		{"/a", "/a", Params{}},
		{"/a", "/a/", Params{}},
		{"/a", "/a//", nil},
		{"/a", "/b", nil},
		{"/a", "a", nil},
		{"/a", "", nil},
		{"/a/{id}", "/a/1", Params{{"id", "1"}}},
		{"/a/{id}", "/a/1/", Params{{"id", "1"}}},
		{"/a/{id}", "/a/", nil},
		{"/a/{id}", "/a//", nil},
		{"/a/{id}", "/a/..", nil},
		{"/a/{id}", "/a/1/2", nil},
		{"/{p+}", "/", nil},
		{"/{p+}", "/x", Params{{"p", "x"}}},
		{"/{p+}", "/x/y/z/", Params{{"p", "x/y/z"}}},
		{"/{p+}", "/x//z", nil},
		{"/{p+}", "/x/./z", nil},
		{"/{a}/{p+}", "/x/y/z", Params{{"a", "x"}, {"p", "y/z"}}},
		{"/enc/a%20b", "/enc/a b", Params{}},
		{"/enc/a%20b", "/enc/a%20b", nil},
	}
	for _, tt := range tests {
		var got Params
		ok := MustParseTemplate(tt.tmpl).Match(tt.path, &got)
		if ok != (tt.want != nil) {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.tmpl, tt.path, ok, tt.want != nil)
			continue
		}
		if ok {
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%q.Match(%q) params (-want +got):\n%s", tt.tmpl, tt.path, diff)
			}
		}
	}
}

func TestParamNames(t *testing.T) {
	got := MustParseTemplate("/a/{x}/b/{rest+}").ParamNames()
	if diff := cmp.Diff([]string{"x", "rest"}, got); diff != "" {
		t.Errorf("ParamNames (-want +got):\n%s", diff)
	}
	if got := MustParseTemplate("/").ParamNames(); got != nil {
		t.Errorf("ParamNames of / = %q, want nil", got)
	}
}

func TestParamsGet(t *testing.T) {
	p := Params{{"a", "1"}, {"b", "2"}}
	if p.Get("b") != "2" || p.Get("c") != "" || Params(nil).Get("a") != "" {
		t.Errorf("Get: %q %q %q", p.Get("b"), p.Get("c"), Params(nil).Get("a"))
	}
}

func TestTemplateMatchResetsBufOnMiss(t *testing.T) {
	buf := Params{{"stale", "x"}}
	if MustParseTemplate("/a/{x}/b").Match("/a/1/c", &buf) || len(buf) != 0 {
		t.Errorf("Match(/a/1/c) left %v in buf", buf)
	}
}
