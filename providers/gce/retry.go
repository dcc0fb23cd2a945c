package gce

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// Client-side limits of one Cloud, one token bucket for reads and one for writes.
//
// Compute meters its rate quotas per project and per quota group, each counted on its own:
// read requests (the *.get methods), list requests, operation reads and write requests
// (insert, delete, patch, set*, add*, remove*), each of the order of 1,500 per minute (25 per
// second) by default (https://cloud.google.com/compute/api-quota), answered with 403
// rateLimitExceeded or 429 when exceeded. One client bucket for both kinds was stricter than
// the cloud and made the writes, which bound a Service's convergence, wait behind the reads
// (an ensure reads about twice as often as it writes): 893 reads and 415 writes at 10 per
// second took 129 s for 80 Services where the writes alone needed 41.5 s (issue 16). So reads
// and writes take their tokens from separate buckets, and each bucket's AIMD follows only the
// throttling of its own kind: a project whose writes are throttled does not slow the reads.
//
// Writes: 10 QPS with a burst of 20, as the single bucket was: 40% of the write quota,
// leaving the rest to other tools of the project (gcloud, Terraform, other controllers).
// Reads: 20 QPS with a burst of 40, 80% of one of the read groups (gets and lists are
// separate quota groups at the cloud; one client bucket covers both and so sends at most 20
// per second into the two together). Operation polls, made within a write's attempt (wait),
// take no token: their own quota group is as large as the writes' and a write polls its
// operation a few times at most, paced by the operation's own backoff.
//
// Attempts are bounded (DefaultMaxAttempts, DefaultMaxBackoff) so a Service is requeued by
// the controller instead of holding a worker for minutes.
const (
	DefaultQPS         = 10
	DefaultBurst       = 20
	DefaultReadQPS     = 2 * DefaultQPS
	DefaultReadBurst   = 2 * DefaultBurst
	DefaultMaxAttempts = 6
	DefaultBaseBackoff = 200 * time.Millisecond
	DefaultMaxBackoff  = 8 * time.Second
)

// Limits configure client-side rate limiting and retries; zero fields take the defaults.
type Limits struct {
	// QPS and Burst are the writes' bucket.
	QPS   float64
	Burst int
	// ReadQPS and ReadBurst are the reads' bucket; zero takes twice the writes' QPS and
	// Burst (DefaultReadQPS and DefaultReadBurst with the default writes), so raising the
	// write limits alone, as tests against a fake do, raises both.
	ReadQPS     float64
	ReadBurst   int
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.QPS <= 0 {
		l.QPS = DefaultQPS
	}
	if l.Burst <= 0 {
		l.Burst = DefaultBurst
	}
	if l.ReadQPS <= 0 {
		l.ReadQPS = l.QPS * DefaultReadQPS / DefaultQPS
	}
	if l.ReadBurst <= 0 {
		l.ReadBurst = l.Burst * DefaultReadBurst / DefaultBurst
	}
	if l.MaxAttempts <= 0 {
		l.MaxAttempts = DefaultMaxAttempts
	}
	if l.BaseBackoff <= 0 {
		l.BaseBackoff = DefaultBaseBackoff
	}
	if l.MaxBackoff <= 0 {
		l.MaxBackoff = DefaultMaxBackoff
	}
	return l
}

// limiter is the token buckets (with their attempt counts) and retry policy every call of
// one Cloud shares: reads and writes each wait on their own bucket (see the constants).
type limiter struct {
	l             Limits
	reads, writes *cloudapi.Limiter
}

func newLimiter(l Limits) *limiter { return newLimiterAt(l, time.Now) }

// newLimiterAt is newLimiter with now the clock of the buckets' AIMD windows.
func newLimiterAt(l Limits, now func() time.Time) *limiter {
	l = l.withDefaults()
	return &limiter{
		l:      l,
		reads:  cloudapi.NewAIMDLimiter(cloudapi.DefaultAIMD(l.ReadQPS), l.ReadBurst, now),
		writes: cloudapi.NewAIMDLimiter(cloudapi.DefaultAIMD(l.QPS), l.Burst, now),
	}
}

// APIStats are the Compute attempts since the Cloud was built.
type APIStats = cloudapi.Stats

// APIStats returns the attempts and throttled attempts of every call of this Cloud, reads
// and writes together; Rate is the sum of the two buckets' rates. ReadStats and WriteStats
// are the two.
func (c *Cloud) APIStats() APIStats { return cloudapi.Sum(c.limits.reads, c.limits.writes) }

// ReadStats returns the attempts of the reads (gets and lists) and the reads' bucket rate.
func (c *Cloud) ReadStats() APIStats { return c.limits.reads.Stats() }

// WriteStats returns the attempts of the writes (with their operation waits) and the writes'
// bucket rate.
func (c *Cloud) WriteStats() APIStats { return c.limits.writes.Stats() }

// SetLimits replaces the client-side rate limits and retries (zero fields take the
// defaults). Call it before the Cloud serves: contract tests and benchmarks against a fake
// raise the limits so that the token buckets do not dominate their run time.
func (c *Cloud) SetLimits(l Limits) { c.limits = newLimiter(l) }

// read runs f, a get or a list (one page), under the reads' bucket with do's retries.
func (lm *limiter) read(ctx context.Context, op string, f func(context.Context) error) error {
	return lm.do(ctx, lm.reads, op, f)
}

