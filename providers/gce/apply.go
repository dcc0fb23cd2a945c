package gce

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strings"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/cloudlb/cloudlb/providers"
)

// write runs one write to the load balancer of model m and waits for its operation, under
// the rate limit and retries. Every write of the provider goes through it, so it records the
// write (or the attempt, which may have changed the cloud) in the write log: a listing that
// began before it is not trusted for m (providers.WriteLog).
func (c *Cloud) write(ctx context.Context, m *Model, op string, f func(context.Context) (*compute.Operation, error)) error {
	defer c.writes.Wrote(m.Name)
	return c.limits.write(ctx, op, func(ctx context.Context) error {
		o, err := f(ctx)
		return wait(ctx, o, err)
	})
}

// insert is write of the object name where "already exists" is success: a retried insert
// whose first attempt got through, or a crash between the insert and the next step. On a
// first ensure's path an object whose read was skipped is the exception: its 409 is
// errSkippedExists, for ensure to read everything (first.go).
func (c *Cloud) insert(ctx context.Context, m *Model, op, name string, f func(context.Context) (*compute.Operation, error)) error {
	err := c.write(ctx, m, op, f)
	collection, _, _ := strings.Cut(op, ".")
	if isConflict(err) && skippedFrom(ctx)[collection+"/"+name] {
		return fmt.Errorf("%s %s: %w: %w", op, name, errSkippedExists, err)
	}
	if err != nil && !isConflict(err) {
		return err
	}
	return nil
}

// remove is write where "not found" is success.
func (c *Cloud) remove(ctx context.Context, m *Model, op string, f func(context.Context) (*compute.Operation, error)) error {
	if err := c.write(ctx, m, op, f); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// apply makes the plan's writes in order (see Plan) and returns the load balancer's IP.
// Every step is idempotent and the spec label is written last, so a crash anywhere leaves a
// label that makes the next reconcile read and repair everything.
func (c *Cloud) apply(ctx context.Context, m *Model, p *Plan, o *Observed) (string, error) {
	why := providers.WithStep
	if p.DeleteAddressFirst {
		// The rules hold the address: they go first (they are re-created with the new one).
		for _, name := range p.RecreateRules {
			if err := c.deleteRule(why(ctx, "replacing the forwarding rule: its address changes"), m, name); err != nil {
				return "", err
			}
		}
		p.RecreateRules = nil
	}
	if err := c.applyAddress(why(ctx, "the Service's address reservation differs from the Service"), m, p); err != nil {
		return "", err
	}
	for _, f := range p.Firewalls {
		if ip, err := netip.ParseAddr(p.IP); f.DestinationFromIP && err == nil && ip.Is4() {
			f.Firewall.DestinationRanges = []string{ip.String() + "/32"}
		}
		if err := c.applyFirewall(why(ctx, "the firewall rule differs from the Service's ports, source ranges or nodes"), m, f); err != nil {
			return "", err
		}
	}
	if h := p.HealthCheck; h != nil {
		if err := c.applyHealthCheck(why(ctx, "the health check differs from the Service"), m, h); err != nil {
			return "", err
		}
	}
	if len(p.Groups) > 0 {
		if err := c.applyGroups(why(ctx, "the instance groups differ from the Service's nodes"), m, p.Groups); err != nil {
			return "", err
		}
	}
	for _, name := range p.RecreateRules {
		if err := c.deleteRule(why(ctx, "replacing the forwarding rule: what it forwards to, its ports or protocol are fixed at creation"), m, name); err != nil {
			return "", err
		}
	}
	if err := c.applyTargetPool(why(ctx, "the target pool differs from the Service's nodes or health check"), m, p); err != nil {
		return "", err
	}
	if b := p.BackendService; b != nil {
		if err := c.applyBackendService(why(ctx, "the backend service differs from the Service"), m, b); err != nil {
			return "", err
		}
	}
	for _, r := range p.CreateRules {
		if err := c.createRule(why(ctx, "the Service has no forwarding rule for these ports yet"), m, r, p.IP); err != nil {
			return "", err
		}
	}
	for _, rp := range p.PatchRules {
		res := &computepb.ForwardingRule{AllowGlobalAccess: ptr(rp.Rule.AllowGlobalAccess)}
		if rp.Fingerprint != "" {
			res.Fingerprint = ptr(rp.Fingerprint)
		}
		if err := c.write(why(ctx, "the Service's global access setting changed"), m, "ForwardingRules.Patch", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.ForwardingRules.Patch(ctx, &computepb.PatchForwardingRuleRequest{Project: m.Project, Region: m.Region, ForwardingRule: rp.Rule.Name,
				ForwardingRuleResource: res})
		}); err != nil {
			return "", err
		}
	}
	for _, r := range p.SetTargets {
		if err := c.write(why(ctx, "pointing the forwarding rule at the Service's target pool"), m, "ForwardingRules.SetTarget", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.ForwardingRules.SetTarget(ctx, &computepb.SetTargetForwardingRuleRequest{Project: m.Project, Region: m.Region, ForwardingRule: r.Name,
				TargetReferenceResource: &computepb.TargetReference{Target: ptr(c.regionURL(m, "targetPools", r.Target))}})
		}); err != nil {
			return "", err
		}
	}
	if err := c.applyDeletes(why(ctx, "the Service no longer uses it"), m, p, o); err != nil {
		return "", err
	}
	if p.SetSpec {
		if err := c.setSpec(why(ctx, "recording the applied spec (everything else is in place)"), m); err != nil {
			return "", err
		}
	}
	ip := p.IP
	if ip == "" {
		r, err := c.observeRule(ctx, m, m.Name)
		if err != nil {
			return "", err
		}
		if r != nil {
			ip = r.IP
		}
	}
	return ip, nil
}

