package engine

import "context"

// Watch implements store.Store. It sees the commits made through this
// DB and whatever the engine passes to Notify (PostgreSQL's listener
// sees other processes' commits; SQLite passes nothing more): Revision
// is the truth.
func (s *DB) Watch(ctx context.Context) <-chan int64 {
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

// Notify offers rev to every watcher if it is newer than any offered
// before (a revision learnt twice, from this process's commit and from
// the database, is delivered once, and never one older than the last),
// replacing a revision not yet received, so a slow reader always finds
// the latest one.
func (s *DB) Notify(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev <= s.notified {
		return
	}
	s.notified = rev
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
