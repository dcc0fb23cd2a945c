package cloudapi

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// Limiter is the client-side token bucket that the calls of one cloud API wait on, with the
// count of the attempts those calls made. One Limiter serves every Service of a Cloud, so
// concurrent reconciles share the cloud's budget and throttling seen by one is counted for
// all.
type Limiter struct {
	bucket    *rate.Limiter
	attempts  atomic.Int64
	throttled atomic.Int64
}

// NewLimiter returns a Limiter refilled at qps tokens per second, holding at most burst.
func NewLimiter(qps float64, burst int) *Limiter {
	return &Limiter{bucket: rate.NewLimiter(rate.Limit(qps), burst)}
}

// Wait blocks until the bucket has a token or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := l.bucket.Wait(ctx); err != nil {
		return fmt.Errorf("waiting for the client-side rate limit: %w", err)
	}
	return nil
}

// Attempted counts one attempt, a request sent to the cloud (each retry is one);
// throttled when the cloud answered it with its throttling.
func (l *Limiter) Attempted(throttled bool) {
	l.attempts.Add(1)
	if throttled {
		l.throttled.Add(1)
	}
}

// Stats returns the attempts counted since NewLimiter.
func (l *Limiter) Stats() Stats {
	return Stats{Attempts: l.attempts.Load(), Throttled: l.throttled.Load()}
}

// Stats are the attempts of one cloud API: every request sent, retries included, and those
// the cloud answered with its throttling. Tests and benchmarks compare them with what a fake
// cloud served.
type Stats struct {
	Attempts  int64
	Throttled int64
}