func (c *Cloud) regionURL(m *Model, collection, name string) string {
	return "projects/" + m.Project + "/regions/" + m.Region + "/" + collection + "/" + name
}

func (c *Cloud) applyAddress(ctx context.Context, m *Model, p *Plan) error {
	if p.DeleteAddressFirst {
		if err := c.deleteAddress(ctx, m); err != nil {
			return err
		}
	}
	if p.LabelAddress {
		if err := c.labelAddress(ctx, m); err != nil {
			return err
		}
	}
	if !p.CreateAddress {
		return nil
	}
	a := m.Address
	res := &computepb.Address{Name: ptr(a.Name), Description: ptr(describe(m.Service, m.ClusterID)), AddressType: ptr(a.Type),
		Labels: map[string]string{ownerLabel: m.ClusterID}}
	if ip := cmp.Or(a.IP, p.IP); ip != "" {
		res.Address = ptr(ip)
	}
	if a.NetworkTier != "" {
		res.NetworkTier = ptr(a.NetworkTier)
	}
	if a.Subnetwork != "" {
		res.Subnetwork = ptr(a.Subnetwork)
	}
	if a.Purpose != "" {
		res.Purpose = ptr(a.Purpose)
	}
	// A 409 on a first ensure's path is told apart by the read that follows (for the IP):
	// an address that is not ours sends the ensure down the full path, as insert would; one
	// that does not exist (a 409 that reserved nothing) is an error, as on the full path.
	skipped := false
	if err := c.insert(ctx, m, "Addresses.Insert", a.Name, func(ctx context.Context) (*compute.Operation, error) {
		return c.api.Addresses.Insert(ctx, &computepb.InsertAddressRequest{Project: m.Project, Region: m.Region, AddressResource: res})
	}); errors.Is(err, errSkippedExists) {
		skipped = true
	} else if err != nil {
		return fmt.Errorf("reserving address %s: %w", a.Name, err)
	}
	got, err := c.getAddress(ctx, m, a.Name)
	if err != nil {
		return err
	}
	if got == nil {
		return fmt.Errorf("address %s not found after its creation", a.Name)
	}
	if skipped && !got.Owned {
		return fmt.Errorf("reserving address %s: %w", a.Name, errSkippedExists)
	}
	p.IP = got.IP
	return nil
}

