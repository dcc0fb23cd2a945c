package servicecontroller

import (
	"context"
	"hash/fnv"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// Drift repair re-ensures every Service once per DriftRepairPeriod; upstream never does, so a
// load balancer changed behind its back stays wrong until the Service changes. Each Service
// has a fixed offset within the period (a hash of its UID), and a ticker enqueues the Services
// whose offset passed since the last tick: the work is spread evenly over the period instead
// of arriving all at once. The phase is taken from wall-clock time, so a restarted or newly
// elected controller keeps the same schedule.

// driftTicks is how many ticks one period is cut into; each tick enqueues about 1/driftTicks
// of the Services.
const driftTicks = 64

// minDriftTick keeps tiny test periods from spinning.
const minDriftTick = 10 * time.Millisecond

// driftOffset is the Service's fixed position within the period.
func driftOffset(uid types.UID, period time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(uid))
	return time.Duration(h.Sum64() % uint64(period))
}

// driftDue reports whether offset lies in the phase interval (from, to] of the period.
func driftDue(offset, period time.Duration, from, to time.Time) bool {
	if to.Sub(from) >= period {
		return true
	}
	if !to.After(from) {
		return false
	}
	a := time.Duration(from.UnixNano() % int64(period))
	b := time.Duration(to.UnixNano() % int64(period))
	if a < b {
		return offset > a && offset <= b
	}
	return offset > a || offset <= b // the interval wraps around the end of the period
}

// driftKeys returns the keys of the Services due for drift repair in (from, to]: those this
// controller manages (it wants their load balancer, or must clean it up).
func driftKeys(services []*v1.Service, class string, period time.Duration, from, to time.Time) []string {
	var keys []string
	for _, svc := range services {
		if !wantsLoadBalancer(svc, class) && !needsCleanup(svc, class) {
			continue
		}
		if driftDue(driftOffset(svc.UID, period), period, from, to) {
			keys = append(keys, cache.MetaObjectToName(svc).String())
		}
	}
	return keys
}

func (c *Controller) runDriftRepair(ctx context.Context) {
	period := c.opts.DriftRepairPeriod
	ticker := c.clock.NewTicker(max(period/driftTicks, minDriftTick))
	defer ticker.Stop()
	last := c.clock.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
		now := c.clock.Now()
		c.enqueueDrift(ctx, last, now)
		last = now
	}
}

// enqueueDrift adds the Services due in (from, to]. One in backoff is left alone: its retry is
// already scheduled, and an Add would cut the backoff short.
func (c *Controller) enqueueDrift(ctx context.Context, from, to time.Time) {
	services, err := c.services.List(labels.Everything())
	if err != nil {
		klog.FromContext(ctx).Error(err, "Listing Services for drift repair")
		return
	}
	n := 0
	for _, key := range driftKeys(services, c.opts.LoadBalancerClass, c.opts.DriftRepairPeriod, from, to) {
		if c.queue.NumRequeues(key) > 0 {
			continue
		}
		c.queue.Add(key)
		n++
	}
	if n > 0 {
		klog.FromContext(ctx).V(4).Info("Drift repair enqueued Services", "count", n)
	}
}
