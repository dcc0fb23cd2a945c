package gce

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
	cloudproviderapi "k8s.io/cloud-provider/api"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// portPendingDelay is how long to wait for the health check NodePort to be allocated.
const portPendingDelay = 5 * time.Second

// GetLoadBalancerName returns upstream's "a<uid>" cut to 32.
func (c *Cloud) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return LoadBalancerName(svc)
}

// GetLoadBalancer reports whether the Service's forwarding rule exists, with one read.
func (c *Cloud) GetLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	s := c.settings(clusterName)
	m := &Model{Name: LoadBalancerName(svc), Service: serviceName(svc), ClusterID: s.ClusterID, Project: s.Project, Region: s.Region}
	r, err := c.observeRule(ctx, m, m.Name)
	if err != nil || r == nil {
		return nil, false, err
	}
	return status(r.IP), true, nil
}

// config parses the Service's annotations for GCE, for the cloudprovider adapters and plan.
// rbs reports cloud.google.com/l4-rbs: enabled, which cloudlb serves itself with a
// backend-service based external load balancer.
func config(svc *v1.Service) (cfg *annotations.Config, rbs bool, err error) {
	cfg, err = providers.Parse(svc, annotations.GCE)
	if err != nil {
		return nil, false, err
	}
	if err := servedHere(cfg); err != nil {
		return nil, false, err
	}
	return cfg, cfg.GCE.RBS, nil
}

// servedHere steps aside for the Services GKE's controllers serve
// (cloudprovider.ImplementedElsewhere).
func servedHere(cfg *annotations.Config) error {
	if cfg.GCE == nil {
		return fmt.Errorf("the annotations of %s were parsed for cloud %q, not for gce", cfg.Service, cfg.Cloud)
	}
	if cfg.GCE.HandledElsewhere != "" {
		return cloudprovider.ImplementedElsewhere
	}
	return nil
}

var _ providers.Configured = (*Cloud)(nil)

// AnnotationCloud is the cloud whose annotations this provider reads (providers.Configured).
func (c *Cloud) AnnotationCloud() annotations.Cloud { return annotations.GCE }

// build builds the model, resolving the node tags (cached).
func (c *Cloud) build(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*Model, error) {
	if err := servedHere(cfg); err != nil {
		return nil, err
	}
	var refs []instanceRef
	for _, n := range nodes {
		if r, ok := parseProviderID(n.Spec.ProviderID); ok {
			refs = append(refs, r)
		}
	}
	tags, err := c.nodeTags(ctx, cfg.Service, refs)
	if err != nil {
		return nil, err
	}
	m, err := Build(Input{Service: svc, Nodes: nodes, GCE: cfg.GCE, Core: cfg.Core, Settings: c.settings(clusterName), NodeTags: tags, RBS: cfg.GCE.RBS})
	if errors.Is(err, errPortPending) {
		return nil, cloudproviderapi.NewRetryError(err.Error(), portPendingDelay)
	}
	return m, err
}

// EnsureLoadBalancer parses the Service's annotations and calls EnsureLoadBalancerConfigured.
func (c *Cloud) EnsureLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	cfg, err := providers.Parse(svc, annotations.GCE)
	if err != nil {
		return nil, err
	}
	return c.EnsureLoadBalancerConfigured(ctx, clusterName, svc, cfg, nodes)
}

// EnsureLoadBalancerConfigured creates or updates the Service's load balancer. An unchanged Service
// whose nodes this process applied within cacheTTL costs one ForwardingRules.Get, and none with
// a Listing that shows it unchanged (listing.go).
func (c *Cloud) EnsureLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	if _, ok := providers.ReasonOf(ctx); !ok {
		ctx = providers.WithReason(ctx, "the Service's load balancer parts differ from the Service")
	}
	m, err := c.build(ctx, clusterName, svc, cfg, nodes)
	if err != nil {
		return nil, err
	}
	ip, err := c.ensure(ctx, m)
	if rr := providers.AsReplacementRefused(err); rr != nil {
		return rr.Status, err // kept and serving: the controller writes the status
	}
	if err != nil {
		return nil, fmt.Errorf("ensuring load balancer %s: %w", m.Name, err)
	}
	return status(ip), nil
}

func (c *Cloud) ensure(ctx context.Context, m *Model) (string, error) {
	if ip, ok := c.listedNoOp(ctx, m); ok {
		return ip, nil
	}
	primary, err := c.observeRule(ctx, m, m.Name)
	if err != nil {
		return "", err
	}
	if primary != nil && !primary.Owned {
		return "", notOurs(m, "forwarding rule", m.Name)
	}
	if primary != nil && primary.Labels[specLabel] == m.SpecHash() {
		if c.membershipApplied(m.Name, m.MembershipHash()) {
			return primary.IP, nil
		}
		if ok, err := c.ensureMembership(ctx, m); err != nil || ok {
			if err != nil {
				c.forgetGroups(m)
			}
			return primary.IP, err
		}
	}
	if primary == nil && providers.FirstEnsure(ctx) {
		ip, err := c.converge(withFirstCreate(ctx), m, nil)
		if !errors.Is(err, errSkippedExists) {
			return ip, err
		}
		klog.FromContext(ctx).V(2).Info("A name of the Service's first ensure is taken; reading everything", "service", m.Service, "name", m.Name, "err", err)
	}
	return c.converge(ctx, m, primary)
}

