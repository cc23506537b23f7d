package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/sqlite"
)

// The main path: open the store, commit a revision, read it back, and see
// the change a node would apply.
func Example() {
	tmp, err := os.MkdirTemp("", "certgate")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: filepath.Join(tmp, "data")})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	watch := s.Watch(ctx)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	actor := store.Actor{Name: "token:admin", Via: "api"}
	var ts store.Object
	rev, err := s.Update(ctx, actor, now, func(tx store.Tx) error {
		ts, err = tx.Create(store.Object{Kind: "truststore", ID: "ts-partners", Name: "partners", Body: json.RawMessage(`{}`)})
		if err != nil {
			return err
		}
		_, err = tx.Create(store.Object{Kind: "truststore_version", ID: "tsv-1", Parent: ts.ID, Name: "1", Body: json.RawMessage(`{"caBundle":"..."}`)})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("committed revision", rev, "notified", <-watch)

	// A stale If-Match is refused and writes nothing.
	_, err = s.Update(ctx, actor, now, func(tx store.Tx) error {
		ts.Body = json.RawMessage(`{"description":"old"}`)
		_, err := tx.Replace(ts, 0)
		return err
	})
	fmt.Println(err)

	p, _ := s.List(ctx, store.ListOptions{Kind: "truststore_version", Parent: ts.ID})
	fmt.Println(p.Objects[0].ID, p.Objects[0].Rev, string(p.Objects[0].Body))
	changes, _ := s.Changes(ctx, 0)
	fmt.Println(changes)
	// Output:
	// committed revision 1 notified 1
	// truststore ts-partners is at revision 1, not 0: precondition failed
	// tsv-1 1 {"caBundle":"..."}
	// [{1 truststore ts-partners create} {1 truststore_version tsv-1 create}]
}