// write runs f, a write with its operation wait, under the writes' bucket with do's retries.
func (lm *limiter) write(ctx context.Context, op string, f func(context.Context) error) error {
	return lm.do(ctx, lm.writes, op, f)
}

// do runs f, a read or a write with its operation wait, under bucket, retrying throttling
// and server errors (also those an operation reports) with jittered exponential backoff, at
// most MaxAttempts times. Each attempt takes a token of bucket, and its answer moves only
// bucket's rate.
func (lm *limiter) do(ctx context.Context, bucket *cloudapi.Limiter, op string, f func(context.Context) error) error {
	backoff := lm.l.BaseBackoff
	for attempt := 1; ; attempt++ {
		if err := bucket.Wait(ctx); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		err := f(ctx)
		throttled := err != nil && isThrottle(err)
		bucket.Attempted(throttled)
		if err == nil {
			return nil
		}
		if !throttled && !isServerError(err) || attempt >= lm.l.MaxAttempts {
			return fmt.Errorf("%s: %w", op, err)
		}
		d := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (after %v)", op, ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(backoff*2, lm.l.MaxBackoff)
	}
}

// Polls of an operation's status that fail with throttling or a server error are retried
// by wait itself, at most DefaultMaxAttempts times in a row, the first after at most
// pollBaseBackoff (full jitter, doubling up to DefaultMaxBackoff).
const pollBaseBackoff = 100 * time.Millisecond

// wait blocks until a Compute operation is done and turns an operation error into an error.
// It polls as compute.Operation.Wait does (a poll, then pauses from 1 s up to a minute while
// the operation runs), but retries a poll answered with throttling or a server error itself
// rather than returning it to limiter.do: the write was accepted, and do would send it again,
// which for a fingerprinted write (SetLabels) is a 412 that fails the whole reconcile (the
// Service then waits the controller's 5 s backoff). Under 30% throttling that was a quarter of
// the Services (issue 16). An operation that ended in an error (the poll's answer replaced the
// operation) is returned as before, to be retried by do when it is retryable.
func wait(ctx context.Context, op *compute.Operation, err error) error {
	if err != nil {
		return err
	}
	if op == nil {
		return nil
	}
	pause := gax.Backoff{Initial: time.Second, Max: time.Minute}
	failed := 0
	for {
		prev := op.Proto()
		err := op.Poll(ctx)
		switch {
		case err == nil:
			failed = 0
			if op.Done() {
				return opError(op.Proto())
			}
			err = gax.Sleep(ctx, pause.Pause())
		case op.Proto() != prev || !isThrottle(err) && !isServerError(err):
			return err
		case prev.GetStatus() == computepb.Operation_DONE:
			// The write's own answer said DONE; only the confirming poll failed.
			return opError(prev)
		case failed+1 >= DefaultMaxAttempts:
			return err
		default:
			bound := min(DefaultMaxBackoff, pollBaseBackoff<<failed)
			failed++
			err = gax.Sleep(ctx, rand.N(bound+1))
		}
		if err != nil {
			return err
		}
	}
}

// opError reports an operation that finished with errors but no HTTP error code (which
// Operation.Wait already turns into an error).
func opError(p *computepb.Operation) error {
	if p == nil || p.GetError() == nil || len(p.GetError().GetErrors()) == 0 {
		return nil
	}
	e := p.GetError().GetErrors()[0]
	code := int(p.GetHttpErrorStatusCode())
	if code == 0 {
		code = http.StatusInternalServerError
	}
	return &googleapi.Error{Code: code, Message: e.GetCode() + ": " + e.GetMessage()}
}

// httpCode is the HTTP status of a Compute error, 0 when err is not one.
func httpCode(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	var ae *apierror.APIError
	if errors.As(err, &ae) {
		return ae.HTTPCode()
	}
	return 0
}

func isNotFound(err error) bool { return httpCode(err) == http.StatusNotFound }
func isConflict(err error) bool { return httpCode(err) == http.StatusConflict }

// isMemberExists is GCE's 400 memberAlreadyExists from InstanceGroups.AddInstances.
func isMemberExists(err error) bool {
	return httpCode(err) == http.StatusBadRequest && (strings.Contains(err.Error(), "memberAlreadyExists") || strings.Contains(err.Error(), "already a member"))
}

// isInUse is GCE's 400 resourceInUseByAnotherResource: a shared object still referenced.
func isInUse(err error) bool {
	return httpCode(err) == http.StatusBadRequest && strings.Contains(err.Error(), "being used by")
}

// isThrottle is Compute's throttling answer (cloudapi.GCEThrottled): 429, or 403 with a
// rate-limit reason, which an error without structured reasons only says in its message.
func isThrottle(err error) bool {
	code := httpCode(err)
	if cloudapi.GCEThrottled(code, "") {
		return true
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		for _, e := range ge.Errors {
			if cloudapi.GCEThrottled(code, e.Reason) {
				return true
			}
		}
	}
	s := strings.ToLower(err.Error())
	return code == http.StatusForbidden && (strings.Contains(s, "ratelimitexceeded") || strings.Contains(s, "rate limit"))
}

func isServerError(err error) bool {
	c := httpCode(err)
	return c >= 500 && c <= 599
}
