package servicecontroller

import (
	"context"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/providers"
)

// The first pass. When the controller starts, every provisioned Service is synced once; with a
// provider that lists (providers.Lister), the controller asks for one Listing before its workers
// start and hands it to the first sync of each of those Services, which then costs the cloud
// no call of its own when nothing changed (see providers/listing.go for why a stale listing
// cannot skip a write). Later syncs (changes, node passes, drift repair) observe as before.

// listingTimeout bounds the listing at start; on failure the pass observes Service by Service.
const listingTimeout = time.Minute

// listingPass holds the Listing until every Service of the first pass had its sync, or until
// it is too old to be used.
type listingPass struct {
	mu      sync.Mutex
	l       *providers.Listing
	pending map[string]bool
}

// begin lists the cluster's load balancers for the provisioned Services among services
// (ours, with our finalizer); nothing when the provider does not list or there is none.
func (p *listingPass) begin(ctx context.Context, cloud any, clusterName string, services []*v1.Service, ours func(*v1.Service) bool) {
	lister, ok := cloud.(providers.Lister)
	if !ok {
		return
	}
	pending := map[string]bool{}
	for _, svc := range services {
		if ours(svc) && hasFinalizer(svc) && svc.DeletionTimestamp == nil {
			if key, err := cache.MetaNamespaceKeyFunc(svc); err == nil {
				pending[key] = true
			}
		}
	}
	if len(pending) == 0 {
		return
	}
	logger := klog.FromContext(ctx)
	lctx, cancel := context.WithTimeout(ctx, listingTimeout)
	defer cancel()
	start := time.Now()
	l, err := lister.ListLoadBalancers(lctx, clusterName)
	if err != nil {
		logger.Error(err, "Listing the cluster's load balancers for the first pass; observing each Service instead")
		return
	}
	logger.Info("Listed the cluster's load balancers for the first pass", "loadBalancers", len(l.Entries),
		"services", len(pending), "duration", time.Since(start).Round(time.Millisecond))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.l, p.pending = l, pending
}

// take returns ctx with the Listing for the first sync of key in the pass, and ctx unchanged
// otherwise. The Listing is let go with the last pending Service or once too old.
func (p *listingPass) take(ctx context.Context, key string) context.Context {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l == nil {
		return ctx
	}
	if time.Since(p.l.At) > providers.MaxListingAge {
		p.l, p.pending = nil, nil
		return ctx
	}
	if !p.pending[key] {
		return ctx
	}
	l := p.l
	delete(p.pending, key)
	if len(p.pending) == 0 {
		p.l, p.pending = nil, nil
	}
	return providers.WithListing(ctx, l)
}

// beginListing runs the first pass's listing over the Services in the informer cache.
func (c *Controller) beginListing(ctx context.Context) {
	services, err := c.services.List(labels.Everything())
	if err != nil {
		klog.FromContext(ctx).Error(err, "Listing Services for the first pass")
		return
	}
	c.core.listing.begin(ctx, c.core.cloud, c.opts.ClusterName, services, c.interesting)
}
