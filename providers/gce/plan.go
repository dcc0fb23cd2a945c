package gce

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

var _ providers.Planner = (*Cloud)(nil)

// defaultReason is EnsureLoadBalancerConfigured's reason for writes no step of Apply names
// (the membership of a Service whose spec is applied).
const defaultReason = "the Service's load balancer parts differ from the Service"

// PlanLoadBalancer says what EnsureLoadBalancerConfigured would write for the Service,
// without writing (providers.Planner): it takes the same path (the spec label, then only the
// membership, or everything observed and diffed) with the same reads, and lists the Plan's
// writes in Apply's order, named as the audit trail names them, each with the step Apply
// gives it. Deletes of what other Services may share (the node health check and its firewall,
// instance groups) are listed as made when no other Service uses them: GCE refuses them while
// one does, and Apply leaves them. A network tier
// change GCE cannot make is returned as the UserError EnsureLoadBalancer returns, with the
// plan of the rest, which EnsureLoadBalancer applies.
func (c *Cloud) PlanLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*providers.Plan, error) {
	m, err := c.build(ctx, clusterName, svc, cfg, nodes)
	if err != nil {
		return nil, err
	}
	base := defaultReason
	if why, ok := providers.ReasonOf(ctx); ok {
		base = why
	}
	out := &providers.Plan{Service: m.Service, Cloud: ProviderName, Writes: []providers.Write{}}
	w := &planned{m: m, c: c, base: base}
	refused, err := c.planEnsure(ctx, m, w)
	if err != nil {
		return nil, err
	}
	out.Writes = append(out.Writes, w.writes...)
	return out, refused
}

// planEnsure is ensure's decisions with its reads and without its writes, which it adds to w.
func (c *Cloud) planEnsure(ctx context.Context, m *Model, w *planned) (refused, err error) {
	primary, err := c.observeRule(ctx, m, m.Name)
	if err != nil {
		return nil, err
	}
	if primary != nil && !primary.Owned {
		return nil, notOurs(m, "forwarding rule", m.Name)
	}
	if primary != nil && primary.Labels[specLabel] == m.SpecHash() {
		if c.membershipApplied(m.Name, m.MembershipHash()) {
			return nil, nil
		}
		if ok, err := c.planMembership(ctx, m, w); err != nil || ok {
			return nil, err
		}
	}
	m, o, p, d, err := c.decide(ctx, m, primary)
	if err != nil {
		return nil, err
	}
	w.m = m
	w.plan(p, o)
	return d.err(m, p.IP), nil
}

// planMembership is ensureMembership without the writes: false when the full path must decide.
func (c *Cloud) planMembership(ctx context.Context, m *Model, w *planned) (bool, error) {
	p, ok, err := c.membershipPlan(ctx, m)
	if err != nil || !ok {
		return false, err
	}
	if m.TargetPool != nil {
		w.targetPool(p, w.base)
	} else {
		w.groups(p.Groups, w.base)
	}
	return true, nil
}

// planned turns a Plan into the writes apply makes, in its order.
type planned struct {
	c      *Cloud
	m      *Model
	base   string
	writes []providers.Write
}

func (w *planned) add(op, object string, change providers.Change, why string) {
	w.writes = append(w.writes, providers.Write{Cloud: ProviderName, Operation: op, Object: object, Change: change, Reason: why})
}

func (w *planned) region(collection, name string) string {
	return "projects/" + w.m.Project + "/regions/" + w.m.Region + "/" + collection + "/" + name
}

func (w *planned) global(collection, name string) string {
	return "projects/" + w.m.Project + "/global/" + collection + "/" + name
}

func (w *planned) insert(collection, object, why string) {
	w.add("insert "+collection, object, providers.ChangeCreated, why)
}

func (w *planned) delete(collection, object, why string) {
	w.add("delete "+collection, object, providers.ChangeDeleted, why)
}

// plan lists the writes of apply (apply.go) for p, step by step; o is what p was diffed from.
func (w *planned) plan(p *Plan, o *Observed) {
	m := w.m
	recreate := p.RecreateRules
	if p.DeleteAddressFirst {
		for _, name := range recreate {
			w.delete("forwardingRules", w.region("forwardingRules", name), "replacing the forwarding rule: its address changes")
		}
		recreate = nil
		w.delete("addresses", w.region("addresses", m.Name), "the Service's address reservation differs from the Service")
	}
	if p.LabelAddress {
		w.add("addresses.setLabels", w.region("addresses", m.Name), providers.ChangeNone, "recording cloudlb's ownership of the address it took over")
	}
	if p.CreateAddress {
		w.insert("addresses", w.region("addresses", m.Address.Name), "the Service's address reservation differs from the Service")
	}
	for _, f := range p.Firewalls {
		const why = "the firewall rule differs from the Service's ports, source ranges or nodes"
		if f.Create {
			w.insert("firewalls", w.global("firewalls", f.Firewall.Name), why)
		} else {
			w.add("patch firewalls", w.global("firewalls", f.Firewall.Name), providers.ChangeNone, why)
		}
	}
	if h := p.HealthCheck; h != nil {
		collection, object := w.healthCheck(h.HealthCheck)
		if h.Create {
			w.insert(collection, object, "the health check differs from the Service")
		} else {
			w.add("put "+collection, object, providers.ChangeNone, "the health check differs from the Service")
		}
	}
	w.groups(p.Groups, "the instance groups differ from the Service's nodes")
	for _, name := range recreate {
		w.delete("forwardingRules", w.region("forwardingRules", name), "replacing the forwarding rule: what it forwards to, its ports or protocol are fixed at creation")
	}
	w.targetPool(p, "the target pool differs from the Service's nodes or health check")
	if b := p.BackendService; b != nil {
		if b.Create {
			w.insert("backendServices", w.region("backendServices", b.BackendService.Name), "the backend service differs from the Service")
		} else {
			w.add("patch backendServices", w.region("backendServices", b.BackendService.Name), providers.ChangeNone, "the backend service differs from the Service")
		}
	}
	w.rules(p)
	w.deletes(p, o, "the Service no longer uses it")
	if p.SetSpec {
		w.add("forwardingRules.setLabels", w.region("forwardingRules", m.Name), providers.ChangeNone, "recording the applied spec (everything else is in place)")
	}
}