func (c *Cloud) deleteAddress(ctx context.Context, m *Model) error {
	return c.remove(ctx, m, "Addresses.Delete", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.Addresses.Delete(ctx, &computepb.DeleteAddressRequest{Project: m.Project, Region: m.Region, Address: m.Name})
	})
}

func (c *Cloud) applyFirewall(ctx context.Context, m *Model, f FirewallChange) error {
	desc := describe(m.Service, m.ClusterID)
	if f.Firewall.Shared {
		desc = describe("", m.ClusterID)
	}
	res := &computepb.Firewall{
		Name: ptr(f.Firewall.Name), Description: ptr(desc), Network: ptr(f.Firewall.Network), Direction: ptr("INGRESS"),
		SourceRanges: f.Firewall.SourceRanges, TargetTags: f.Firewall.TargetTags, Priority: ptr(int32(1000)),
		DestinationRanges: f.Firewall.DestinationRanges,
	}
	for _, a := range f.Firewall.Allowed {
		res.Allowed = append(res.Allowed, &computepb.Allowed{IPProtocol: ptr(a.Protocol), Ports: a.Ports})
	}
	if f.Create {
		return c.insert(ctx, m, "Firewalls.Insert", f.Firewall.Name, func(ctx context.Context) (*compute.Operation, error) {
			return c.api.Firewalls.Insert(ctx, &computepb.InsertFirewallRequest{Project: m.Project, FirewallResource: res})
		})
	}
	return c.write(ctx, m, "Firewalls.Patch", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.Firewalls.Patch(ctx, &computepb.PatchFirewallRequest{Project: m.Project, Firewall: f.Firewall.Name, FirewallResource: res})
	})
}

func (c *Cloud) applyHealthCheck(ctx context.Context, m *Model, h *HealthCheckChange) error {
	hc := h.HealthCheck
	desc := describe(m.Service, m.ClusterID)
	if hc.Shared {
		desc = describe("", m.ClusterID)
	}
	if hc.Kind == HealthCheckLegacyHTTP {
		res := &legacyHTTPHealthCheck{Name: hc.Name, Description: desc, Port: hc.Port, RequestPath: hc.RequestPath, CheckIntervalSec: hc.CheckIntervalSec,
			TimeoutSec: hc.TimeoutSec, HealthyThreshold: hc.HealthyThreshold, UnhealthyThreshold: hc.UnhealthyThreshold}
		if h.Create {
			return c.insert(ctx, m, "HttpHealthChecks.Insert", hc.Name, func(ctx context.Context) (*compute.Operation, error) {
				return nil, c.api.HTTPHealthChecks.Insert(ctx, m.Project, res)
			})
		}
		return c.write(ctx, m, "HttpHealthChecks.Update", func(ctx context.Context) (*compute.Operation, error) {
			return nil, c.api.HTTPHealthChecks.Update(ctx, m.Project, hc.Name, res)
		})
	}
	res := &computepb.HealthCheck{Name: ptr(hc.Name), Description: ptr(desc), Type: ptr("HTTP"),
		HttpHealthCheck:  &computepb.HTTPHealthCheck{Port: ptr(hc.Port), RequestPath: ptr(hc.RequestPath)},
		CheckIntervalSec: ptr(hc.CheckIntervalSec), TimeoutSec: ptr(hc.TimeoutSec), HealthyThreshold: ptr(hc.HealthyThreshold), UnhealthyThreshold: ptr(hc.UnhealthyThreshold)}
	if hc.Kind == HealthCheckGlobal {
		if h.Create {
			return c.insert(ctx, m, "HealthChecks.Insert", hc.Name, func(ctx context.Context) (*compute.Operation, error) {
				return c.api.HealthChecks.Insert(ctx, &computepb.InsertHealthCheckRequest{Project: m.Project, HealthCheckResource: res})
			})
		}
		return c.write(ctx, m, "HealthChecks.Update", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.HealthChecks.Update(ctx, &computepb.UpdateHealthCheckRequest{Project: m.Project, HealthCheck: hc.Name, HealthCheckResource: res})
		})
	}
	if h.Create {
		return c.insert(ctx, m, "RegionHealthChecks.Insert", hc.Name, func(ctx context.Context) (*compute.Operation, error) {
			return c.api.RegionHealthChecks.Insert(ctx, &computepb.InsertRegionHealthCheckRequest{Project: m.Project, Region: m.Region, HealthCheckResource: res})
		})
	}
	return c.write(ctx, m, "RegionHealthChecks.Update", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.RegionHealthChecks.Update(ctx, &computepb.UpdateRegionHealthCheckRequest{Project: m.Project, Region: m.Region, HealthCheck: hc.Name, HealthCheckResource: res})
	})
}