// converge is ensure's full path from the primary rule: decide, then apply the plan.
func (c *Cloud) converge(ctx context.Context, m *Model, primary *ObservedRule) (string, error) {
	m, o, p, d, err := c.decide(ctx, m, primary)
	if err != nil {
		return "", err
	}
	if !p.Writes() {
		c.setMembership(m.Name, m.MembershipHash())
		return p.IP, d.err(m, p.IP)
	}
	ip, err := c.apply(ctx, m, p, o)
	if err != nil {
		c.setMembership(m.Name, "")
		c.forgetGroups(m)
		return "", err
	}
	c.setMembership(m.Name, m.MembershipHash())
	klog.FromContext(ctx).V(2).Info("Ensured GCE load balancer", "service", m.Service, "name", m.Name, "scheme", m.Scheme, "backend", m.Backend)
	return ip, d.err(m, ip)
}

// refusals are the changes a reconcile keeps from being made, reported after the rest of
// the Service is applied: those the replacement guard refused, and a network tier change.
type refusals struct {
	replace []providers.FieldChange
	tier    error
}

// err is the error EnsureLoadBalancer returns for them: the *providers.ReplacementRefused
// (the controller's success with a Warning) when the guard refused, else the tier's
// UserError.
func (r refusals) err(m *Model, ip string) error {
	if len(r.replace) > 0 {
		return refusedError(m, r.replace, ip)
	}
	return r.tier
}

// decide is ensure's and planEnsure's way from the primary rule to the Plan: it observes,
// keeps what the replacement guard refuses to replace (observing again for the kept model),
// adapts the model to what cloudlb took over (adopt.go), keeps the network tier, and diffs.
func (c *Cloud) decide(ctx context.Context, m *Model, primary *ObservedRule) (*Model, *Observed, *Plan, refusals, error) {
	var d refusals
	kept, changes, err := keepForGuard(m, primary)
	if err != nil {
		return nil, nil, nil, d, err
	}
	m, d.replace = kept, changes
	o, err := c.observe(ctx, m, primary)
	if err != nil {
		return nil, nil, nil, d, err
	}
	m = adapt(m, o)
	m, d.tier = keepNetworkTier(m, o)
	p, err := Diff(m, o)
	if err != nil {
		return nil, nil, nil, d, err
	}
	return m, o, p, d, nil
}

// ensureMembership is the reconcile of a Service whose spec is applied (its label matches):
// only the target pool's instances, or the shared instance groups' members, can differ. It
// returns false when the full path must handle the Service (membershipPlan).
func (c *Cloud) ensureMembership(ctx context.Context, m *Model) (bool, error) {
	p, ok, err := c.membershipPlan(ctx, m)
	if err != nil || !ok {
		return false, err
	}
	if m.TargetPool != nil {
		err = c.applyTargetPool(ctx, m, p)
	} else if len(p.Groups) > 0 {
		err = c.applyGroups(ctx, m, p.Groups)
	}
	if err != nil {
		return false, err
	}
	c.setMembership(m.Name, m.MembershipHash())
	return true, nil
}

// membershipPlan observes and diffs only what a node change can change: the target pool's
// instances, or the members of the shared instance groups. ok is false when the full path must
// decide: the target pool is missing or not ours, or a zone's group does not exist yet (it is
// part of the spec).
func (c *Cloud) membershipPlan(ctx context.Context, m *Model) (p *Plan, ok bool, err error) {
	p = &Plan{}
	if tp := m.TargetPool; tp != nil {
		otp, err := c.observeTargetPool(ctx, m)
		if err != nil || otp == nil || !otp.Owned {
			return nil, false, err
		}
		p.AddInstances, p.RemoveInstances = setDiff(tp.Instances, otp.Instances)
		return p, true, nil
	}
	o := &Observed{Groups: map[string]ObservedGroup{}}
	for _, g := range m.InstanceGroups {
		og, err := c.observeGroup(ctx, m, g)
		if err != nil || !og.Exists {
			return nil, false, err
		}
		o.Groups[g.Zone] = og
	}
	diffGroups(p, m, o)
	return p, true, nil
}

// UpdateLoadBalancer parses the Service's annotations and calls UpdateLoadBalancerConfigured.
func (c *Cloud) UpdateLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) error {
	cfg, err := providers.Parse(svc, annotations.GCE)
	if err != nil {
		return err
	}
	return c.UpdateLoadBalancerConfigured(ctx, clusterName, svc, cfg, nodes)
}

// UpdateLoadBalancerConfigured applies a node change through EnsureLoadBalancerConfigured (the
// node set is part of the model): with the spec unchanged, only target pool instances or
// instance group members (and backend service zones) are written.
func (c *Cloud) UpdateLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) error {
	_, err := c.EnsureLoadBalancerConfigured(providers.WithReason(ctx, "the Service's eligible nodes changed"), clusterName, svc, cfg, nodes)
	return err
}

