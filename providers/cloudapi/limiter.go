package cloudapi

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is the client-side token bucket that the attempts of one cloud API wait on, with
// the count of the attempts they made. One Limiter serves every Service of a Cloud, so
// concurrent reconciles share the cloud's budget and throttling seen by one is counted for
// all.
//
// The bucket's rate follows the cloud's answers (AIMD): it starts at the configured QPS, the
// ceiling, is multiplied by AIMD.Decrease after a window of mostly throttled answers and
// grows by AIMD.Increase after each window of successes, never below the floor. Only the
// rate moves: a throttled attempt does not make its caller (or any other) sleep beyond its
// next token, so retries are paced by the bucket instead of by a fixed delay.
type Limiter struct {
	bucket *rate.Limiter
	aimd   AIMD
	burst  int
	now    func() time.Time

	mu sync.Mutex
	// rate is the bucket's current refill rate.
	rate float64
	// windowStart, ok and throttled are the current window's start and answers.
	windowStart   time.Time
	ok, throttled int64
	stats         Stats
}

// AIMD is how a Limiter's rate follows the cloud's throttling: additive increase,
// multiplicative decrease, between a floor and a ceiling.
//
// The decision is taken per window of answers, not per answer. A throttling answer alone
// cannot tell a client sending too fast from the cloud's background throttling (other
// clients of the account, a rate-independent share of refusals): halving at each one is
// what the AWS SDK's adaptive mode does, and with 30% of the answers throttled it drives the
// rate to its floor of a call every 2 s whatever the client does (issue 16). A window whose
// throttled share exceeds Tolerance is evidence of the former; the rate then halves, and
// a cloud metering a request rate answers the lower rate with fewer throttles. Tolerance 0.5
// is the Google SRE book's client-side throttling with K = 2 (chapter "Handling
// Overload"): a client backs off once the backend refuses more than half of its requests.
type AIMD struct {
	// Ceiling is the highest rate (attempts per second), the configured QPS; the rate
	// starts there.
	Ceiling float64
	// Floor is the lowest rate.
	Floor float64
	// Increase is added to the rate after each success window.
	Increase float64
	// Decrease multiplies the rate after a throttled window (0.5: halve).
	Decrease float64
	// Window is the shortest span of one decision; a window also waits for MinAnswers.
	Window time.Duration
	// MinAnswers is the fewest answers a window decides on, so that a few throttles among a
	// few answers (a quiet period) do not count as a majority.
	MinAnswers int64
	// Tolerance is the throttled share of a window's answers above which the window is
	// throttled; at or below it, with at least one success, it is a success window.
	Tolerance float64
}

// Defaults of DefaultAIMD.
const (
	// DefaultFloorShare is the floor as a share of the ceiling: a tenth of the configured
	// QPS keeps every worker progressing (a call in well under a second per worker at the
	// providers' default QPS of 10-20) while sending ten times less than configured.
	DefaultFloorShare = 0.1
	// DefaultIncreaseShare is the increase per success window as a share of the ceiling:
	// from the floor back to the ceiling in 9 windows (9 s) of successes.
	DefaultIncreaseShare = 0.1
	DefaultDecrease      = 0.5
	DefaultWindow        = time.Second
	DefaultMinAnswers    = 10
	DefaultTolerance     = 0.5
)

// DefaultAIMD is the AIMD of a Limiter whose configured rate is qps.
func DefaultAIMD(qps float64) AIMD {
	return AIMD{
		Ceiling:    qps,
		Floor:      qps * DefaultFloorShare,
		Increase:   qps * DefaultIncreaseShare,
		Decrease:   DefaultDecrease,
		Window:     DefaultWindow,
		MinAnswers: DefaultMinAnswers,
		Tolerance:  DefaultTolerance,
	}
}

// NewLimiter returns a Limiter refilled at qps tokens per second at most (DefaultAIMD),
// holding at most burst.
func NewLimiter(qps float64, burst int) *Limiter {
	return NewAIMDLimiter(DefaultAIMD(qps), burst, time.Now)
}

// NewAIMDLimiter returns a Limiter whose rate follows a, starting at a.Ceiling, with a
// bucket of burst tokens at the ceiling (shrunk in proportion to the rate below it); now is
// the clock of its windows (time.Now but in tests).
func NewAIMDLimiter(a AIMD, burst int, now func() time.Time) *Limiter {
	a.Floor = min(max(a.Floor, math.SmallestNonzeroFloat64), a.Ceiling)
	l := &Limiter{aimd: a, burst: max(burst, 1), now: now, rate: a.Ceiling, windowStart: now()}
	l.bucket = rate.NewLimiter(rate.Limit(a.Ceiling), l.burst)
	return l
}

// Wait blocks until the bucket has a token or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := l.bucket.Wait(ctx); err != nil {
		return fmt.Errorf("waiting for the client-side rate limit: %w", err)
	}
	return nil
}

// Attempted counts one attempt, a request sent to the cloud (each retry is one);
// throttled when the cloud answered it with its throttling. Its answer moves the rate.
func (l *Limiter) Attempted(throttled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Attempts++
	if throttled {
		l.stats.Throttled++
		l.throttled++
	} else {
		l.ok++
	}
	now := l.now()
	n := l.ok + l.throttled
	if now.Sub(l.windowStart) < l.aimd.Window || n < l.aimd.MinAnswers {
		return
	}
	switch {
	case float64(l.throttled) > l.aimd.Tolerance*float64(n):
		l.setRate(max(l.rate*l.aimd.Decrease, l.aimd.Floor))
		l.stats.Decreases++
	case l.ok > 0 && l.rate < l.aimd.Ceiling:
		l.setRate(min(l.rate+l.aimd.Increase, l.aimd.Ceiling))
		l.stats.Increases++
	}
	l.windowStart, l.ok, l.throttled = now, 0, 0
}

// setRate moves the bucket's refill rate and, in proportion, its burst: a halved rate
// with a full burst would still let the whole burst through at once. Under l.mu.
func (l *Limiter) setRate(r float64) {
	l.rate = r
	now := l.now()
	l.bucket.SetLimitAt(now, rate.Limit(r))
	l.bucket.SetBurstAt(now, max(1, int(math.Round(float64(l.burst)*r/l.aimd.Ceiling))))
}

// Stats returns the attempts counted since NewLimiter and the current rate.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Rate = l.rate
	return s
}

// Sum returns the attempts of limiters together, for a provider whose kinds of request wait on
// buckets of their own; Rate is the sum of their rates.
func Sum(limiters ...*Limiter) Stats {
	var t Stats
	for _, l := range limiters {
		s := l.Stats()
		t.Attempts += s.Attempts
		t.Throttled += s.Throttled
		t.Decreases += s.Decreases
		t.Increases += s.Increases
		t.Rate += s.Rate
	}
	return t
}

// Stats are the attempts of one cloud API: every request sent, retries included, and those
// the cloud answered with its throttling. Tests and benchmarks compare them with what a fake
// cloud served.
type Stats struct {
	Attempts  int64
	Throttled int64
	// Decreases and Increases count the windows that moved the rate down and up.
	Decreases, Increases int64
	// Rate is the Limiter's rate (attempts per second) when Stats was called.
	Rate float64
}