func (c *Cloud) applyTargetPool(ctx context.Context, m *Model, p *Plan) error {
	tp := m.TargetPool
	if tp == nil {
		return nil
	}
	hcURL := "projects/" + m.Project + "/global/httpHealthChecks/" + tp.HealthCheck
	if p.RecreateTargetPool {
		if err := c.deleteTargetPool(ctx, m); err != nil {
			return err
		}
	}
	if p.CreateTargetPool || p.RecreateTargetPool {
		res := &computepb.TargetPool{Name: ptr(tp.Name), Description: ptr(describe(m.Service, m.ClusterID)), Instances: tp.Instances,
			HealthChecks: []string{hcURL}, SessionAffinity: ptr(tp.SessionAffinity)}
		return c.insert(ctx, m, "TargetPools.Insert", tp.Name, func(ctx context.Context) (*compute.Operation, error) {
			return c.api.TargetPools.Insert(ctx, &computepb.InsertTargetPoolRequest{Project: m.Project, Region: m.Region, TargetPoolResource: res})
		})
	}
	if len(p.AddInstances) > 0 {
		refs := instanceRefs(p.AddInstances)
		if err := c.write(ctx, m, "TargetPools.AddInstance", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.TargetPools.AddInstance(ctx, &computepb.AddInstanceTargetPoolRequest{Project: m.Project, Region: m.Region, TargetPool: tp.Name,
				TargetPoolsAddInstanceRequestResource: &computepb.TargetPoolsAddInstanceRequest{Instances: refs}})
		}); err != nil {
			return err
		}
	}
	if len(p.RemoveInstances) > 0 {
		refs := instanceRefs(p.RemoveInstances)
		if err := c.write(ctx, m, "TargetPools.RemoveInstance", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.TargetPools.RemoveInstance(ctx, &computepb.RemoveInstanceTargetPoolRequest{Project: m.Project, Region: m.Region, TargetPool: tp.Name,
				TargetPoolsRemoveInstanceRequestResource: &computepb.TargetPoolsRemoveInstanceRequest{Instances: refs}})
		}); err != nil {
			return err
		}
	}
	if old := p.SwapPoolHealthCheck; old != "" {
		// A target pool holds at most one health check: remove the old one, then add the
		// new one (in between, GCE treats every instance as healthy).
		if old != "-" {
			oldURL := "projects/" + m.Project + "/global/httpHealthChecks/" + old
			if err := c.write(ctx, m, "TargetPools.RemoveHealthCheck", func(ctx context.Context) (*compute.Operation, error) {
				return c.api.TargetPools.RemoveHealthCheck(ctx, &computepb.RemoveHealthCheckTargetPoolRequest{Project: m.Project, Region: m.Region, TargetPool: tp.Name,
					TargetPoolsRemoveHealthCheckRequestResource: &computepb.TargetPoolsRemoveHealthCheckRequest{HealthChecks: []*computepb.HealthCheckReference{{HealthCheck: ptr(oldURL)}}}})
			}); err != nil && !isNotFound(err) {
				return err
			}
		}
		if err := c.write(ctx, m, "TargetPools.AddHealthCheck", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.TargetPools.AddHealthCheck(ctx, &computepb.AddHealthCheckTargetPoolRequest{Project: m.Project, Region: m.Region, TargetPool: tp.Name,
				TargetPoolsAddHealthCheckRequestResource: &computepb.TargetPoolsAddHealthCheckRequest{HealthChecks: []*computepb.HealthCheckReference{{HealthCheck: ptr(hcURL)}}}})
		}); err != nil && !isConflict(err) {
			return err
		}
	}
	return nil
}

