package aws

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// Client-side limits of one Cloud, per API (ec2, elb, elbv2).
//
// The numbers: EC2 refills its request-rate bucket for Describe* (non-mutating) calls at 20
// per second with a bucket of 100, and mutating calls more slowly; ELB's documented
// account-wide limits are of the same order. 20 QPS with a burst of 40 per API keeps one
// controller well under those while leaving room for other tools in the account; a burst of
// 40 absorbs the node-churn fan-out of a few dozen Services. 20 QPS is the ceiling: the
// bucket's rate follows throttling between a tenth of it and it (cloudapi.AIMD). Retries are
// bounded at 8 attempts, each waiting for a token of the bucket after a jittered delay of at
// most 100 ms doubling up to 10 s, so a call gives up within about a minute and the Service is
// requeued by the controller instead of holding a worker longer.
const (
	DefaultQPS         = 20
	DefaultBurst       = 40
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = 100 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
)

// Limits configure the client-side rate limiting and retries; zero fields take the defaults.
type Limits struct {
	// QPS and Burst size the token bucket every attempt of one API waits on; QPS is the
	// ceiling of its adaptive rate.
	QPS   float64
	Burst int
	// MaxAttempts bounds the SDK attempts of one call, retries included.
	MaxAttempts int
	// BaseBackoff bounds the delay before the first retry; each retry doubles the bound.
	BaseBackoff time.Duration
	// MaxBackoff bounds the delay between two attempts.
	MaxBackoff time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.QPS <= 0 {
		l.QPS = DefaultQPS
	}
	if l.Burst <= 0 {
		l.Burst = DefaultBurst
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
	l.BaseBackoff = min(l.BaseBackoff, l.MaxBackoff)
	return l
}

// apiLimit is the state one API shares across every call of one Cloud: the adaptive token
// bucket with the attempt counters, and the SDK retryer that waits on it before each attempt.
type apiLimit struct {
	limiter *cloudapi.Limiter
	retryer aws.RetryerV2
	// perAttempt is set by configure, before the client makes any call: the retryer then
	// takes a token for every attempt and call must not take another for the first.
	perAttempt bool
}

// limits holds one apiLimit per API.
type limits struct {
	ec2, elb, elbv2 *apiLimit
}

func newLimits(l Limits) *limits {
	l = l.withDefaults()
	api := func() *apiLimit {
		lim := cloudapi.NewLimiter(l.QPS, l.Burst)
		return &apiLimit{limiter: lim, retryer: newRetryer(l, lim)}
	}
	return &limits{ec2: api(), elb: api(), elbv2: api()}
}

// newRetryer is the SDK's standard retries (Throttling, RequestLimitExceeded, 5xx, at most
// MaxAttempts) paced by the API's shared bucket instead of the SDK's own throttling
// machinery, which stalls every worker:
//
//   - not the adaptive mode: its client-side rate drops at each throttling answer (CUBIC,
//     down to one attempt every 2 s) and every call of the API then sleeps for its token.
//     With 30% of the answers throttled it stays there: 4.5 calls/s for the three APIs where
//     60 were allowed (issue 16, docs/benchmarks.md). Our bucket's rate (cloudapi.AIMD)
//     drops only when most answers of a window are throttled.
//   - not the SDK's backoff: it starts a throttled call's retries at up to 1 s, 2 s, 4 s
//     whatever the bucket allows; ours is full jitter from BaseBackoff (backoff), then the
//     attempt waits for a token like any other.
//   - not the retry quota (500 tokens, 5 per retry), which fails calls at once when
//     throttling lasts: the bucket already bounds the attempts, retries included.
func newRetryer(l Limits, lim *cloudapi.Limiter) aws.RetryerV2 {
	return &limitedRetryer{
		Standard: retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = l.MaxAttempts
			so.MaxBackoff = l.MaxBackoff
			so.Backoff = backoff{base: l.BaseBackoff, max: l.MaxBackoff}
			so.RateLimiter = ratelimit.None
		}),
		limiter: lim,
	}
}

// limitedRetryer is the standard retryer whose attempts, retries included, each wait for a
// token of the API's shared bucket, as the adaptive mode's attempts wait for its own.
type limitedRetryer struct {
	*retry.Standard
	limiter *cloudapi.Limiter
}

var _ aws.RetryerV2 = (*limitedRetryer)(nil)

// GetAttemptToken waits for the bucket, then returns the standard retryer's token.
func (r *limitedRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if err := r.limiter.Wait(ctx); err != nil {
		return nil, err
	}
	return r.Standard.GetAttemptToken(ctx)
}

// backoff is "full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): the
// delay before retry n is uniform in [0, min(max, base*2^(n-1))], so the retries of calls
// throttled together spread out instead of coming back at once.
type backoff struct{ base, max time.Duration }

func (b backoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	bound := b.max
	if attempt >= 1 && attempt < 32 {
		bound = min(b.max, b.base<<(attempt-1))
	}
	return rand.N(bound + 1), nil
}

// forOp returns the apiLimit of an operation named "ec2.X", "elb.X" or "elbv2.X".
func (ls *limits) forOp(op string) *apiLimit {
	if ls == nil {
		return nil
	}
	api, _, _ := strings.Cut(op, ".")
	switch api {
	case "ec2":
		return ls.ec2
	case "elb":
		return ls.elb
	case "elbv2":
		return ls.elbv2
	}
	return nil
}

// wait blocks until the API's bucket has a token or ctx ends; at once for an SDK client
// whose retryer waits before each attempt (configure).
func (a *apiLimit) wait(ctx context.Context, op string) error {
	if a == nil || a.perAttempt {
		return nil
	}
	if err := a.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// configure is the SDK client option that installs the shared retryer (which waits on the
// bucket before each attempt), reports every write once (auditMiddleware) and counts every
// attempt, so throttled attempts the retryer absorbed are visible too and move the bucket's
// rate.
func (a *apiLimit) configure(retryer *aws.Retryer, apiOptions *[]func(*middleware.Stack) error) {
	*retryer = a.retryer
	a.perAttempt = true
	*apiOptions = append(*apiOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(auditMiddleware, middleware.After)
	}, func(s *middleware.Stack) error {
		// After the retry middleware, so it runs once per attempt.
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("cloudlb/attempts",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				a.limiter.Attempted(isThrottle(err))
				return out, md, err
			}), middleware.After)
	})
}

// APIStats are the SDK attempts of one API since the Cloud was built.
type APIStats = cloudapi.Stats

// APIStats returns the attempts and throttled attempts per API ("ec2", "elb", "elbv2") of
// the clients NewFromConfig built; clients passed in Options are not counted.
func (c *Cloud) APIStats() map[string]APIStats {
	out := map[string]APIStats{}
	for name, a := range map[string]*apiLimit{"ec2": c.limits.ec2, "elb": c.limits.elb, "elbv2": c.limits.elbv2} {
		out[name] = a.limiter.Stats()
	}
	return out
}
