package nodeproxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Timing of the APIServerMonitor.
const (
	// apiCheckEvery is how often the monitor looks at what the requests saw; it sends nothing.
	apiCheckEvery = time.Second
	// apiWarnEvery repeats the warning while the API server stays unreachable.
	apiWarnEvery = 5 * time.Second
	// apiErrorGrace: a failed request answered by a retry within this is not an outage (an
	// API server restarting behind its load balancer, a GOAWAY).
	apiErrorGrace = time.Second
	// apiStallAfter: a request without an answer for this long, while nothing else was
	// answered, means unreachable too: a dropped SYN takes the dialer 30 s to report.
	apiStallAfter = 5 * time.Second
)

// APIServerMonitor says when the API server cannot be reached, and when it is reached again.
// client-go's informers retry a refused or dropped connection quietly (their messages are at
// --v=2 and above) with back-offs of up to 30 s, so without it an agent cut off from the API
// server logs nothing while its view of the Services goes stale.
//
// It watches the requests of the clients whose transport it wraps (WrapTransport) and sends
// none of its own, so it costs the API server nothing: a response of any status is an answer;
// a transport error (refused, reset, TLS, a deadline) or a request without an answer for
// apiStallAfter while nothing else was answered means unreachable.
type APIServerMonitor struct {
	host  string
	clock clock.WithTicker

	mu sync.Mutex
	// lastAnswer is when the last response arrived.
	lastAnswer time.Time
	// failingSince is the first transport error after lastAnswer; lastErr the latest one.
	failingSince time.Time
	lastErr      error
	// pending are the requests sent and not answered yet, by id, with when they were sent.
	pending map[uint64]time.Time
	nextID  uint64

	// The reporting state, owned by check.
	down      bool
	downSince time.Time
	lastWarn  time.Time
}

// NewAPIServerMonitor monitors the API server at host (for the messages); clk defaults to the
// real clock.
func NewAPIServerMonitor(host string, clk clock.WithTicker) *APIServerMonitor {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &APIServerMonitor{host: host, clock: clk, pending: map[uint64]time.Time{}}
}

// WrapTransport is a rest.Config WrapTransport: it lets the monitor see every request.
func (m *APIServerMonitor) WrapTransport(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		id := m.begin()
		resp, err := rt.RoundTrip(req)
		m.end(id, req.Context().Err(), err)
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// begin notes a request sent.
func (m *APIServerMonitor) begin() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	m.pending[m.nextID] = m.clock.Now()
	return m.nextID
}

// end notes how request id ended: err is the transport's error, ctxErr its context's.
func (m *APIServerMonitor) end(id uint64, ctxErr, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, id)
	now := m.clock.Now()
	switch {
	case err == nil:
		m.lastAnswer, m.failingSince, m.lastErr = now, time.Time{}, nil
	case errors.Is(ctxErr, context.Canceled):
		// The caller gave up (the agent stopping, a watch closed): says nothing about the server.
	default:
		if m.failingSince.IsZero() {
			m.failingSince = now
		}
		m.lastErr = err
	}
}

// apiReport is what the monitor has to say at one check.
type apiReport struct {
	// Warn is why the API server is unreachable, at most every apiWarnEvery while it is.
	Warn error
	// For is how long it has been unreachable (with Warn), or was (with Recovered).
	For time.Duration
	// Recovered is set once when it answers again.
	Recovered bool
}

// check decides what to report now.
func (m *APIServerMonitor) check() apiReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	since, why := m.unreachable(now)
	switch {
	case why != nil && !m.down:
		m.down, m.downSince, m.lastWarn = true, since, now
		return apiReport{Warn: why, For: now.Sub(since)}
	case why != nil && now.Sub(m.lastWarn) >= apiWarnEvery:
		m.lastWarn = now
		return apiReport{Warn: why, For: now.Sub(m.downSince)}
	case why == nil && m.down:
		m.down = false
		return apiReport{Recovered: true, For: now.Sub(m.downSince)}
	}
	return apiReport{}
}

// unreachable is, when the API server counts as unreachable, since when and why.
func (m *APIServerMonitor) unreachable(now time.Time) (time.Time, error) {
	if !m.failingSince.IsZero() && now.Sub(m.failingSince) >= apiErrorGrace {
		return m.failingSince, m.lastErr
	}
	var oldest time.Time
	for _, sent := range m.pending {
		if sent.After(m.lastAnswer) && (oldest.IsZero() || sent.Before(oldest)) {
			oldest = sent
		}
	}
	if !oldest.IsZero() && now.Sub(oldest) >= apiStallAfter {
		return oldest, fmt.Errorf("no answer for %s", now.Sub(oldest).Round(time.Second))
	}
	return time.Time{}, nil
}

// Run reports until ctx is done. The warning goes through klog's Warning: logr has no warning
// level, and the W severity of the text format is what operators grep for (in JSON it is a
// plain message at verbosity 0).
func (m *APIServerMonitor) Run(ctx context.Context) {
	logger := klog.FromContext(ctx)
	t := m.clock.NewTicker(apiCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		r := m.check()
		switch {
		case r.Warn != nil:
			klog.Warningf("API server unreachable: %v (address %s, for %s)", r.Warn, m.host, r.For.Round(time.Second))
		case r.Recovered:
			logger.Info("API server reachable again", "address", m.host, "after", r.For.Round(time.Second))
		}
	}
}