func instanceRefs(urls []string) []*computepb.InstanceReference {
	out := make([]*computepb.InstanceReference, 0, len(urls))
	for _, u := range urls {
		out = append(out, &computepb.InstanceReference{Instance: ptr(u)})
	}
	return out
}

func (c *Cloud) deleteTargetPool(ctx context.Context, m *Model) error {
	return c.remove(ctx, m, "TargetPools.Delete", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.TargetPools.Delete(ctx, &computepb.DeleteTargetPoolRequest{Project: m.Project, Region: m.Region, TargetPool: m.Name})
	})
}

func backendServiceResource(m *Model, b BackendSvc) *computepb.BackendService {
	desc := describe(m.Service, m.ClusterID)
	if b.Shared {
		desc = describe("", m.ClusterID)
	}
	res := &computepb.BackendService{
		Name: ptr(b.Name), Description: ptr(desc), Protocol: ptr(b.Protocol), LoadBalancingScheme: ptr(b.Scheme),
		SessionAffinity: ptr(b.SessionAffinity), HealthChecks: []string{healthCheckURL(m, backendHealthCheckKind(b), b.HealthCheck)},
		ConnectionDraining: &computepb.ConnectionDraining{DrainingTimeoutSec: ptr(b.ConnectionDrainingSec)},
		Backends:           []*computepb.Backend{},
	}
	if b.Network != "" {
		res.Network = ptr(b.Network)
	}
	if b.LocalityLbPolicy != "" {
		res.LocalityLbPolicy = ptr(b.LocalityLbPolicy)
	}
	if b.StrongSessionAffinity {
		res.ConnectionTrackingPolicy = &computepb.BackendServiceConnectionTrackingPolicy{
			EnableStrongAffinity: ptr(true), TrackingMode: ptr("PER_SESSION"), IdleTimeoutSec: ptr(b.ConnectionIdleTimeoutSec)}
	}
	for _, g := range b.Backends {
		res.Backends = append(res.Backends, &computepb.Backend{Group: ptr(g), BalancingMode: ptr("CONNECTION")})
	}
	return res
}

func (c *Cloud) applyBackendService(ctx context.Context, m *Model, b *BackendServiceChange) error {
	if b.BackendService.Shared {
		c.shared.Lock()
		defer c.shared.Unlock()
	}
	res := backendServiceResource(m, b.BackendService)
	if b.Create {
		return c.insert(ctx, m, "RegionBackendServices.Insert", b.BackendService.Name, func(ctx context.Context) (*compute.Operation, error) {
			return c.api.BackendServices.Insert(ctx, &computepb.InsertRegionBackendServiceRequest{Project: m.Project, Region: m.Region, BackendServiceResource: res})
		})
	}
	if b.Fingerprint != "" {
		res.Fingerprint = ptr(b.Fingerprint)
	}
	return c.write(ctx, m, "RegionBackendServices.Patch", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.BackendServices.Patch(ctx, &computepb.PatchRegionBackendServiceRequest{Project: m.Project, Region: m.Region,
			BackendService: b.BackendService.Name, BackendServiceResource: res})
	})
}

