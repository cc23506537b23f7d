package config

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse: Parse never panics; what it accepts validates, and survives a
// JSON round trip (the admin API and the store use the same tags) intact.
func FuzzParse(f *testing.F) {
	f.Add(readExample(f))
	f.Add([]byte(validBase))
	for _, tc := range invalidCases {
		f.Add([]byte(tc.input))
	}
	for _, tc := range validCases {
		f.Add([]byte(tc.input))
	}
	f.Add([]byte("{\"listeners\": [{\"address\": \"127.0.0.1:0\"}]}"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("listeners: [{<<: {address: ':1'}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q): empty error message", data)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse(%q) succeeded but Validate() = %v", data, err)
		}
		js, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		again, err := Parse(js)
		if err != nil {
			t.Fatalf("Parse(%q) succeeded but Parse of its JSON %s = %v", data, js, err)
		}
		if diff := cmp.Diff(cfg, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("JSON round trip of %q changed the configuration (-first +second):\n%s", data, diff)
		}
	})
}
