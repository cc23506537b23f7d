package node

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// socket is one address a node listens on, and the flag or
// configuration field that names it (for errors). An optional socket
// with no address is not bound.
type socket struct {
	what, address string
	optional      bool
}

// sockets are listening sockets bound before anything serves: a node
// that cannot bind one of its addresses fails before it has served on
// any. The gateway takes its own through listen (gateway.Options.Listen);
// the node takes the others with take.
type sockets struct {
	mu sync.Mutex
	// byAddr holds the sockets bound and not yet taken, by configured
	// address; several for one address with port 0.
	byAddr map[string][]net.Listener
}

// newSockets returns an empty set; bind fills it.
func newSockets() *sockets { return &sockets{byAddr: map[string][]net.Listener{}} }

// bindAll binds every address of list into a new set (see bind).
func bindAll(list []socket) (*sockets, error) {
	s := newSockets()
	if err := s.bind(list); err != nil {
		return nil, err
	}
	return s, nil
}

// bind binds every address, in order; on the first failure it closes
// every socket of the set and returns an error naming the flag or field.
func (s *sockets) bind(list []socket) error {
	for _, k := range list {
		if k.address == "" && k.optional {
			continue
		}
		ln, err := net.Listen("tcp", k.address)
		if err != nil {
			s.close()
			return fmt.Errorf("%s: listen on %s: %w", k.what, k.address, err)
		}
		s.mu.Lock()
		s.byAddr[k.address] = append(s.byAddr[k.address], ln)
		s.mu.Unlock()
	}
	return nil
}

// take hands over the socket bound for address (nil if there is none or
// it was taken).
func (s *sockets) take(address string) net.Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.byAddr[address]
	if len(q) == 0 {
		return nil
	}
	s.byAddr[address] = q[1:]
	return q[0]
}

// listen is gateway.Options.Listen: the socket bound for address, or a
// new one for an address that appeared later (a file reload).
func (s *sockets) listen(address string) (net.Listener, error) {
	if ln := s.take(address); ln != nil {
		return ln, nil
	}
	return net.Listen("tcp", address)
}

// close closes the sockets nobody took.
func (s *sockets) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for a, q := range s.byAddr {
		for _, ln := range q {
			errs = append(errs, ln.Close())
		}
		delete(s.byAddr, a)
	}
	return errors.Join(errs...)
}