func (c *Cloud) createRule(ctx context.Context, m *Model, r ForwardingRule, ip string) error {
	res := &computepb.ForwardingRule{
		Name: ptr(r.Name), Description: ptr(describe(m.Service, m.ClusterID)), IPProtocol: ptr(r.Protocol),
		LoadBalancingScheme: ptr(r.Scheme), Labels: map[string]string{ownerLabel: m.ClusterID},
	}
	if ip != "" {
		res.IPAddress = ptr(ip)
	}
	if r.PortRange != "" {
		res.PortRange = ptr(r.PortRange)
	}
	res.Ports = r.Ports
	if r.AllPorts {
		res.AllPorts = ptr(true)
	}
	if r.Target != "" {
		res.Target = ptr(c.regionURL(m, "targetPools", r.Target))
	}
	if r.BackendService != "" {
		res.BackendService = ptr(c.regionURL(m, "backendServices", r.BackendService))
	}
	if r.NetworkTier != "" {
		res.NetworkTier = ptr(r.NetworkTier)
	}
	if r.Network != "" {
		res.Network = ptr(r.Network)
	}
	if r.Subnetwork != "" {
		res.Subnetwork = ptr(r.Subnetwork)
	}
	if r.AllowGlobalAccess {
		res.AllowGlobalAccess = ptr(true)
	}
	return c.insert(ctx, m, "ForwardingRules.Insert", r.Name, func(ctx context.Context) (*compute.Operation, error) {
		return c.api.ForwardingRules.Insert(ctx, &computepb.InsertForwardingRuleRequest{Project: m.Project, Region: m.Region, ForwardingRuleResource: res})
	})
}

func (c *Cloud) deleteRule(ctx context.Context, m *Model, name string) error {
	return c.remove(ctx, m, "ForwardingRules.Delete", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.ForwardingRules.Delete(ctx, &computepb.DeleteForwardingRuleRequest{Project: m.Project, Region: m.Region, ForwardingRule: name})
	})
}

// setSpec writes the spec hash label on the first rule, with the rule's current label
// fingerprint.
func (c *Cloud) setSpec(ctx context.Context, m *Model) error {
	r, err := c.observeRule(ctx, m, m.Name)
	if err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("forwarding rule %s not found after its creation", m.Name)
	}
	labels := ruleLabels(r.Labels, m)
	return c.write(ctx, m, "ForwardingRules.SetLabels", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.ForwardingRules.SetLabels(ctx, &computepb.SetLabelsForwardingRuleRequest{Project: m.Project, Region: m.Region, Resource: m.Name,
			RegionSetLabelsRequestResource: &computepb.RegionSetLabelsRequest{Labels: labels, LabelFingerprint: ptr(r.LabelFingerprint)}})
	})
}

// labelAddress writes the owner label on the Service's address, with its current label
// fingerprint.
func (c *Cloud) labelAddress(ctx context.Context, m *Model) error {
	a, err := c.getAddress(ctx, m, m.Name)
	if err != nil || a == nil {
		return err
	}
	labels := maps.Clone(a.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ownerLabel] = m.ClusterID
	return c.write(ctx, m, "Addresses.SetLabels", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.AddressLabels.SetLabels(ctx, &computepb.SetLabelsAddressRequest{Project: m.Project, Region: m.Region, Resource: m.Name,
			RegionSetLabelsRequestResource: &computepb.RegionSetLabelsRequest{Labels: labels, LabelFingerprint: ptr(a.LabelFingerprint)}})
	})
}

// healthCheckURL is the partial URL of a health check of the kind.
func healthCheckURL(m *Model, kind, name string) string {
	switch kind {
	case HealthCheckLegacyHTTP:
		return "projects/" + m.Project + "/global/httpHealthChecks/" + name
	case HealthCheckGlobal:
		return "projects/" + m.Project + "/global/healthChecks/" + name
	}
	return "projects/" + m.Project + "/regions/" + m.Region + "/healthChecks/" + name
}
