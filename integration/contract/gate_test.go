package contract

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The gate counts the writes it lets through, refuses every write after the armed number
// until disarmed, and never refuses a read.
func TestWriteGate(t *testing.T) {
	t.Parallel()
	g := &WriteGate{
		IsWrite: func(r *http.Request) bool { return r.Method != http.MethodGet },
		Refuse:  func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) },
	}
	h := g.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	call := func(method string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/", nil))
		return rec.Code
	}
	call(http.MethodPut)
	call(http.MethodGet)
	if n := g.Writes(); n != 1 {
		t.Fatalf("writes = %d, want 1", n)
	}
	tripped := g.Arm(2)
	for i, want := range []int{200, 200, 503, 503} {
		if got := call(http.MethodPost); got != want {
			t.Fatalf("write %d: status %d, want %d", i+1, got, want)
		}
	}
	if got := call(http.MethodGet); got != 200 {
		t.Fatalf("a read while tripped: status %d", got)
	}
	select {
	case <-tripped:
	default:
		t.Fatal("tripped is open after a refused write")
	}
	g.Disarm()
	if got := call(http.MethodDelete); got != 200 {
		t.Fatalf("a write after Disarm: status %d", got)
	}
	if n := g.Settle(t); n != 3 {
		t.Fatalf("writes since Arm = %d, want the 2 let through and the one after Disarm", n)
	}
}
