package fake

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// Op is one simulated cloud API operation; its value is the operation label of the metrics.
type Op string

// The operations of the fake cloud. OpGet and OpList are the reads.
const (
	OpGet         Op = "DescribeLoadBalancer"
	OpList        Op = "ListLoadBalancers"
	OpCreate      Op = "CreateLoadBalancer"
	OpUpdate      Op = "ModifyLoadBalancer"
	OpUpdateNodes Op = "SetLoadBalancerBackends"
	OpDelete      Op = "DeleteLoadBalancer"
)

// Calls counts the simulated cloud calls made through one *Cloud, failed ones included.
type Calls struct {
	// Reads counts OpGet and OpList calls; Writes all the others.
	Reads, Writes int
	// ByOp counts the calls of each operation.
	ByOp map[Op]int
}

// injected is an error armed by InjectError.
type injected struct {
	err error
	// times is how many more calls fail; negative means until cleared.
	times int
}

// faults holds the call counters, the injected errors and the latency of one *Cloud.
type faults struct {
	mu      sync.Mutex
	byOp    map[Op]int
	errs    map[Op]*injected
	latency time.Duration
}

func newFaults(latency time.Duration) *faults {
	return &faults{byOp: map[Op]int{}, errs: map[Op]*injected{}, latency: latency}
}

// InjectError makes the next times calls of op fail with err (times < 0: every call until
// ClearErrors; times == 0 or a nil err disarms op). A failing call is still counted and still
// waits for the latency, like a real API call that the cloud rejects.
func (c *Cloud) InjectError(op Op, err error, times int) {
	c.faults.mu.Lock()
	defer c.faults.mu.Unlock()
	if times == 0 || err == nil {
		delete(c.faults.errs, op)
		return
	}
	c.faults.errs[op] = &injected{err: err, times: times}
}

// ClearErrors disarms every injected error.
func (c *Cloud) ClearErrors() {
	c.faults.mu.Lock()
	defer c.faults.mu.Unlock()
	clear(c.faults.errs)
}

// SetLatency sets the time every later cloud call takes.
func (c *Cloud) SetLatency(d time.Duration) {
	c.faults.mu.Lock()
	defer c.faults.mu.Unlock()
	c.faults.latency = d
}

// Calls returns the calls counted since New or the last ResetCalls.
func (c *Cloud) Calls() Calls {
	c.faults.mu.Lock()
	defer c.faults.mu.Unlock()
	calls := Calls{ByOp: maps.Clone(c.faults.byOp)}
	for op, n := range c.faults.byOp {
		if op == OpGet || op == OpList {
			calls.Reads += n
		} else {
			calls.Writes += n
		}
	}
	return calls
}

// ResetCalls sets every call counter to zero.
func (c *Cloud) ResetCalls() {
	c.faults.mu.Lock()
	defer c.faults.mu.Unlock()
	clear(c.faults.byOp)
}

// call performs one simulated cloud call: it counts it, waits for the latency (or ctx), fails
// with an injected error if one is armed, else runs do; the outcome goes to the metrics.
func (c *Cloud) call(ctx context.Context, op Op, do func() error) error {
	started := time.Now()
	err := c.faults.begin(ctx, op)
	if err == nil {
		err = do()
	}
	// The fake does not throttle: an injected error is an error.
	cloudapi.Observe(ProviderName, string(op), started, cloudapi.Outcome{Err: err})
	return err
}

// begin counts a call of op, sleeps the latency (honouring ctx) and then returns the injected
// error, if one is armed. A call cancelled during the latency never reached the cloud, so it
// does not consume an injected error.
func (f *faults) begin(ctx context.Context, op Op) error {
	f.mu.Lock()
	f.byOp[op]++
	latency := f.latency
	f.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", op, context.Cause(ctx))
		case <-t.C:
		}
	} else if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, context.Cause(ctx))
	}
	if err := f.takeInjected(op); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// takeInjected returns the error armed for op, if any, and uses up one of its times.
func (f *faults) takeInjected(op Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	inj := f.errs[op]
	if inj == nil {
		return nil
	}
	if inj.times > 0 {
		if inj.times--; inj.times == 0 {
			delete(f.errs, op)
		}
	}
	return inj.err
}
