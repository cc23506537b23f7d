package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeStrictJSONDeepPathIsClipped(t *testing.T) {
	in := `{"allow":[` + strings.Repeat(`{"subject":{"CN":"a"}},`, 30) + `{"subject":{"cN":"a"}}]}`
	err := DecodeStrictJSON([]byte(in), &Route{})
	var je *JSONError
	if !errors.As(err, &je) || je.Kind != JSONSchema || !je.UnknownOnly || len(je.Problems) != 1 {
		t.Fatalf("DecodeStrictJSON = %#v", err)
	}
	if p := je.Problems[0].Path; p != "allow[30].subject.cN" || je.Problems[0].Message != `unknown field; did you mean "CN"?` {
		t.Errorf("path %q message %q", p, je.Problems[0].Message)
	}
	deep := strings.Repeat(`{"a":`, 20)
	err = DecodeStrictJSON([]byte(`{"variables":`+deep+`1`+strings.Repeat("}", 21)), &Stage{})
	if !errors.As(err, &je) || len(je.Problems) == 0 || len(je.Problems[0].Path) > maxPathEcho {
		t.Errorf("deep error %v", err)
	}
}

func TestDecodeStrictJSONKinds(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		kind     JSONErrorKind
	}{
		{"empty", " \n", JSONEmpty},
		{"syntax", `{"name":`, JSONSyntax},
		{"not JSON", `nope`, JSONSyntax},
		{"trailing", `{"name":"a"} {}`, JSONTrailingData},
		{"wrong kind", `{"name":1}`, JSONSchema},
		{"twice", `{"name":"a","name":"b"}`, JSONSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var je *JSONError
			err := DecodeStrictJSON([]byte(tc.in), &Stage{})
			if !errors.As(err, &je) || je.Kind != tc.kind {
				t.Fatalf("DecodeStrictJSON(%q) = %v, want kind %d", tc.in, err, tc.kind)
			}
			if je.Kind == JSONSchema && je.UnknownOnly {
				t.Errorf("DecodeStrictJSON(%q): UnknownOnly with %q", tc.in, je.Problems)
			}
		})
	}
	var s Stage
	if err := DecodeStrictJSON([]byte(`{"name":"prod","variables":{"a":"b"}}`), &s); err != nil || s.Name != "prod" || s.Variables["a"] != "b" {
		t.Errorf("DecodeStrictJSON = %+v, %v", s, err)
	}
}

// TestDecodeStrictJSONRawMessage: free-form JSON (an inline JWKS) is
// kept byte for byte as sent, as encoding/json keeps it, whatever its
// kind; what follows it still decodes strictly.
func TestDecodeStrictJSONRawMessage(t *testing.T) {
	for _, jwks := range []string{`{"keys" : [ {"kty":"EC", "x":"\u0041"}, 1.5e3, null ]}`, `"text"`, `7`, `[]`, `{}`} {
		in := `{"name":"a","jwt":{"issuer":"i","audiences":["x"],"jwks":` + jwks + ` ,"clockSkew":"5s"}}`
		var a Authorizer
		if err := DecodeStrictJSON([]byte(in), &a); err != nil {
			t.Fatalf("DecodeStrictJSON(%s) = %v", in, err)
		}
		if string(a.JWT.JWKS) != jwks || a.JWT.ClockSkew != Duration(5e9) {
			t.Errorf("DecodeStrictJSON(%s): jwks %s, clockSkew %v; want %s, 5s", in, a.JWT.JWKS, a.JWT.ClockSkew, jwks)
		}
	}
	var a Authorizer
	err := DecodeStrictJSON([]byte(`{"name":"a","jwt":{"jwks":{"keys":[]},"isuer":"i"}}`), &a)
	var je *JSONError
	if !errors.As(err, &je) || len(je.Problems) != 1 || je.Problems[0].Path != "jwt.isuer" {
		t.Errorf("DecodeStrictJSON(unknown field after jwks) = %v, want jwt.isuer", err)
	}
}

// FuzzDecodeStrictJSON: any input decodes into a Config as encoding/json
// would, or is refused with a *JSONError that repeats no 65 bytes of it.
func FuzzDecodeStrictJSON(f *testing.F) {
	f.Add([]byte(`{"domains":[{"hosts":["a.example"],"clientAuth":{"mode":"verify"}}],"apis":[{"name":"a","stages":[{"name":"s","variables":{"k":"v"}}]}]}`))
	f.Add([]byte(`{"truststores":[{"name":"t","crlStale":"30s","maxChainDepth":3}]}`))
	f.Add([]byte(`{"domians":[],"` + strings.Repeat("x", 80) + `":1}`))
	f.Add([]byte(`{"apis":[{"name":"a","name":"b"}]} x`))
	f.Add([]byte(`[[[[`))
	f.Add([]byte(`{"authorizers":[{"name":"a","jwt":{"issuer":"i","audiences":["x"],"jwks": {"keys" : [{"kty":"EC","x":"\u0041"}]}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got Config
		err := DecodeStrictJSON(data, &got)
		if err == nil {
			var want Config
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatalf("DecodeStrictJSON accepted what encoding/json refuses: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("DecodeStrictJSON = %+v, encoding/json = %+v", got, want)
			}
			return
		}
		var je *JSONError
		if !errors.As(err, &je) {
			t.Fatalf("error %T is not a *JSONError: %v", err, err)
		}
		texts := []string{je.Error()}
		for _, p := range je.Problems {
			texts = append(texts, p.Path, p.Message)
		}
		const n = 65
		for _, s := range texts {
			for i := 0; i+n <= len(data); i++ {
				if strings.Contains(s, string(data[i:i+n])) {
					t.Fatalf("error text repeats %d+ bytes of the input: %q", n, s)
				}
			}
		}
	})
}
