package sqlite

import "context"

// Watch implements store.Store. It sees the commits made through this
// Store value only (another process writing to the same file is not
// noticed): Revision is the truth.
func (s *Store) Watch(ctx context.Context) <-chan int64 {
	ch := make(chan int64, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || ctx.Err() != nil {
		close(ch)
		return ch
	}
	s.watchers[ch] = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.watchers[ch]; ok {
			delete(s.watchers, ch)
			close(ch)
		}
	})
	return ch
}

// notify offers rev to every watcher, replacing a revision not yet
// received, so a slow reader always finds the latest one.
func (s *Store) notify(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.watchers {
		select {
		case ch <- rev:
		default:
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- rev:
			default:
			}
		}
	}
}
