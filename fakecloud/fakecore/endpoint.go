// Package fakecore is what the fake clouds (fakeaws, fakeazure, fakegce) share around their
// own APIs: the call counters, fault injection with its latency, and the HTTP listener. A
// fake names each call by its own operation key ("ec2:DescribeInstances",
// "LoadBalancers.CreateOrUpdate", "ForwardingRules.Insert"), tells Admit whether the call
// reads, writes or polls a long-running operation, and answers the fault Admit draws in its
// cloud's own wire format (error codes, HTTP statuses, failed operations).
package fakecore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config configures an Endpoint; the zero value is usable.
type Config[K ~string] struct {
	// Name is the fake's name in errors ("fakeaws").
	Name string
	// Seed makes fault draws reproducible; 0 means 1.
	Seed uint64
	// OnCall, when set, sees every call counted (faulted ones included) with its request,
	// and unlike the counters it is never reset: the contract suites collect the operations
	// a provider needed from it (deploy/permissions). It must be safe for concurrent use.
	OnCall func(r *http.Request, op K)
	// Bucket names the request-rate bucket of an operation's writes (Faults.WriteRateLimit):
	// AWS meters each service on its own. Nil puts every write in one bucket.
	Bucket func(op K) string
}

// Endpoint holds the counters, faults and listener of one fake; a fake embeds it. It has a
// lock of its own, apart from the fake's state. K is the fake's operation key.
type Endpoint[K ~string] struct {
	cfg     Config[K]
	handler http.Handler

	mu     sync.Mutex
	rng    *rand.Rand
	calls  map[K]int
	kinds  map[Kind]int
	faults Faults
	// injected counts the faults answered since the last reset, for Tally.
	throttled, failed, lost int
	// bucketWrites counts the writes per request-rate bucket since the last reset, for Tally.
	bucketWrites map[string]BucketTally
	// buckets meter Faults.WriteRateLimit per Config.Bucket; SetFaults renews them.
	buckets map[string]*rate.Limiter
	// next holds the one-shot faults per operation (FailNext), served before the random ones.
	next map[K][]error

	srvMu   sync.Mutex
	httpSrv *http.Server
}

// NewEndpoint returns an Endpoint that serves h (the fake) when started.
func NewEndpoint[K ~string](cfg Config[K], h http.Handler) *Endpoint[K] {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	e := &Endpoint[K]{cfg: cfg, handler: h, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x2545f4914f6cdd1d))}
	e.resetLocked()
	return e
}

// Outcome is what Admit decided for one call.
type Outcome struct {
	// Err, when set, is the answer in place of the call's: ErrThrottled, ErrServer or an
	// *APIError, in the cloud's wire format. With Async the call is accepted instead and
	// its long-running operation fails with Err, where the call has one.
	Err   error
	Async bool
	// Lose runs the call and then answers ErrServer: the answer was lost.
	Lose bool
	// RetryAfter goes with a throttling answer where the protocol has the header (Azure).
	RetryAfter time.Duration
	// Gone: the client went away while the call waited out the latency; answer nothing.
	Gone bool
}

// Admit counts one call of op, shows it to Config.OnCall, draws its fault and waits out the
// latency. The fake then answers what the Outcome says.
func (e *Endpoint[K]) Admit(r *http.Request, op K, kind Kind) Outcome {
	e.mu.Lock()
	e.calls[op]++
	e.kinds[kind]++
	if kind == Write {
		bt := e.bucketWrites[e.bucketName(op)]
		bt.Writes++
		e.bucketWrites[e.bucketName(op)] = bt
	}
	o := e.draw(op, kind)
	latency := e.faults.Latency
	e.countInjected(o)
	e.mu.Unlock()
	if e.cfg.OnCall != nil {
		e.cfg.OnCall(r, op)
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			o.Gone = true
		}
	}
	return o
}

// Handler is the fake, for httptest.NewServer.
func (e *Endpoint[K]) Handler() http.Handler { return e.handler }

// Start serves the fake on addr (host:port, port 0 for any) until Close and returns its
// URL, as `cloudlb fakecloud --listen` does.
func (e *Endpoint[K]) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s: listen %s: %w", e.cfg.Name, addr, err)
	}
	srv := &http.Server{Handler: e.handler, ReadHeaderTimeout: 10 * time.Second}
	e.srvMu.Lock()
	e.httpSrv = srv
	e.srvMu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops a fake started with Start; it does nothing otherwise.
func (e *Endpoint[K]) Close() error {
	e.srvMu.Lock()
	srv := e.httpSrv
	e.httpSrv = nil
	e.srvMu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("%s: shutdown: %w", e.cfg.Name, err)
	}
	return nil
}
