package trust

import (
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

func keyOf(parts ...string) [32]byte {
	k := NewKey()
	for _, p := range parts {
		k.String(p)
	}
	return k.Sum()
}

func TestKeyDistinguishesContent(t *testing.T) {
	if keyOf("ab", "c") == keyOf("a", "bc") {
		t.Error(`Key("ab","c") == Key("a","bc"): items are not length-prefixed`)
	}
	if keyOf("x") != keyOf("x") {
		t.Error("Key is not deterministic")
	}
	big := strings.Repeat("0123456789", 10_000) // longer than the copy buffer
	if keyOf(big) == keyOf(big[:len(big)-1]+"x") {
		t.Error("Key ignores the end of a long string")
	}
	k1, k2 := NewKey(), NewKey()
	k1.Bytes([]byte("s"))
	k2.String("s")
	if k1.Sum() != k2.Sum() {
		t.Error("Bytes and String of the same content differ")
	}
}

func TestCacheBuildsOnce(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Cache Root")
	cfg := Config{Roots: root.Chain(), CRLs: []*x509.RevocationList{mustCRL(t, root.CRL(t, now.Add(time.Hour)))}}
	c := NewCache(0)
	var builds atomic.Int32
	build := func() (*Store, []string, error) {
		builds.Add(1)
		return New(cfg, now)
	}
	key := keyOf("one")

	// Concurrent callers share one build.
	var wg sync.WaitGroup
	stores := make([]*Store, 8)
	for i := range stores {
		wg.Go(func() {
			s, _, _, err := c.Store(key, now, build)
			if err != nil {
				t.Error(err)
			}
			stores[i] = s
		})
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("%d builds for one key, want 1", n)
	}
	for i, s := range stores {
		if s != stores[0] {
			t.Errorf("caller %d got another Store", i)
		}
	}
	if _, _, hit, _ := c.Store(key, now.Add(time.Minute), build); !hit {
		t.Error("Store a minute later: not a hit")
	}

	// Past the CRL's nextUpdate its warning changes: built again.
	later := now.Add(2 * time.Hour)
	_, warns, hit, err := c.Store(key, later, func() (*Store, []string, error) { builds.Add(1); return New(cfg, later) })
	if err != nil || hit {
		t.Fatalf("Store past nextUpdate: hit %v, err %v; want a build", hit, err)
	}
	if !strings.Contains(strings.Join(warns, "\n"), "past its nextUpdate") {
		t.Errorf("warnings past nextUpdate = %q", warns)
	}
	// A clock that went back builds again too.
	if _, _, hit, _ := c.Store(key, now, build); hit {
		t.Error("Store before the entry's build time: a hit")
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Cache Root")
	build := func() (*Store, []string, error) { return New(Config{Roots: root.Chain()}, now) }
	c := NewCache(2)
	for _, k := range []string{"a", "b", "a", "c"} { // b is the least recently used
		if _, _, _, err := c.Store(keyOf(k), now, build); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	for k, want := range map[string]bool{"a": true, "c": true, "b": false} {
		// Probe without disturbing: a build that fails is not kept.
		_, _, hit, _ := c.Store(keyOf(k), now, func() (*Store, []string, error) { return nil, nil, errors.New("probe") })
		if hit != want {
			t.Errorf("%s kept = %v, want %v", k, hit, want)
		}
	}
}

func TestCacheKeepsNoFailure(t *testing.T) {
	now := time.Now()
	c := NewCache(0)
	errBad := errors.New("bad")
	if _, _, _, err := c.Store(keyOf("x"), now, func() (*Store, []string, error) { return nil, nil, errBad }); !errors.Is(err, errBad) {
		t.Fatalf("err = %v, want %v", err, errBad)
	}
	root := pkitest.NewRoot(t, "Cache Root")
	s, _, hit, err := c.Store(keyOf("x"), now, func() (*Store, []string, error) { return New(Config{Roots: root.Chain()}, now) })
	if err != nil || hit || s == nil {
		t.Errorf("after a failed build: store %v, hit %v, err %v; want a fresh build", s, hit, err)
	}
	if n := c.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
}

func TestCacheNilAndDisabledBuildEveryTime(t *testing.T) {
	now := time.Now()
	root := pkitest.NewRoot(t, "Cache Root")
	for name, c := range map[string]*Cache{"nil": nil, "negative size": NewCache(-1)} {
		t.Run(name, func(t *testing.T) {
			n := 0
			for range 2 {
				if _, _, hit, err := c.Store(keyOf("k"), now, func() (*Store, []string, error) { n++; return New(Config{Roots: root.Chain()}, now) }); err != nil || hit {
					t.Fatalf("hit %v, err %v", hit, err)
				}
			}
			if n != 2 {
				t.Errorf("%d builds, want 2", n)
			}
		})
	}
}