// EnsureLoadBalancerDeleted deletes everything of the Service that is ours, whatever state a
// partial create or delete left: every candidate name is looked up, errors do not stop the
// other deletes, and shared objects go only when no other Service uses them.
func (c *Cloud) EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, svc *v1.Service) error {
	ctx = providers.WithReason(ctx, providers.ReasonDeleting)
	if cfg, _ := annotations.Parse(svc, annotations.GCE); cfg.GCE != nil && cfg.GCE.HandledElsewhere != "" {
		return cloudprovider.ImplementedElsewhere
	}
	s := c.settings(clusterName)
	lb := LoadBalancerName(svc)
	m := &Model{
		Name: lb, Service: serviceName(svc), ClusterID: s.ClusterID, Project: s.Project, Region: s.Region,
		HealthCheck: HealthCheck{Kind: HealthCheckLegacyHTTP, Name: lb},
		Firewalls: []Firewall{{Name: trafficFirewallName(lb)}, {Name: hcFirewallName(lb, s.ClusterID, false, true)},
			{Name: hcFirewallName(lb, s.ClusterID, false, false)}},
	}
	o, err := c.observe(ctx, m, nil)
	if err != nil {
		return fmt.Errorf("deleting load balancer %s: %w", lb, err)
	}
	// Health checks a partial delete may have left unreferenced: the per-Service regional
	// one, and the cluster's node checks when the target pool or backend service that
	// pointed at them is already gone (deleting one still in use fails and keeps it).
	candidates := []HealthCheck{{Kind: HealthCheckRegional, Name: lb}}
	if o.TargetPool == nil && len(o.BackendServices) == 0 {
		candidates = append(candidates, HealthCheck{Kind: HealthCheckLegacyHTTP, Name: nodeHealthCheckName(s.ClusterID)},
			HealthCheck{Kind: HealthCheckRegional, Name: nodeHealthCheckName(s.ClusterID)})
	}
	for _, hc := range candidates {
		if _, seen := o.HealthChecks[hcKey(hc.Kind, hc.Name)]; seen {
			continue
		}
		h, err := c.getHealthCheck(ctx, m.Project, m.Region, hc.Kind, hc.Name)
		if err != nil {
			return fmt.Errorf("deleting load balancer %s: %w", lb, err)
		}
		if h != nil {
			h.Owned = ownedBy(h.desc, m.Service, m.ClusterID) || sharedOwned(h.desc, m.ClusterID)
			o.HealthChecks[hcKey(h.Kind, h.Name)] = *h
		}
	}
	if r, ok := o.Rules[lb]; ok && !r.Owned {
		return providers.NewUserError(m.Service, "forwarding rule %s exists but is not ours (its description does not name this Service and cluster); it is not deleted", lb)
	}
	p := &Plan{DeleteTargetPool: o.TargetPool != nil && o.TargetPool.Owned, DeleteAddress: o.Address != nil && o.Address.Owned}
	for name, r := range o.Rules {
		if r.Owned {
			p.DeleteRules = append(p.DeleteRules, name)
		}
	}
	for name, b := range o.BackendServices {
		if b.Owned {
			p.DeleteBackendServices = append(p.DeleteBackendServices, name)
		}
	}
	for _, h := range o.HealthChecks {
		if h.Owned {
			p.DeleteHealthChecks = append(p.DeleteHealthChecks, h.HealthCheck)
		}
	}
	for name, f := range o.Firewalls {
		if f.Owned && !f.Shared && parseDescIsService(name, m) {
			p.DeleteFirewalls = append(p.DeleteFirewalls, name)
		}
	}
	c.setMembership(lb, "")
	if err := c.deleteAll(ctx, m, p, o); err != nil {
		return fmt.Errorf("deleting load balancer %s: %w", lb, err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted GCE load balancer", "service", m.Service, "name", lb)
	return nil
}

// deleteAll is applyDeletes that goes on after an error, so one failure does not leak the
// rest; rules go first, since they reference everything else.
func (c *Cloud) deleteAll(ctx context.Context, m *Model, p *Plan, o *Observed) error {
	var errs []error
	for _, name := range p.DeleteRules {
		if err := c.deleteRule(ctx, m, name); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Everything else is still referenced by the rules.
		return errors.Join(errs...)
	}
	if p.DeleteTargetPool {
		if err := c.deleteTargetPool(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range p.DeleteBackendServices {
		if err := c.deleteBackendService(ctx, m, o.BackendServices[name].BackendSvc); err != nil {
			errs = append(errs, err)
		}
	}
	for _, hc := range p.DeleteHealthChecks {
		if err := c.deleteHealthCheck(ctx, m, hc); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range p.DeleteFirewalls {
		if err := c.deleteFirewall(ctx, m, name); err != nil {
			errs = append(errs, err)
		}
	}
	if p.DeleteAddress {
		if err := c.deleteAddress(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// status is the Service's ingress: the forwarding rule's IP.
func status(ip string) *v1.LoadBalancerStatus {
	if ip == "" {
		return &v1.LoadBalancerStatus{}
	}
	return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: ip}}}
}