// healthCheck is the health check's collection and object.
func (w *planned) healthCheck(hc HealthCheck) (string, string) {
	if hc.Kind == HealthCheckLegacyHTTP {
		return "httpHealthChecks", w.global("httpHealthChecks", hc.Name)
	}
	if hc.Kind == HealthCheckGlobal {
		return "healthChecks", w.global("healthChecks", hc.Name)
	}
	return "healthChecks", w.region("healthChecks", hc.Name)
}

// groups are applyGroups' writes: a change another Service applied since (the cache) is
// planned again from what it applied.
func (w *planned) groups(changes []GroupChange, why string) {
	for _, g := range changes {
		w.c.mu.Lock()
		cg, ok := w.c.groups[w.m.Project+"/"+g.Group.Zone+"/"+g.Group.Name]
		w.c.mu.Unlock()
		if ok && w.c.now().Sub(cg.at) < cacheTTL {
			g.Create = false
			g.Add, g.Remove = setDiff(g.Group.Instances, cg.instances)
		}
		object := "projects/" + w.m.Project + "/zones/" + g.Group.Zone + "/instanceGroups/" + g.Group.Name
		if g.Create {
			w.insert("instanceGroups", object, why)
		}
		if len(g.Add) > 0 {
			w.add("instanceGroups.addInstances", object, providers.ChangeNone, why)
		}
		if len(g.Remove) > 0 {
			w.add("instanceGroups.removeInstances", object, providers.ChangeNone, why)
		}
	}
}

// targetPool is applyTargetPool's writes.
func (w *planned) targetPool(p *Plan, why string) {
	tp := w.m.TargetPool
	if tp == nil {
		return
	}
	object := w.region("targetPools", tp.Name)
	if p.RecreateTargetPool {
		w.delete("targetPools", w.region("targetPools", w.m.Name), why)
	}
	if p.CreateTargetPool || p.RecreateTargetPool {
		w.insert("targetPools", object, why)
		return
	}
	if len(p.AddInstances) > 0 {
		w.add("targetPools.addInstance", object, providers.ChangeNone, why)
	}
	if len(p.RemoveInstances) > 0 {
		w.add("targetPools.removeInstance", object, providers.ChangeNone, why)
	}
	if old := p.SwapPoolHealthCheck; old != "" {
		if old != "-" {
			w.add("targetPools.removeHealthCheck", object, providers.ChangeNone, why)
		}
		w.add("targetPools.addHealthCheck", object, providers.ChangeNone, why)
	}
}

// rules are the forwarding rules' creates, patches and new targets.
func (w *planned) rules(p *Plan) {
	for _, r := range p.CreateRules {
		w.insert("forwardingRules", w.region("forwardingRules", r.Name), "the Service has no forwarding rule for these ports yet")
	}
	for _, rp := range p.PatchRules {
		w.add("patch forwardingRules", w.region("forwardingRules", rp.Rule.Name), providers.ChangeNone, "the Service's global access setting changed")
	}
	for _, r := range p.SetTargets {
		w.add("forwardingRules.setTarget", w.region("forwardingRules", r.Name), providers.ChangeNone, "pointing the forwarding rule at the Service's target pool")
	}
}

// deletes are applyDeletes' writes, as made when nothing else uses what the Service leaves:
// a health check's firewall goes with it, the instance groups of a backend service with it.
// GCE refuses to delete a shared health check, backend service or group another Service
// still uses; Apply then leaves it, and its firewall or groups, in place.
func (w *planned) deletes(p *Plan, o *Observed, why string) {
	m := w.m
	for _, name := range p.DeleteRules {
		w.delete("forwardingRules", w.region("forwardingRules", name), why)
	}
	if p.DeleteTargetPool {
		w.delete("targetPools", w.region("targetPools", m.Name), why)
	}
	for _, name := range p.DeleteBackendServices {
		w.delete("backendServices", w.region("backendServices", name), why)
		w.deleteGroups(o.BackendServices[name].Backends, why)
	}
	for _, hc := range p.DeleteHealthChecks {
		collection, object := w.healthCheck(hc)
		w.delete(collection, object, why)
		w.delete("firewalls", w.global("firewalls", hcFirewallName(m.Name, m.ClusterID, hc.Shared, hc.Kind == HealthCheckLegacyHTTP)), why)
	}
	for _, name := range p.DeleteFirewalls {
		w.delete("firewalls", w.global("firewalls", name), why)
	}
	w.deleteGroups(p.DeleteGroups, why)
	if p.DeleteAddress {
		w.delete("addresses", w.region("addresses", m.Name), why)
	}
}

// deleteGroups are deleteGroupIfUnused's attempts.
func (w *planned) deleteGroups(groupURLs []string, why string) {
	for _, g := range groupURLs {
		if zone := zoneOf(g); zone != "" {
			w.delete("instanceGroups", "projects/"+w.m.Project+"/zones/"+zone+"/instanceGroups/"+lastSegment(g), why)
		}
	}
}
