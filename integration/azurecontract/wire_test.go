package azurecontract_test

import (
	"net/http"
	"strings"
	"sync"
)

// wire is the suite's ARM endpoint behind the write gate: it passes every call to the fake,
// except that it can run another writer's change just before a write (race), and it counts
// the fake's answers by HTTP status.
type wire struct {
	next http.Handler

	mu sync.Mutex
	// racer runs once, before the first write whose path ends with racePath.
	racePath string
	racer    func()
	// statuses counts answers by HTTP status.
	statuses map[int]int
}

// isWrite reports whether an ARM call changes state: everything but GET (reads, lists and
// async operation polls).
func isWrite(r *http.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// race runs fn (another writer) once, just before the next write to a resource whose path
// ends with pathSuffix (case-insensitive) reaches the fake.
func (w *wire) race(pathSuffix string, fn func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.racePath, w.racer = strings.ToLower(pathSuffix), fn
}

// answers is the number of answers with this HTTP status so far.
func (w *wire) answers(status int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.statuses[status]
}

func (w *wire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if isWrite(r) {
		if fn := w.takeRacer(r.URL.Path); fn != nil {
			fn()
		}
	}
	sw := &statusWriter{ResponseWriter: rw}
	w.next.ServeHTTP(sw, r)
	w.mu.Lock()
	if w.statuses == nil {
		w.statuses = map[int]int{}
	}
	w.statuses[sw.status]++
	w.mu.Unlock()
}

// takeRacer returns the racer if path is its target, clearing it so that the racer's own
// write (and every later one) passes.
func (w *wire) takeRacer(path string) func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.racer == nil || !strings.HasSuffix(strings.ToLower(path), w.racePath) {
		return nil
	}
	fn := w.racer
	w.racer, w.racePath = nil, ""
	return fn
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
