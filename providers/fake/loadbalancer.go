package fake

import (
	"context"
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// GetLoadBalancer reports the load balancer of service; one read. A load balancer with the
// Service's name that another cluster owns does not exist for this one.
func (c *Cloud) GetLoadBalancer(ctx context.Context, clusterName string, service *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	name := LoadBalancerName(service)
	lb, err := c.describe(ctx, name)
	if err != nil {
		return nil, false, fmt.Errorf("getting load balancer %s: %w", name, err)
	}
	if lb == nil || lb.ClusterName != clusterName {
		return nil, false, nil
	}
	return c.status(*lb), true, nil
}

// GetLoadBalancerName returns LoadBalancerName(service); no cloud call.
func (c *Cloud) GetLoadBalancerName(_ context.Context, _ string, service *v1.Service) string {
	return LoadBalancerName(service)
}

// EnsureLoadBalancer makes the cloud match service: one read, then at most one create or
// update (a change of internal replaces the load balancer: a delete and a create), nothing when
// it already matches. Invalid annotations return their *annotations.InvalidError before any call.
func (c *Cloud) EnsureLoadBalancer(ctx context.Context, clusterName string, service *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	cfg, err := providers.Parse(service, annotations.AnyCloud)
	if err != nil {
		return nil, err
	}
	return c.EnsureLoadBalancerConfigured(ctx, clusterName, service, cfg, nodes)
}

// EnsureLoadBalancerConfigured is EnsureLoadBalancer with the annotations parsed.
func (c *Cloud) EnsureLoadBalancerConfigured(ctx context.Context, clusterName string, service *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	desired := Build(service, nodes, cfg, clusterName)
	if listed, ok := c.writes.Unchanged(providers.ListingFrom(ctx), desired.Name, func() string { return specHash(desired) }); ok {
		return listed.Status, nil // the first pass's listing shows it as desired: no call
	}
	observed, err := c.describe(ctx, desired.Name)
	if err != nil {
		return nil, fmt.Errorf("ensuring load balancer %s: %w", desired.Name, err)
	}
	act := diff(observed, desired)
	var lb LoadBalancer
	switch act {
	case actionNone:
		return c.status(*observed), nil
	case actionForeign:
		return nil, foreignError(desired.Service, *observed, clusterName)
	case actionCreate:
		lb, err = c.create(ctx, desired)
	case actionUpdate:
		lb, err = c.modify(ctx, desired)
	case actionReplace:
		// The scheme cannot change in place. Deleting first leaves no load balancer if the
		// create then fails; the next Ensure observes that and creates it.
		if err = c.remove(ctx, desired.Name, clusterName); err == nil {
			lb, err = c.create(ctx, desired)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ensuring load balancer %s (%s): %w", desired.Name, act, err)
	}
	klog.FromContext(ctx).V(2).Info("Ensured fake load balancer", "service", desired.Service,
		"loadBalancer", lb.Name, "action", act.String(), "ip", lb.IP, "internal", lb.Internal, "nodes", len(lb.Nodes))
	return c.status(lb), nil
}

// UpdateLoadBalancer sets the backend nodes of service's existing load balancer: one read,
// and one write only when the node set changed.
func (c *Cloud) UpdateLoadBalancer(ctx context.Context, clusterName string, service *v1.Service, nodes []*v1.Node) error {
	cfg, err := providers.Parse(service, annotations.AnyCloud)
	if err != nil {
		return err
	}
	return c.UpdateLoadBalancerConfigured(ctx, clusterName, service, cfg, nodes)
}

// UpdateLoadBalancerConfigured is UpdateLoadBalancer with the annotations parsed.
func (c *Cloud) UpdateLoadBalancerConfigured(ctx context.Context, clusterName string, service *v1.Service, cfg *annotations.Config, nodes []*v1.Node) error {
	desired := Build(service, nodes, cfg, clusterName)
	observed, err := c.describe(ctx, desired.Name)
	switch {
	case err != nil:
		return fmt.Errorf("updating the nodes of load balancer %s: %w", desired.Name, err)
	case observed == nil:
		return fmt.Errorf("updating the nodes of load balancer %s: %w", desired.Name, ErrNotFound)
	case observed.ClusterName != clusterName:
		return foreignError(desired.Service, *observed, clusterName)
	case slices.Equal(observed.Nodes, desired.Nodes):
		return nil
	}
	if err := c.setBackends(ctx, desired.Name, clusterName, desired.Nodes); err != nil {
		return fmt.Errorf("updating the nodes of load balancer %s: %w", desired.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Updated fake load balancer nodes", "service", desired.Service,
		"loadBalancer", desired.Name, "nodes", len(desired.Nodes))
	return nil
}

// EnsureLoadBalancerDeleted deletes service's load balancer: one read, and a delete when it
// exists. Absent, or owned by another cluster (left untouched), is success.
func (c *Cloud) EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, service *v1.Service) error {
	name := LoadBalancerName(service)
	observed, err := c.describe(ctx, name)
	if err != nil {
		return fmt.Errorf("deleting load balancer %s: %w", name, err)
	}
	if observed == nil {
		return nil
	}
	logger := klog.FromContext(ctx)
	if observed.ClusterName != clusterName {
		logger.Info("Not deleting a load balancer another cluster owns", "service", klog.KObj(service),
			"loadBalancer", name, "owner", observed.ClusterName)
		return nil
	}
	if err := c.remove(ctx, name, clusterName); err != nil {
		return fmt.Errorf("deleting load balancer %s: %w", name, err)
	}
	logger.V(2).Info("Deleted fake load balancer", "service", klog.KObj(service), "loadBalancer", name)
	return nil
}

var _ providers.Configured = (*Cloud)(nil)

// AnnotationCloud is the cloud whose annotations this provider reads (providers.Configured):
// the fake serves every cloud's.
func (c *Cloud) AnnotationCloud() annotations.Cloud { return annotations.AnyCloud }

// status is the ingress the Service reports for lb.
func (c *Cloud) status(lb LoadBalancer) *v1.LoadBalancerStatus {
	if c.cfg.Hostnames {
		return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{Hostname: lb.Hostname}}}
	}
	mode := v1.LoadBalancerIPModeVIP
	return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: lb.IP, IPMode: &mode}}}
}

// foreignError is the user error for a load balancer with the Service's name that another
// cluster owns.
func foreignError(service string, lb LoadBalancer, clusterName string) error {
	return providers.NewUserError(service,
		"load balancer %s already exists and belongs to cluster %q, not %q; it is left untouched: delete it in that cluster, or re-create the Service to get a new name",
		lb.Name, lb.ClusterName, clusterName)
}
