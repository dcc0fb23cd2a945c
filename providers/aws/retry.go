package aws

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
// 40 absorbs the node-churn fan-out of a few dozen Services. Retries are bounded at 8
// attempts with at most 10s between two, so a call gives up within about a minute and the
// Service is requeued by the controller instead of holding a worker longer.
const (
	DefaultQPS         = 20
	DefaultBurst       = 40
	DefaultMaxAttempts = 8
	DefaultMaxBackoff  = 10 * time.Second
)

// Limits configure the client-side rate limiting and retries; zero fields take the defaults.
type Limits struct {
	// QPS and Burst size the token bucket every call of one API waits on.
	QPS   float64
	Burst int
	// MaxAttempts bounds the SDK attempts of one call, retries included.
	MaxAttempts int
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
	if l.MaxBackoff <= 0 {
		l.MaxBackoff = DefaultMaxBackoff
	}
	return l
}

// apiLimit is the state one API shares across every call of one Cloud: the token bucket
// call waits on with the attempt counters, and the SDK retryer (whose adaptive rate limiter
// learns from throttling only if every call goes through the same instance).
type apiLimit struct {
	limiter *cloudapi.Limiter
	retryer aws.RetryerV2
}

// limits holds one apiLimit per API.
type limits struct {
	ec2, elb, elbv2 *apiLimit
}

func newLimits(l Limits) *limits {
	l = l.withDefaults()
	api := func() *apiLimit {
		return &apiLimit{limiter: cloudapi.NewLimiter(l.QPS, l.Burst), retryer: newRetryer(l)}
	}
	return &limits{ec2: api(), elb: api(), elbv2: api()}
}

// newRetryer is the SDK's adaptive mode: the standard retries (Throttling,
// RequestLimitExceeded, 5xx) plus a client-side sending rate that drops when throttled and
// recovers as calls succeed. The backoff is set explicitly so that MaxBackoff bounds the
// throttling delay too (the SDK otherwise starts throttling retries at a fixed 1s).
func newRetryer(l Limits) aws.RetryerV2 {
	return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
			so.MaxAttempts = l.MaxAttempts
			so.MaxBackoff = l.MaxBackoff
			so.Backoff = retry.NewExponentialJitterBackoff(l.MaxBackoff)
		})
	})
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

// wait blocks until the API's bucket has a token or ctx ends.
func (a *apiLimit) wait(ctx context.Context, op string) error {
	if a == nil {
		return nil
	}
	if err := a.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// configure is the SDK client option that installs the shared retryer, reports every write
// once (auditMiddleware) and counts every attempt, so throttled attempts the retryer absorbed
// are visible too.
func (a *apiLimit) configure(retryer *aws.Retryer, apiOptions *[]func(*middleware.Stack) error) {
	*retryer = a.retryer
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
