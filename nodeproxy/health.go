package nodeproxy

import (
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

// HealthState is the agent's own health, kube-proxy's way: a change seen but not yet applied
// is pending, and the agent is unhealthy once a pending change is older than the timeout (2x
// the sync period; the periodic resync queues a change too, so a sync loop that keeps failing
// or hangs turns unhealthy). It is healthy while starting up. Probes read it on every request,
// so it is lock-free.
type HealthState struct {
	clock   clock.PassiveClock
	timeout time.Duration
	// pending and lastUpdated are Unix nanoseconds; pending is 0 when nothing is pending.
	pending     atomic.Int64
	lastUpdated atomic.Int64
	// Node eligibility, set by the agent from the Node object.
	eligible       atomic.Bool
	eligibleReason atomic.Pointer[string]
}

// NewHealthState returns a healthy state with an ineligible node (no Node object seen yet).
func NewHealthState(clk clock.PassiveClock, timeout time.Duration) *HealthState {
	if clk == nil {
		clk = clock.RealClock{}
	}
	h := &HealthState{clock: clk, timeout: timeout}
	h.SetNodeEligibility(NodeEligibility(nil))
	return h
}

// QueuedUpdate records that a change waits to be applied; the oldest pending one counts.
func (h *HealthState) QueuedUpdate() {
	h.pending.CompareAndSwap(0, h.clock.Now().UnixNano())
}

// Updated records a successful sync that started at started: changes queued before it are
// applied, later ones stay pending.
func (h *HealthState) Updated(started time.Time) {
	s := started.UnixNano()
	for {
		p := h.pending.Load()
		if p > s || h.pending.CompareAndSwap(p, 0) {
			break
		}
	}
	h.lastUpdated.Store(h.clock.Now().UnixNano())
}

// Health reports whether the agent is healthy, when it last synced (zero before the first
// sync) and the current time it judged by.
func (h *HealthState) Health() (healthy bool, lastUpdated, now time.Time) {
	now = h.clock.Now()
	p := h.pending.Load()
	healthy = p == 0 || now.Sub(time.Unix(0, p)) < h.timeout
	if l := h.lastUpdated.Load(); l != 0 {
		lastUpdated = time.Unix(0, l)
	}
	return healthy, lastUpdated, now
}

// Healthy is Health without the times: serviceProxyHealthy of the per-Service probes.
func (h *HealthState) Healthy() bool {
	ok, _, _ := h.Health()
	return ok
}

// SetNodeEligibility stores the outcome of NodeEligibility.
func (h *HealthState) SetNodeEligibility(eligible bool, reason string) {
	h.eligible.Store(eligible)
	h.eligibleReason.Store(&reason)
}

// NodeEligibility returns what SetNodeEligibility stored.
func (h *HealthState) NodeEligibility() (bool, string) {
	return h.eligible.Load(), *h.eligibleReason.Load()
}
