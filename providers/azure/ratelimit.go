package azure

import (
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// Client-side limits of one Cloud: one token bucket per kind of request, as ARM meters them.
// ARM throttles each subscription, per security principal and region, with a token bucket
// per operation type: reads refilled at 25/s holding 250, writes and deletes each refilled
// at 10/s holding 200, answering 429 with Retry-After beyond (learn.microsoft.com, "Regional
// throttling and token bucket algorithm"). Operation-status polls are GETs and ARM counts
// them as reads. One bucket for every kind, as cloudlb had, made the reads and polls of one
// Service's reconcile (about four for each write) spend the tokens its writes needed: 80
// Services against a cloud serving 10 writes/s took 4.7 times as long as the writes alone
// would (issue 16).
//
//   - Reads 20/s, burst 100: 80% of ARM's refill and 40% of its bucket, leaving 5/s and 150
//     tokens to the principal's other clients (the node manager, drivers and operators
//     sharing its identity); a read does not change the cloud, so its budget can sit close
//     to ARM's.
//   - Writes 10/s, burst 20, as before the split: ARM's write refill. A controller writes in
//     waves (Services created together, a node added) rather than steadily, and a wave goes
//     at the pace ARM would allow it; when others spend the same budget ARM answers 429 and
//     the bucket's rate halves (cloudapi.AIMD), for writes alone.
//   - Deletes 10/s, burst 20: ARM's delete refill, reasoned as for writes.
//
// Each is the ceiling of its bucket's rate, which follows that kind's throttling only: a
// subscription out of writes does not slow the reads and polls that let other Services
// converge. The SDK retries 429 and 5xx up to 6 times, honouring Retry-After, at most 30 s
// apart; without Retry-After the first retry comes after about 100 ms (azcore: RetryDelay x
// (2^try - 1), jittered 0.8-1.3x), then waits for its token like any attempt. The SDK's
// default of 800 ms, or our former 1 s, made each throttled call hold its worker for a
// second or more whatever the bucket allowed, and a throttled write of the shared load
// balancer every worker queued behind (issue 16).
const (
	DefaultReadQPS     = 20
	DefaultReadBurst   = 100
	DefaultWriteQPS    = 10
	DefaultWriteBurst  = 20
	DefaultDeleteQPS   = 10
	DefaultDeleteBurst = 20
	DefaultMaxRetries  = 6
	DefaultPoll        = 2 * time.Second
	defaultRetryDelay  = 100 * time.Millisecond
	defaultMaxDelay    = 30 * time.Second
)

// Rate is one token bucket: QPS tokens per second at most (the ceiling of its AIMD), holding
// Burst; zero fields take the defaults.
type Rate struct {
	QPS   float64
	Burst int
}

// Limits configure rate limiting, retries and polling; zero fields take the defaults.
type Limits struct {
	// Reads, Writes and Deletes are the buckets of GET and HEAD requests (operation polls
	// included), of PUT, PATCH and POST requests, and of DELETE requests. A zero field takes
	// QPS or Burst when set, then the cloud config's cloudProviderRateLimit keys, then the
	// kind's default.
	Reads, Writes, Deletes Rate
	// QPS and Burst are every kind's rate and burst where its own is zero: callers that lift
	// the limits (tests against a fake) set them once.
	QPS        float64
	Burst      int
	MaxRetries int32
	// RetryDelay is the first retry's delay when the service sends no Retry-After.
	RetryDelay time.Duration
	// Poll is the interval between polls of a long-running operation without Retry-After.
	Poll time.Duration
}

// withDefaults resolves every zero field; cfg is what the cloud config asks of each kind.
func (l Limits) withDefaults(cfg kindRates) Limits {
	resolve := func(own, cfg, def Rate) Rate {
		return Rate{QPS: firstPositive(own.QPS, l.QPS, cfg.QPS, def.QPS), Burst: int(firstPositive(float64(own.Burst), float64(l.Burst), float64(cfg.Burst), float64(def.Burst)))}
	}
	l.Reads = resolve(l.Reads, cfg.reads, Rate{DefaultReadQPS, DefaultReadBurst})
	l.Writes = resolve(l.Writes, cfg.writes, Rate{DefaultWriteQPS, DefaultWriteBurst})
	l.Deletes = resolve(l.Deletes, cfg.deletes, Rate{DefaultDeleteQPS, DefaultDeleteBurst})
	if l.MaxRetries == 0 {
		l.MaxRetries = DefaultMaxRetries
	}
	if l.RetryDelay <= 0 {
		l.RetryDelay = defaultRetryDelay
	}
	if l.Poll <= 0 {
		l.Poll = DefaultPoll
	}
	return l
}

// kindRates are the rates asked of each kind of request; zero fields ask nothing.
type kindRates struct{ reads, writes, deletes Rate }

func firstPositive(vs ...float64) float64 {
	for _, v := range vs {
		if v > 0 {
			return v
		}
	}
	return 0
}

// budgets are the token buckets of one Cloud's attempts, one per kind of request ARM meters
// separately, each counting its attempts and following its own throttling.
type budgets struct {
	reads, writes, deletes *cloudapi.Limiter
}

// newBudgets returns the buckets of l (resolved), whose AIMD windows run on now.
func newBudgets(l Limits, now func() time.Time) *budgets {
	bucket := func(r Rate) *cloudapi.Limiter {
		return cloudapi.NewAIMDLimiter(cloudapi.DefaultAIMD(r.QPS), r.Burst, now)
	}
	return &budgets{reads: bucket(l.Reads), writes: bucket(l.Writes), deletes: bucket(l.Deletes)}
}

// of returns the bucket of a request by its method: GET and HEAD (and OPTIONS, which ARM
// does not serve) read, DELETE deletes, every other method writes, the budget ARM spends on
// PUT, PATCH and POST.
func (b *budgets) of(method string) *cloudapi.Limiter {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return b.reads
	case http.MethodDelete:
		return b.deletes
	}
	return b.writes
}

// stats returns the attempts of every kind together; Rate is the sum of the kinds' rates.
func (b *budgets) stats() cloudapi.Stats { return cloudapi.Sum(b.reads, b.writes, b.deletes) }

// limitPolicy waits, before every attempt, for the bucket of the request's kind and counts
// the attempt there, so throttling answers move that kind's rate only.
type limitPolicy struct{ budgets *budgets }

func (p limitPolicy) Do(req *policy.Request) (*http.Response, error) {
	l := p.budgets.of(req.Raw().Method)
	if err := l.Wait(req.Raw().Context()); err != nil {
		return nil, err
	}
	resp, err := req.Next()
	l.Attempted(resp != nil && cloudapi.AzureThrottled(resp.StatusCode))
	return resp, err
}

// APIStats are the ARM attempts of one Cloud since it was built, every kind together.
type APIStats = cloudapi.Stats

// APIStats returns the HTTP attempts (retries included) and the throttled ones, reads,
// writes and deletes together; Rate is the sum of their buckets' rates. Zero for a Cloud
// built by New, whose client is not ours.
func (c *Cloud) APIStats() APIStats {
	if c.limiter == nil {
		return APIStats{}
	}
	return c.limiter.stats()
}
