package cli

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseWithPositional(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    int
		wantPos []string
		wantOut string
		wantErr bool
	}{
		{"leading", []string{"orders", "/x", "-o", "json"}, 2, []string{"orders", "/x"}, "json", false},
		{"interleaved", []string{"orders", "--stage", "prod", "/x", "-o", "json"}, 2, []string{"orders", "/x"}, "json", false},
		{"flags first", []string{"-o", "json", "orders", "/x"}, 2, []string{"orders", "/x"}, "json", false},
		{"after --", []string{"orders", "-o", "yaml", "--", "-weird"}, 2, []string{"orders", "-weird"}, "yaml", false},
		{"too few", []string{"orders", "-o", "json"}, 2, nil, "", true},
		{"too many", []string{"a", "b", "c"}, 2, nil, "", true},
		{"none wanted", []string{"-o", "json"}, 0, nil, "json", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			out := fs.String("o", "table", "")
			fs.String("stage", "", "")
			pos, err := parseWithPositional(fs, tc.args, tc.want)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseWithPositional(%q) error %v, want error %v", tc.args, err, tc.wantErr)
			}
			if err == nil && (!slices.Equal(pos, tc.wantPos) || *out != tc.wantOut) {
				t.Errorf("parseWithPositional(%q) = %q, -o %q; want %q, -o %q", tc.args, pos, *out, tc.wantPos, tc.wantOut)
			}
		})
	}
}
