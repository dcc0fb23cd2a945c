package fakecore

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// newTestEndpoint serves "ok" for every call of op, admitted with kind.
func newTestEndpoint(cfg Config[string], op string, kind Kind) (*Endpoint[string], *[]Outcome) {
	var got []Outcome
	var e *Endpoint[string]
	e = NewEndpoint(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := e.Admit(r, op, kind)
		got = append(got, o)
		_, _ = io.WriteString(w, "ok")
	}))
	return e, &got
}

func admit(e *Endpoint[string], op string, kind Kind) Outcome {
	return e.Admit(httptest.NewRequest(http.MethodGet, "/", nil), op, kind)
}

func TestCountersByKind(t *testing.T) {
	t.Parallel()
	var seen []string
	e := NewEndpoint(Config[string]{OnCall: func(_ *http.Request, op string) { seen = append(seen, op) }}, nil)
	admit(e, "A.Get", Read)
	admit(e, "A.Get", Read)
	admit(e, "A.Insert", Write)
	admit(e, "Operations.Get", Poll)
	tally := e.Tally()
	if tally.Reads != 2 || tally.Writes != 1 || tally.Polls != 1 || e.Reads() != 2 || e.Writes() != 1 || e.CallCount("A.Get") != 2 {
		t.Fatalf("tally %+v", tally)
	}
	if got, want := tally.String(), "A.Get 2\nA.Insert 1\nOperations.Get 1\n"; got != want {
		t.Fatalf("summary %q, want %q", got, want)
	}
	e.ResetCalls()
	if len(e.Calls()) != 0 || e.Writes() != 0 {
		t.Fatalf("after reset: %v", e.Calls())
	}
	if len(seen) != 4 {
		t.Fatalf("OnCall saw %v", seen)
	}
}

// One-shot faults come first, in order, then the random ones; Operations limits the random
// ones only.
func TestFailNextBeforeRandomFaults(t *testing.T) {
	t.Parallel()
	e := NewEndpoint[string](Config[string]{Name: "fake"}, nil)
	quota := &APIError{Status: 403, Code: "QUOTA_EXCEEDED", Message: "Quota exceeded"}
	e.FailNext("A.Insert", 2, quota)
	e.FailNext("A.Insert", 1, ErrLost)
	e.FailNext("A.Insert", 1, &APIError{Code: "INTERNAL", Async: true})
	e.SetFaults(Faults{ThrottleRate: 1, RetryAfter: time.Second, Operations: []string{"A.Insert"}})
	for i, want := range []Outcome{
		{Err: quota, RetryAfter: time.Second}, {Err: quota, RetryAfter: time.Second}, {Lose: true},
	} {
		if got := admit(e, "A.Insert", Write); got != want {
			t.Fatalf("call %d: %+v, want %+v", i, got, want)
		}
	}
	if got := admit(e, "A.Insert", Write); !got.Async || got.Err.(*APIError).Code != "INTERNAL" || got.Err.(*APIError).Message != "injected by fake" {
		t.Fatalf("async: %+v", got)
	}
	if got := admit(e, "A.Insert", Write); !errors.Is(got.Err, ErrThrottled) || got.RetryAfter != time.Second {
		t.Fatalf("random: %+v", got)
	}
	if got := admit(e, "A.Get", Read); got != (Outcome{}) {
		t.Fatalf("an operation outside Operations: %+v", got)
	}
	if tally := e.Tally(); tally.Throttled != 1 || tally.Failed != 3 || tally.Lost != 1 {
		t.Fatalf("injected: %+v", tally)
	}
}

// Writes, never reads, lose answers, fail operations and are metered per bucket.
func TestWriteOnlyFaults(t *testing.T) {
	t.Parallel()
	e := NewEndpoint(Config[string]{Bucket: func(op string) string { return op[:1] }}, nil)
	e.SetFaults(Faults{LoseResponseRate: 1})
	if got := admit(e, "A.Get", Read); got.Lose {
		t.Fatal("a read lost its answer")
	}
	if got := admit(e, "A.Insert", Write); !got.Lose {
		t.Fatal("a write kept its answer")
	}
	e.SetFaults(Faults{OperationErrorRate: 1})
	if got := admit(e, "A.Insert", Write); !got.Async || !errors.Is(got.Err, ErrServer) {
		t.Fatalf("operation error: %+v", got)
	}
	e.SetFaults(Faults{WriteRateLimit: 0.001, WriteBurst: 1})
	for _, op := range []string{"A.Insert", "B.Insert"} {
		if got := admit(e, op, Write); got.Err != nil {
			t.Fatalf("%s within its bucket's burst: %+v", op, got)
		}
	}
	if got := admit(e, "A.Delete", Write); !errors.Is(got.Err, ErrThrottled) {
		t.Fatalf("a write above the rate: %+v", got)
	}
	if got := admit(e, "A.Get", Read); got.Err != nil {
		t.Fatalf("a read was metered: %+v", got)
	}
	// Every write above is counted in its bucket, the one refused as rate-limited; reads are not.
	want := map[string]BucketTally{"A": {Writes: 4, RateLimited: 1}, "B": {Writes: 1}}
	if got := e.Tally().Buckets; !maps.Equal(got, want) {
		t.Errorf("Tally().Buckets = %v, want %v", got, want)
	}
}

// Latency applies to every call; a client that goes away is not answered.
func TestLatency(t *testing.T) {
	t.Parallel()
	e := NewEndpoint[string](Config[string]{}, nil)
	e.SetFaults(Faults{Latency: 30 * time.Millisecond, Operations: []string{"other"}})
	began := time.Now()
	if got := admit(e, "A.Get", Read); got.Gone || time.Since(began) < 30*time.Millisecond {
		t.Fatalf("no latency: %+v after %s", got, time.Since(began))
	}
	e.SetFaults(Faults{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := e.Admit(httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx), "A.Get", Read); !got.Gone {
		t.Fatalf("a canceled call: %+v", got)
	}
}

func TestStartClose(t *testing.T) {
	t.Parallel()
	e, got := newTestEndpoint(Config[string]{Name: "fake"}, "A.Get", Read)
	url, err := e.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 || e.CallCount("A.Get") != 1 {
		t.Fatalf("served %v", *got)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("still serving after Close")
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := e.Start("256.0.0.1:0"); err == nil {
		t.Fatal("listened on a bad address")
	}
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	api := func(ae *APIError) string { return ae.Code }
	for err, want := range map[error]string{ErrThrottled: "throttled", ErrServer: "server", &APIError{Code: "Conflict"}: "Conflict"} {
		if got := Translate(err, "throttled", "server", api); got != want {
			t.Errorf("Translate(%v) = %s, want %s", err, got, want)
		}
	}
}
