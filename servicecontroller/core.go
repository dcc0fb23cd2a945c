package servicecontroller

import (
	"context"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// serviceWriter is the core's port to the API server for the Service objects it reconciles.
type serviceWriter interface {
	// AddFinalizer adds Finalizer without dropping anyone else's and returns the updated Service.
	AddFinalizer(ctx context.Context, svc *v1.Service) (*v1.Service, error)
	// RemoveFinalizer removes Finalizer only; a Service that is already gone is not an error.
	RemoveFinalizer(ctx context.Context, svc *v1.Service) error
	// PatchStatus replaces status.loadBalancer; a Service that is already gone is not an error.
	PatchStatus(ctx context.Context, svc *v1.Service, status *v1.LoadBalancerStatus) error
}

// eventSink records Events; record.EventRecorder satisfies it.
type eventSink interface {
	Event(object runtime.Object, eventtype, reason, message string)
}

// nodeLister lists every node (the informer's cache in production).
type nodeLister func() ([]*v1.Node, error)

// core decides and reconciles; it knows nothing of informers or queues, so its tests drive it
// directly through the ports above and a cloudprovider.LoadBalancer.
type core struct {
	opts   Options
	cloud  cloudprovider.LoadBalancer
	writer serviceWriter
	events eventSink
	nodes  nodeLister

	mu       sync.Mutex
	services map[string]*serviceState // by namespace/name

	// listing is the first pass's Listing (listing.go).
	listing listingPass
}

// serviceState is what the core remembers about one Service between syncs. It is only
// memory: after a restart every field starts empty and is rebuilt by the first sync.
type serviceState struct {
	// mu serialises all cloud work on one Service: the queue never runs a key twice at once,
	// but a node pass runs outside the queue.
	mu sync.Mutex
	// uid of the Service the state belongs to; a different UID means it was re-created.
	uid types.UID
	// applied is the Service as last accepted by EnsureLoadBalancer; nil when never (in this
	// process). It decides whether a sync is a real change (Events) and what to delete when the
	// Service vanished without our finalizer.
	applied *v1.Service
	// nodes is the node set the cloud last accepted; "" when unknown (never synced, or the
	// last write failed), in which case node passes leave the Service to the queue.
	nodes nodeSet
	// reported is the message of the last user-error or wait Event, so retries and drift
	// repair do not repeat it. Cleared by a success.
	reported string
	// warned is the message of the last AnnotationWarning Event.
	warned string
	// noNodesWarned is set once the UnAvailableLoadBalancer Warning was emitted and cleared when
	// an eligible node is seen again, so the Warning comes once per empty spell, not per retry.
	// Kept apart from nodes, which a failed write resets; after a restart it starts false, so
	// a Service that is still without nodes gets the Warning once more (its earlier spell is
	// unknowable).
	noNodesWarned bool
	// state is the Service's "state" label in the services gauge; "" when not counted.
	state string
}

// States of the services gauge.
const (
	stateProvisioned = "provisioned"
	statePending     = "pending"
	stateFailed      = "failed"
	stateInvalid     = "invalid"
)

func newCore(opts Options, cloud cloudprovider.LoadBalancer, writer serviceWriter, events eventSink, nodes nodeLister) *core {
	return &core{
		opts:     opts,
		cloud:    cloud,
		writer:   writer,
		events:   events,
		nodes:    nodes,
		services: map[string]*serviceState{},
	}
}

// lockState returns the state of key, created when missing, with its mutex held.
func (c *core) lockState(key string) *serviceState {
	c.mu.Lock()
	st, ok := c.services[key]
	if !ok {
		st = &serviceState{}
		c.services[key] = st
	}
	c.mu.Unlock()
	st.mu.Lock()
	return st
}

// peekState returns the state of key, or nil; its mutex is not held.
func (c *core) peekState(key string) *serviceState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.services[key]
}

// dropState forgets key (the caller holds st.mu). The record is also emptied: a node pass
// that looked it up before it was dropped must find nothing to update.
func (c *core) dropState(key string, st *serviceState) {
	c.setState(st, "")
	st.applied, st.nodes = nil, ""
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.services[key] == st {
		delete(c.services, key)
	}
}

// setState moves the Service to state s in the services gauge (the caller holds st.mu).
func (c *core) setState(st *serviceState, s string) {
	if st.state == s {
		return
	}
	if st.state != "" {
		servicesByState.WithLabelValues(st.state).Dec()
	}
	if s != "" {
		servicesByState.WithLabelValues(s).Inc()
	}
	st.state = s
}

// annotationCloud is the cloud whose annotations the controller parses: the provider's when it
// takes parsed configs (providers.Configured), so the two cannot disagree; else
// Options.AnnotationCloud.
func (c *core) annotationCloud() annotations.Cloud {
	if p, ok := c.cloud.(providers.Configured); ok {
		return p.AnnotationCloud()
	}
	return c.opts.AnnotationCloud
}

// ensureLB hands the provider the config parsed once here when it takes one, so that what the
// controller validated is what the provider builds; other providers parse for themselves.
func (c *core) ensureLB(ctx context.Context, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	if p, ok := c.cloud.(providers.Configured); ok {
		return p.EnsureLoadBalancerConfigured(ctx, c.opts.ClusterName, svc, cfg, nodes)
	}
	return c.cloud.EnsureLoadBalancer(ctx, c.opts.ClusterName, svc, nodes)
}

// updateLB is ensureLB for node changes.
func (c *core) updateLB(ctx context.Context, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) error {
	if p, ok := c.cloud.(providers.Configured); ok {
		return p.UpdateLoadBalancerConfigured(ctx, c.opts.ClusterName, svc, cfg, nodes)
	}
	return c.cloud.UpdateLoadBalancer(ctx, c.opts.ClusterName, svc, nodes)
}
