package sqlite

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/certgate/certgate/internal/store"
)

// FuzzListCursor: List never panics on any cursor, kind or parent, and
// refuses anything it cannot use with ErrInvalid, never another error.
func FuzzListCursor(f *testing.F) {
	s, err := Open(f.Context(), Options{Dir: filepath.Join(f.TempDir(), "data")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	_, err = s.Update(f.Context(), admin, now, func(tx store.Tx) error {
		if _, err := tx.Create(store.Object{Kind: "api", ID: "api-1", Body: json.RawMessage(`{}`)}); err != nil {
			return err
		}
		for i := range 5 {
			if _, err := tx.Create(store.Object{Kind: "route", ID: "rt-" + string(rune('a'+i)), Parent: "api-1", Body: json.RawMessage(`{}`)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	p, err := s.List(f.Context(), store.ListOptions{Kind: "route", Parent: "api-1", Limit: 2})
	if err != nil || p.Next == "" {
		f.Fatalf("List() = %v, %v", p, err)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add("route", "api-1", p.Next)
	f.Add("route", "", p.Next)
	f.Add("", "", "")
	f.Add("route", "", "garbage")
	f.Add("route", "", b64(`{"t":"l","k":"route","p":"","a":"rt-b"}`))
	f.Add("route", "", b64(`{"t":"l","k":"route","p":"","a":""}`))
	f.Add("route", "", b64(`{"t":"l","k":"route","p":"","a":"x' OR 1=1 --"}`))
	f.Add("route", "", b64(`{"t":"a","k":"route","i":"","r":1,"s":1}`))
	f.Add("route", "", b64(`{"t":"l","k":"route","p":"","a":"rt-b","x":1}`))
	f.Add("route", "", b64(`{"t":"l","k":"route","p":"","a":"rt-b"} {}`))
	f.Add("route", "", b64(`null`))
	f.Add("route", "", b64(`[]`))
	f.Add("Route", "", "")
	f.Add("route", "a b", "")
	f.Fuzz(func(t *testing.T, kind, parent, after string) {
		page, err := s.List(t.Context(), store.ListOptions{Kind: kind, Parent: parent, After: after, Limit: 2})
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("List(%q, %q, %q) = %v, want nil or ErrInvalid", kind, parent, after, err)
			}
			return
		}
		for _, o := range page.Objects {
			if kind != "" && o.Kind != kind || parent != "" && o.Parent != parent {
				t.Fatalf("List(%q, %q) returned %s %s under %q", kind, parent, o.Kind, o.ID, o.Parent)
			}
		}
	})
}
