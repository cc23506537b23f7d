package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// CookieName is the session cookie. The __Host- prefix makes browsers
// accept it only when Secure, for Path=/ and without a Domain.
const CookieName = "__Host-certgate-session"

// Sign-in limits.
const (
	// SignInAttempts is how many sign-in attempts a client IP may make
	// per SignInWindow.
	SignInAttempts = 5
	SignInWindow   = time.Minute
	// maxTracked bounds the sessions and the rate-limited IPs kept.
	maxTracked = 10000
)

// session is one signed-in browser.
type session struct {
	tokenHash       [32]byte // the token hash it signed in with
	created, seenAt time.Time
}

// sessions are the server-side sessions, by cookie value. Safe for
// concurrent use.
type sessions struct {
	idle, max time.Duration
	now       func() time.Time
	mu        sync.Mutex
	m         map[string]*session
}

// newID returns a random session ID: 32 bytes from crypto/rand.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start records a new session signed in with tokenHash and returns its ID.
func (s *sessions) start(tokenHash [32]byte) string {
	id := newID()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxTracked {
		s.pruneLocked(now)
	}
	s.m[id] = &session{tokenHash: tokenHash, created: now, seenAt: now}
	return id
}

// valid reports whether session id is live: not idle longer than idle,
// not older than max, and signed in with the current token (tokenHash).
// A live session's idle timer restarts; a dead one is forgotten.
func (s *sessions) valid(id string, tokenHash [32]byte) bool {
	if id == "" {
		return false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.m[id]
	if !ok {
		return false
	}
	if !s.liveLocked(se, now) || subtle.ConstantTimeCompare(se.tokenHash[:], tokenHash[:]) != 1 {
		delete(s.m, id)
		return false
	}
	se.seenAt = now
	return true
}

func (s *sessions) liveLocked(se *session, now time.Time) bool {
	return now.Sub(se.seenAt) < s.idle && now.Sub(se.created) < s.max
}

// end forgets session id (sign-out).
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

func (s *sessions) pruneLocked(now time.Time) {
	for id, se := range s.m {
		if !s.liveLocked(se, now) {
			delete(s.m, id)
		}
	}
}

// limiter counts sign-in attempts per client IP in fixed windows. Safe
// for concurrent use.
type limiter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*window
}

type window struct {
	start time.Time
	n     int
}

// allow counts an attempt from ip and reports whether it may proceed;
// when not, wait is how long until it may.
func (l *limiter) allow(ip string) (ok bool, wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w, found := l.m[ip]
	if !found || now.Sub(w.start) >= SignInWindow {
		if len(l.m) >= maxTracked {
			for k, w := range l.m {
				if now.Sub(w.start) >= SignInWindow {
					delete(l.m, k)
				}
			}
		}
		l.m[ip] = &window{start: now, n: 1}
		return true, 0
	}
	if w.n >= SignInAttempts {
		return false, w.start.Add(SignInWindow).Sub(now)
	}
	w.n++
	return true, 0
}
