package nodeproxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

var errRefused = errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")

// monitorStep advances the clock by after, then runs do on the monitor (which may hold
// request ids from earlier steps), then checks the report.
type monitorStep struct {
	after time.Duration
	do    func(m *APIServerMonitor, ids map[string]uint64)
	want  apiReport
}

func send(name string) func(*APIServerMonitor, map[string]uint64) {
	return func(m *APIServerMonitor, ids map[string]uint64) { ids[name] = m.begin() }
}

func answer(name string) func(*APIServerMonitor, map[string]uint64) {
	return func(m *APIServerMonitor, ids map[string]uint64) { m.end(ids[name], nil, nil) }
}

func fail(name string, ctxErr, err error) func(*APIServerMonitor, map[string]uint64) {
	return func(m *APIServerMonitor, ids map[string]uint64) { m.end(ids[name], ctxErr, err) }
}

// sendAndFail is a request refused at once.
func sendAndFail(m *APIServerMonitor, ids map[string]uint64) {
	send("x")(m, ids)
	fail("x", nil, errRefused)(m, ids)
}

func sendAndAnswer(m *APIServerMonitor, ids map[string]uint64) {
	send("x")(m, ids)
	answer("x")(m, ids)
}

func TestAPIServerMonitorReports(t *testing.T) {
	t.Parallel()
	stall := errors.New("no answer for 5s")
	tests := []struct {
		name  string
		steps []monitorStep
	}{
		{
			name:  "answers: nothing to say",
			steps: []monitorStep{{do: sendAndAnswer}, {after: time.Minute, do: sendAndAnswer}},
		},
		{
			name: "refused at start: warns after the grace, every 5 s while it lasts, then once reached",
			steps: []monitorStep{
				{do: sendAndFail},
				{after: apiErrorGrace, want: apiReport{Warn: errRefused, For: apiErrorGrace}},
				{after: time.Second, do: sendAndFail},
				{after: apiWarnEvery - time.Second, want: apiReport{Warn: errRefused, For: apiErrorGrace + apiWarnEvery}},
				{after: time.Second, do: sendAndAnswer, want: apiReport{Recovered: true, For: apiErrorGrace + apiWarnEvery + time.Second}},
				{after: time.Minute},
			},
		},
		{
			name:  "a failure retried within the grace is no outage",
			steps: []monitorStep{{do: sendAndAnswer}, {do: sendAndFail}, {after: apiErrorGrace / 2, do: sendAndAnswer}, {after: time.Minute}},
		},
		{
			name: "a request that never answers: unreachable after the stall time",
			steps: []monitorStep{
				{do: send("a")},
				{after: apiStallAfter - time.Millisecond},
				{after: time.Millisecond, want: apiReport{Warn: stall, For: apiStallAfter}},
				{after: time.Second, do: answer("a"), want: apiReport{Recovered: true, For: apiStallAfter + time.Second}},
			},
		},
		{
			name: "a slow request while others are answered is no outage",
			steps: []monitorStep{
				{do: send("slow")},
				{after: time.Second, do: sendAndAnswer},
				{after: time.Minute},
			},
		},
		{
			name: "requests the caller canceled say nothing",
			steps: []monitorStep{
				{do: send("a")},
				{do: fail("a", context.Canceled, context.Canceled)},
				{after: time.Minute},
			},
		},
		{
			name: "a deadline passed without an answer is a failure",
			steps: []monitorStep{
				{do: send("a")},
				{after: time.Second, do: fail("a", context.DeadlineExceeded, context.DeadlineExceeded)},
				{after: apiErrorGrace, want: apiReport{Warn: context.DeadlineExceeded, For: apiErrorGrace}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := clocktesting.NewFakeClock(time.Unix(1_000_000, 0))
			m := NewAPIServerMonitor("https://10.0.0.1:6443", clk)
			ids := map[string]uint64{}
			for i, s := range tt.steps {
				clk.Step(s.after)
				if s.do != nil {
					s.do(m, ids)
				}
				got := m.check()
				if !sameReport(got, s.want) {
					t.Fatalf("step %d: report %+v, want %+v", i, got, s.want)
				}
			}
		})
	}
}

// sameReport compares reports; a stall's reason is compared by its text.
func sameReport(a, b apiReport) bool {
	if (a.Warn == nil) != (b.Warn == nil) || a.For != b.For || a.Recovered != b.Recovered {
		return false
	}
	return a.Warn == nil || errors.Is(a.Warn, b.Warn) || a.Warn.Error() == b.Warn.Error()
}

// TestAPIServerMonitorTransport: the wrapped transport reports what the real one saw.
func TestAPIServerMonitorTransport(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden) // any status is an answer
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()

	clk := clocktesting.NewFakeClock(time.Unix(1_000_000, 0))
	m := NewAPIServerMonitor(closedURL, clk)
	client := &http.Client{Transport: m.WrapTransport(http.DefaultTransport.(*http.Transport).Clone())}
	get := func(url string) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
		}
	}

	get(closedURL)
	clk.Step(apiErrorGrace)
	if r := m.check(); !errors.Is(r.Warn, syscall.ECONNREFUSED) {
		t.Fatalf("after a refused connection: report %+v, want connection refused", r)
	}
	get(srv.URL)
	if r := m.check(); !r.Recovered {
		t.Fatalf("after a 403: report %+v, want recovered", r)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, closedURL, nil)
	if _, err := client.Do(req); err == nil {
		t.Fatal("a canceled request succeeded")
	}
	clk.Step(time.Minute)
	if r := m.check(); r != (apiReport{}) {
		t.Fatalf("after a canceled request: report %+v, want nothing", r)
	}
}
