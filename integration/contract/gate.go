package contract

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// WriteGate stands between providers and a fake. It counts the writes it lets through and,
// when armed, lets a set number through and refuses every later one, as if the controller's
// process had died after them: from the cloud's side a killed controller is one whose next
// write never arrives.
type WriteGate struct {
	// IsWrite reports whether a request changes the cloud's state.
	IsWrite func(*http.Request) bool
	// Refuse answers a refused write (a retryable error in the cloud's envelope).
	Refuse func(http.ResponseWriter)

	mu      sync.Mutex
	armed   bool
	limit   int
	served  int // writes let through since the last Arm or Writes
	tripped chan struct{}
	last    time.Time // the latest request of any kind
}

// Wrap puts the gate in front of next.
func (g *WriteGate) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.IsWrite(r) && g.refuse() {
			g.Refuse(w)
			return
		}
		g.mu.Lock()
		g.last = time.Now()
		g.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// Arm lets n more writes through and refuses the rest until Disarm; the returned channel is
// closed at the first refused write.
func (g *WriteGate) Arm(n int) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.limit, g.served, g.tripped = true, n, 0, make(chan struct{})
	return g.tripped
}

// Disarm lets every write through again.
func (g *WriteGate) Disarm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = false
}

// Writes returns the writes let through since the last Arm or Writes, and zeroes them.
func (g *WriteGate) Writes() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.served
	g.served = 0
	return n
}

// Settle waits until no request passed the gate for quiet and returns Writes.
func (g *WriteGate) Settle(t *testing.T) int {
	t.Helper()
	WaitFor(t, "no call through the write gate for "+quiet.String(), func() (bool, string) {
		g.mu.Lock()
		defer g.mu.Unlock()
		return time.Since(g.last) >= quiet, "calls still passing"
	})
	return g.Writes()
}

func (g *WriteGate) refuse() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last = time.Now()
	if g.armed && g.served >= g.limit {
		select {
		case <-g.tripped:
		default:
			close(g.tripped)
		}
		return true
	}
	g.served++
	return false
}
