package servicecontroller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// nodeBatcher coalesces node events: the first event after a pass opens a batch, every later
// event joins it, and one pass runs once the events have been quiet for window, or maxWait
// after the batch opened, whichever comes first. Nodes that join one after the other (a
// scale-up) so cost each load balancer one write, not one per window. The one-slot channel is
// the "nodes dirty" flag; last is the time of the latest event.
type nodeBatcher struct {
	dirty   chan struct{}
	last    atomic.Int64 // UnixNano of the latest markDirty
	window  time.Duration
	maxWait time.Duration
	clock   clock.Clock
}

func newNodeBatcher(window, maxWait time.Duration, clk clock.Clock) *nodeBatcher {
	return &nodeBatcher{dirty: make(chan struct{}, 1), window: window, maxWait: max(maxWait, window), clock: clk}
}

// markDirty records that the node set may have changed; it never blocks.
func (b *nodeBatcher) markDirty() {
	b.last.Store(b.clock.Now().UnixNano())
	select {
	case b.dirty <- struct{}{}:
	default:
	}
}

// run calls pass once per batch of markDirty calls (see nodeBatcher), until ctx is done.
func (b *nodeBatcher) run(ctx context.Context, pass func(context.Context)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.dirty:
		}
		if !b.collect(ctx) {
			return
		}
		// Events of this batch are covered by the pass: the informer updates its cache before
		// it calls the handler, and the pass reads the cache. Events during the pass open the
		// next batch.
		select {
		case <-b.dirty:
		default:
		}
		pass(ctx)
	}
}

// collect waits until the batch opened now has been quiet for window or is maxWait old; false
// when ctx ended first. It wakes only at those deadlines, computed from the events' times, so
// events do not wake it and a late wake-up never lengthens the batch.
func (b *nodeBatcher) collect(ctx context.Context) bool {
	opened := b.clock.Now()
	for {
		wait := b.untilDue(opened, time.Unix(0, b.last.Load()), b.clock.Now())
		if wait <= 0 {
			return true
		}
		timer := b.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C():
		}
	}
}

// untilDue is how long, at now, a batch opened at opened whose latest event came at last
// still waits for its pass: until window after last, and at most until maxWait after opened.
func (b *nodeBatcher) untilDue(opened, last, now time.Time) time.Duration {
	return min(last.Add(b.window).Sub(now), opened.Add(b.maxWait).Sub(now))
}

// keyError is a Service whose node update failed, for the queue to retry.
type keyError struct {
	key string
	err error
}

// syncNodes is one node pass: for every Service it computes the eligible node set (predicates
// and the Service's node selector) and calls UpdateLoadBalancer once for each Service whose set
// (names and providerIDs) differs from the one the cloud last accepted. Services whose set is
// unknown (never ensured in this process, or their last write failed) are left to the queue,
// whose next ensure sends the current nodes anyway.
func (c *core) syncNodes(ctx context.Context, services []*v1.Service) ([]keyError, error) {
	passStart := time.Now()
	defer func() { nodeSyncLatency.Observe(time.Since(passStart).Seconds()) }()
	nodes, err := c.nodes()
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	sets := newEligibleSets(nodes)
	var mu sync.Mutex
	var failed []keyError
	hostsStart := time.Now()
	defer func() { updateLoadBalancerHostLatency.Observe(time.Since(hostsStart).Seconds()) }()
	workqueue.ParallelizeUntil(ctx, c.opts.Workers, len(services), func(i int) {
		key := cache.MetaObjectToName(services[i]).String()
		if err := c.syncServiceNodes(ctx, key, services[i], sets); err != nil {
			mu.Lock()
			failed = append(failed, keyError{key: key, err: err})
			mu.Unlock()
		}
	})
	return failed, nil
}

// syncServiceNodes updates one Service's backends when its eligible node set changed.
func (c *core) syncServiceNodes(ctx context.Context, key string, svc *v1.Service, sets *eligibleSets) error {
	if !wantsLoadBalancer(svc, c.opts.LoadBalancerClass) || svc.DeletionTimestamp != nil {
		return nil
	}
	st := c.peekState(key)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.nodes == "" || st.uid != svc.UID {
		return nil
	}
	cfg, target, lastApplied := c.nodeConfig(svc, st)
	if cfg == nil {
		return nil // reported by the queue's sync; nothing valid was ever applied
	}
	nodes, set := sets.get(cfg.NodeLabels())
	if set == st.nodes {
		return nil
	}
	// Recorded before the call, so a pass that starts while this one runs does not repeat it.
	st.nodes = set
	if len(nodes) > 0 {
		st.noNodesWarned = false // an eligible node was seen, whatever the cloud answers
	}
	ctx = c.withAudit(klog.NewContext(ctx, klog.FromContext(ctx).WithValues("service", key)), svc, opUpdate)
	klog.FromContext(ctx).V(2).Info("Updating load balancer backends", "nodes", len(nodes))
	start := time.Now()
	loadBalancerSyncCount.Inc()
	// A copy of the slice: nodes is shared by the pass, and a provider may sort what it is given.
	err := c.updateLB(ctx, target.DeepCopy(), cfg, slices.Clone(nodes))
	if errors.Is(err, cloudprovider.ImplementedElsewhere) || providers.AsReplacementRefused(err) != nil {
		// A refused replacement still applied the nodes; the Service's own sync reports it.
		err = nil
	}
	if err != nil {
		nodeSyncErrorCount.Inc()
		err = withOp(opUpdate, fmt.Errorf("with new hosts %s: %w", nodeNames(nodes), err))
	}
	observe(opUpdate, start, err)
	if err != nil {
		st.nodes = ""
		c.report(svc, st, err)
		return err
	}
	if len(nodes) == 0 {
		c.observeNodes(svc, st, nodes)
	} else {
		c.events.Event(svc, v1.EventTypeNormal, ReasonUpdatedLoadBalancer, updatedMessage(nodes, lastApplied))
	}
	return nil
}

// nodeConfig returns the parsed config and the Service a node update applies: svc's own, or,
// when an edit made svc's annotations invalid, those of the Service as last applied (lastApplied
// true), so that its backends follow the nodes while its author fixes it; the queue's sync
// reports the problems. cfg is nil when nothing valid was ever applied in this process.
func (c *core) nodeConfig(svc *v1.Service, st *serviceState) (cfg *annotations.Config, target *v1.Service, lastApplied bool) {
	cfg, problems := annotations.Parse(svc, c.annotationCloud())
	if !problems.HasErrors() {
		return cfg, svc, false
	}
	if st.applied == nil {
		return nil, nil, false
	}
	cfg, problems = annotations.Parse(st.applied, c.annotationCloud())
	if problems.HasErrors() {
		return nil, nil, false
	}
	return cfg, st.applied, true
}
