package fakeaws

import (
	"time"

	"golang.org/x/time/rate"
)

// FailTimes makes the next n calls of one operation fail with the given error code and
// HTTP status (400 when 0); like FailNext, each failed call is counted and changes nothing.
func (s *Server) FailTimes(c Call, n int, code string, status int) {
	for i := 0; i < n; i++ {
		s.FailNext(c, code, status)
	}
}

// LoseNextResponse makes the next call of one operation run and change state, then answer
// the service's server error (EC2 InternalError 500, ELB and ELBv2 ServiceUnavailable 503):
// a write that reached the cloud but whose answer the client never saw. Calls stack: two
// LoseNextResponse lose the next two answers. One-shot failures (FailNext) come first.
func (s *Server) LoseNextResponse(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseNext[c]++
}

// applies reports whether the random faults cover the action.
func (f Faults) applies(action string) bool {
	if len(f.Operations) == 0 {
		return true
	}
	for _, op := range f.Operations {
		if op == action {
			return true
		}
	}
	return false
}

// drawFault decides under s.mu whether this call fails before it runs (fault) or loses its
// answer after it ran (lose). Draws come from the seeded source, in a fixed order, and a
// rate of 0 draws nothing, so a seed replays the same faults as before rates were added.
func (s *Server) drawFault(req *request) (fault error, lose bool, latency time.Duration) {
	f := s.faults
	key := Call{req.service, req.action}
	if q := s.failNext[key]; len(q) > 0 {
		s.failNext[key] = q[1:]
		return q[0], false, 0
	}
	if n := s.loseNext[key]; n > 0 {
		s.loseNext[key] = n - 1
		return nil, true, 0
	}
	if !f.applies(req.action) {
		return nil, false, 0
	}
	if f.WriteRateLimit > 0 && !key.IsRead() && !s.writeBucket(req.service).Allow() {
		return throttleError(req.service), false, f.Latency
	}
	if f.ThrottleRate > 0 && s.rng.Float64() < f.ThrottleRate {
		return throttleError(req.service), false, f.Latency
	}
	if f.ServerErrorRate > 0 && s.rng.Float64() < f.ServerErrorRate {
		return serverError(req.service), false, f.Latency
	}
	// Reads are left alone: losing a read's answer is a plain server error.
	if f.LoseResponseRate > 0 && !key.IsRead() && s.rng.Float64() < f.LoseResponseRate {
		return nil, true, f.Latency
	}
	return nil, false, f.Latency
}

// writeBucket is the request-rate bucket of a service's write calls; the caller holds s.mu.
func (s *Server) writeBucket(service string) *rate.Limiter {
	b := s.writeBuckets[service]
	if b == nil {
		burst := s.faults.WriteBurst
		if burst <= 0 {
			burst = max(1, int(s.faults.WriteRateLimit))
		}
		b = rate.NewLimiter(rate.Limit(s.faults.WriteRateLimit), burst)
		if s.writeBuckets == nil {
			s.writeBuckets = map[string]*rate.Limiter{}
		}
		s.writeBuckets[service] = b
	}
	return b
}
