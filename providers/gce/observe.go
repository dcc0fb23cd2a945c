package gce

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
)

// Observed is what the cloud holds for one Service, in model terms.
type Observed struct {
	// Rules are the forwarding rules <lb> and <lb>-udp that exist, by name.
	Rules map[string]ObservedRule
	// Address is the address named <lb>, nil when none.
	Address *ObservedAddress
	// UserAddress is the user's reserved address the Service asks for (by name, or by
	// spec.loadBalancerIP when not ours), nil when none.
	UserAddress *ObservedAddress
	TargetPool  *ObservedTargetPool
	// BackendServices are the desired and the currently used backend services, by name.
	BackendServices map[string]ObservedBackendService
	// HealthChecks are the desired and the currently used health checks, by hcKey.
	HealthChecks map[string]ObservedHealthCheck
	// Firewalls are by name.
	Firewalls map[string]ObservedFirewall
	// Groups are the cluster's instance groups by zone (desired zones only).
	Groups map[string]ObservedGroup
}

// ObservedRule is a forwarding rule and its state.
type ObservedRule struct {
	Rule             ForwardingRule
	IP               string
	Owned            bool
	Labels           map[string]string
	LabelFingerprint string
	// Fingerprint guards patches.
	Fingerprint string
}

// ObservedAddress is a reserved address.
type ObservedAddress struct {
	Address
	Owned            bool
	Labels           map[string]string
	LabelFingerprint string
}

// ObservedTargetPool is a target pool.
type ObservedTargetPool struct {
	TargetPool
	Owned bool
}

// ObservedBackendService is a backend service.
type ObservedBackendService struct {
	BackendSvc
	Owned       bool
	Fingerprint string
}

// ObservedHealthCheck is a health check.
type ObservedHealthCheck struct {
	HealthCheck
	Owned bool
	desc  string
}

// ObservedFirewall is a firewall.
type ObservedFirewall struct {
	Firewall
	Owned bool
}

// ObservedGroup is the instance group of one zone.
type ObservedGroup struct {
	Exists    bool
	Owned     bool
	Instances []string
}

func hcKey(kind, name string) string { return kind + "/" + name }

// observeRule reads one forwarding rule; nil when it does not exist.
func (c *Cloud) observeRule(ctx context.Context, m *Model, name string) (*ObservedRule, error) {
	var fr *computepb.ForwardingRule
	err := c.limits.read(ctx, "ForwardingRules.Get", func(ctx context.Context) (err error) {
		fr, err = c.api.ForwardingRules.Get(ctx, &computepb.GetForwardingRuleRequest{Project: m.Project, Region: m.Region, ForwardingRule: name})
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o := &ObservedRule{
		IP: fr.GetIPAddress(), Owned: owns(m, name, fr.GetDescription()) && labelOwner(fr.GetLabels(), m),
		Labels: fr.GetLabels(), LabelFingerprint: fr.GetLabelFingerprint(), Fingerprint: fr.GetFingerprint(),
		Rule: ForwardingRule{
			Name: fr.GetName(), Protocol: fr.GetIPProtocol(), PortRange: fr.GetPortRange(), Ports: sortPorts(fr.GetPorts()),
			AllPorts: fr.GetAllPorts(), Scheme: fr.GetLoadBalancingScheme(), NetworkTier: fr.GetNetworkTier(),
			Network: trimURL(fr.GetNetwork()), Subnetwork: trimURL(fr.GetSubnetwork()), AllowGlobalAccess: fr.GetAllowGlobalAccess(),
		},
	}
	if t := fr.GetTarget(); t != "" {
		o.Rule.Target = lastSegment(t)
	}
	if b := fr.GetBackendService(); b != "" {
		o.Rule.BackendService = lastSegment(b)
	}
	if o.Rule.Scheme != SchemeExternal {
		o.Rule.NetworkTier = ""
	}
	return o, nil
}

// observe reads everything the model names, and what the Service used before (the health
// check and backend service its target pool or backend service points at), for Diff.
func (c *Cloud) observe(ctx context.Context, m *Model, primary *ObservedRule) (*Observed, error) {
	o := &Observed{
		Rules: map[string]ObservedRule{}, BackendServices: map[string]ObservedBackendService{},
		HealthChecks: map[string]ObservedHealthCheck{}, Firewalls: map[string]ObservedFirewall{}, Groups: map[string]ObservedGroup{},
	}
	if primary != nil {
		o.Rules[primary.Rule.Name] = *primary
	}
	skip := skippedFrom(ctx)
	for _, name := range []string{m.Name, udpRuleName(m.Name)} {
		if _, done := o.Rules[name]; done || name == m.Name && primary != nil || skip.skip("ForwardingRules", name) {
			continue
		}
		r, err := c.observeRule(ctx, m, name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			o.Rules[name] = *r
		}
	}
	if err := c.observeAddresses(ctx, m, o); err != nil {
		return nil, err
	}
	if err := c.observeBackends(ctx, m, o); err != nil {
		return nil, err
	}
	hcs := []HealthCheck{m.HealthCheck}
	if o.TargetPool != nil && o.TargetPool.HealthCheck != "" {
		hcs = append(hcs, HealthCheck{Kind: HealthCheckLegacyHTTP, Name: o.TargetPool.HealthCheck})
	}
	for _, b := range o.BackendServices {
		if b.HealthCheck != "" {
			hcs = append(hcs, HealthCheck{Kind: backendHealthCheckKind(b.BackendSvc), Name: b.HealthCheck})
		}
	}
	for _, hc := range hcs {
		if _, done := o.HealthChecks[hcKey(hc.Kind, hc.Name)]; done {
			continue
		}
		got, err := c.getHealthCheck(ctx, m.Project, m.Region, hc.Kind, hc.Name)
		if err != nil {
			return nil, err
		}
		if got != nil {
			got.Owned = owns(m, got.Name, got.desc)
			got.Shared = got.Name != m.Name
			o.HealthChecks[hcKey(hc.Kind, hc.Name)] = *got
		}
	}
	names := []string{}
	for _, f := range m.Firewalls {
		names = append(names, f.Name)
	}
	for _, hc := range o.HealthChecks {
		names = append(names, hcFirewallName(m.Name, m.ClusterID, hc.Name != m.Name, hc.Kind == HealthCheckLegacyHTTP))
	}
	own := map[string]bool{}
	for _, f := range m.Firewalls {
		own[f.Name] = !f.Shared
	}
	for _, n := range names {
		if _, done := o.Firewalls[n]; done || own[n] && skip.skip("Firewalls", n) {
			continue
		}
		f, err := c.getFirewall(ctx, m.Project, n)
		if err != nil {
			return nil, err
		}
		if f != nil {
			f.Owned = owns(m, n, f.desc)
			o.Firewalls[n] = f.ObservedFirewall
		}
	}
	for _, g := range m.InstanceGroups {
		og, err := c.observeGroup(ctx, m, g)
		if err != nil {
			return nil, err
		}
		o.Groups[g.Zone] = og
	}
	return o, nil
}

func (c *Cloud) observeAddresses(ctx context.Context, m *Model, o *Observed) error {
	if !m.Address.UserOwned && m.Address.IP == "" && skippedFrom(ctx).skip("Addresses", m.Name) {
		return nil
	}
	a, err := c.getAddress(ctx, m, m.Name)
	if err != nil {
		return err
	}
	o.Address = a
	switch {
	case m.Address.UserOwned:
		if o.UserAddress, err = c.getAddress(ctx, m, m.Address.Name); err != nil {
			return err
		}
	case m.Address.IP != "" && (a == nil || a.IP != m.Address.IP):
		var found *computepb.Address
		err := c.limits.read(ctx, "Addresses.List", func(ctx context.Context) error {
			it := c.api.Addresses.List(ctx, &computepb.ListAddressesRequest{Project: m.Project, Region: m.Region, Filter: ptr(fmt.Sprintf("address = %q", m.Address.IP))})
			for {
				ad, err := it.Next()
				if err == iterator.Done {
					return nil
				}
				if err != nil {
					return err
				}
				if ad.GetAddress() == m.Address.IP {
					found = ad
				}
			}
		})
		if err != nil {
			return err
		}
		if found != nil && found.GetName() != m.Name {
			o.UserAddress = fromAddress(found, m)
		}
	}
	return nil
}

func (c *Cloud) getAddress(ctx context.Context, m *Model, name string) (*ObservedAddress, error) {
	var a *computepb.Address
	err := c.limits.read(ctx, "Addresses.Get", func(ctx context.Context) (err error) {
		a, err = c.api.Addresses.Get(ctx, &computepb.GetAddressRequest{Project: m.Project, Region: m.Region, Address: name})
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return fromAddress(a, m), nil
}

func fromAddress(a *computepb.Address, m *Model) *ObservedAddress {
	o := &ObservedAddress{
		Address: Address{Name: a.GetName(), IP: a.GetAddress(), Type: a.GetAddressType(), Subnetwork: trimURL(a.GetSubnetwork()), Purpose: a.GetPurpose()},
		Owned:   owns(m, a.GetName(), a.GetDescription()) && labelOwner(a.GetLabels(), m),
		Labels:  a.GetLabels(), LabelFingerprint: a.GetLabelFingerprint(),
	}
	if o.Type == "" {
		o.Type = SchemeExternal
	}
	if o.Type == SchemeExternal {
		o.NetworkTier = a.GetNetworkTier()
	}
	return o
}

func (c *Cloud) observeBackends(ctx context.Context, m *Model, o *Observed) error {
	skip := skippedFrom(ctx)
	if !skip.skip("TargetPools", m.Name) {
		tp, err := c.observeTargetPool(ctx, m)
		if err != nil {
			return err
		}
		o.TargetPool = tp
	}
	sharedName := ""
	if b := m.BackendService; b != nil && b.Shared {
		sharedName = b.Name
	}
	names := []string{m.Name}
	if m.BackendService != nil {
		names = append(names, m.BackendService.Name)
	}
	for _, r := range o.Rules {
		if r.Rule.BackendService != "" {
			names = append(names, r.Rule.BackendService)
		}
	}
	for _, n := range names {
		if _, done := o.BackendServices[n]; done || n == m.Name && n != sharedName && skip.skip("RegionBackendServices", n) {
			continue
		}
		var bs *computepb.BackendService
		err := c.limits.read(ctx, "RegionBackendServices.Get", func(ctx context.Context) (err error) {
			bs, err = c.api.BackendServices.Get(ctx, &computepb.GetRegionBackendServiceRequest{Project: m.Project, Region: m.Region, BackendService: n})
			return err
		})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		o.BackendServices[n] = fromBackendService(bs, m)
		if o.BackendServices[n].HealthCheckGlobal {
			c.mu.Lock()
			c.globalNodeCheck = true
			c.mu.Unlock()
		}
	}
	return nil
}

// observeTargetPool reads the target pool <lb>; nil when it does not exist.
func (c *Cloud) observeTargetPool(ctx context.Context, m *Model) (*ObservedTargetPool, error) {
	var tp *computepb.TargetPool
	err := c.limits.read(ctx, "TargetPools.Get", func(ctx context.Context) (err error) {
		tp, err = c.api.TargetPools.Get(ctx, &computepb.GetTargetPoolRequest{Project: m.Project, Region: m.Region, TargetPool: m.Name})
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o := &ObservedTargetPool{Owned: owns(m, tp.GetName(), tp.GetDescription()),
		TargetPool: TargetPool{Name: tp.GetName(), SessionAffinity: tp.GetSessionAffinity(), Instances: []string{}}}
	for _, i := range tp.GetInstances() {
		o.Instances = append(o.Instances, trimURL(i))
	}
	slices.Sort(o.Instances)
	if hcs := tp.GetHealthChecks(); len(hcs) > 0 {
		o.HealthCheck = lastSegment(hcs[0])
	}
	return o, nil
}

func fromBackendService(bs *computepb.BackendService, m *Model) ObservedBackendService {
	b := ObservedBackendService{
		Owned: owns(m, bs.GetName(), bs.GetDescription()), Fingerprint: bs.GetFingerprint(),
		BackendSvc: BackendSvc{
			Name: bs.GetName(), Shared: bs.GetName() != m.Name, Protocol: bs.GetProtocol(), Scheme: bs.GetLoadBalancingScheme(),
			SessionAffinity: bs.GetSessionAffinity(), Network: trimURL(bs.GetNetwork()), Backends: []string{},
			ConnectionDrainingSec: bs.GetConnectionDraining().GetDrainingTimeoutSec(), LocalityLbPolicy: bs.GetLocalityLbPolicy(),
			StrongSessionAffinity:    bs.GetConnectionTrackingPolicy().GetEnableStrongAffinity(),
			ConnectionIdleTimeoutSec: bs.GetConnectionTrackingPolicy().GetIdleTimeoutSec(),
		},
	}
	if hcs := bs.GetHealthChecks(); len(hcs) > 0 {
		b.HealthCheck = lastSegment(hcs[0])
		b.HealthCheckGlobal = strings.Contains(hcs[0], "/global/healthChecks/")
	}
	for _, be := range bs.GetBackends() {
		b.Backends = append(b.Backends, trimURL(be.GetGroup()))
	}
	slices.Sort(b.Backends)
	return b
}

// getHealthCheck reads a health check of either kind; nil when it does not exist. Owned is
// left for the caller, which knows the Service.
func (c *Cloud) getHealthCheck(ctx context.Context, project, region, kind, name string) (*ObservedHealthCheck, error) {
	var o *ObservedHealthCheck
	var desc string
	var err error
	if kind == HealthCheckLegacyHTTP {
		var hc *legacyHTTPHealthCheck
		err = c.limits.read(ctx, "HttpHealthChecks.Get", func(ctx context.Context) (err error) {
			hc, err = c.api.HTTPHealthChecks.Get(ctx, project, name)
			return err
		})
		if err == nil {
			desc = hc.Description
			o = &ObservedHealthCheck{HealthCheck: HealthCheck{Name: hc.Name, Kind: kind, Port: hc.Port, RequestPath: hc.RequestPath,
				CheckIntervalSec: hc.CheckIntervalSec, TimeoutSec: hc.TimeoutSec, HealthyThreshold: hc.HealthyThreshold, UnhealthyThreshold: hc.UnhealthyThreshold}}
		}
	} else {
		var hc *computepb.HealthCheck
		if kind == HealthCheckGlobal {
			err = c.limits.read(ctx, "HealthChecks.Get", func(ctx context.Context) (err error) {
				hc, err = c.api.HealthChecks.Get(ctx, &computepb.GetHealthCheckRequest{Project: project, HealthCheck: name})
				return err
			})
		} else {
			err = c.limits.read(ctx, "RegionHealthChecks.Get", func(ctx context.Context) (err error) {
				hc, err = c.api.RegionHealthChecks.Get(ctx, &computepb.GetRegionHealthCheckRequest{Project: project, Region: region, HealthCheck: name})
				return err
			})
		}
		if err == nil {
			desc = hc.GetDescription()
			o = &ObservedHealthCheck{HealthCheck: HealthCheck{Name: hc.GetName(), Kind: kind, Port: hc.GetHttpHealthCheck().GetPort(),
				RequestPath: hc.GetHttpHealthCheck().GetRequestPath(), CheckIntervalSec: hc.GetCheckIntervalSec(), TimeoutSec: hc.GetTimeoutSec(),
				HealthyThreshold: hc.GetHealthyThreshold(), UnhealthyThreshold: hc.GetUnhealthyThreshold()}}
		}
	}
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o.Shared = parseDesc(desc).Service == ""
	o.desc = desc
	return o, nil
}

// observedFirewall carries the raw description next to the model.
type observedFirewall struct {
	ObservedFirewall
	desc string
}

func (c *Cloud) getFirewall(ctx context.Context, project, name string) (*observedFirewall, error) {
	var fw *computepb.Firewall
	err := c.limits.read(ctx, "Firewalls.Get", func(ctx context.Context) (err error) {
		fw, err = c.api.Firewalls.Get(ctx, &computepb.GetFirewallRequest{Project: project, Firewall: name})
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f := Firewall{Name: fw.GetName(), Network: trimURL(fw.GetNetwork()), SourceRanges: slices.Sorted(slices.Values(fw.GetSourceRanges())),
		TargetTags: slices.Sorted(slices.Values(fw.GetTargetTags())), DestinationRanges: normalizeRanges(fw.GetDestinationRanges())}
	for _, a := range fw.GetAllowed() {
		f.Allowed = append(f.Allowed, Allowed{Protocol: a.GetIPProtocol(), Ports: a.GetPorts()})
	}
	return &observedFirewall{ObservedFirewall: ObservedFirewall{Firewall: f}, desc: fw.GetDescription()}, nil
}

// observeGroup reads one zone's instance group and its members, unless the members this
// process applied last are still fresh.
func (c *Cloud) observeGroup(ctx context.Context, m *Model, g InstanceGroup) (ObservedGroup, error) {
	key := m.Project + "/" + g.Zone + "/" + g.Name
	c.mu.Lock()
	cg, ok := c.groups[key]
	c.mu.Unlock()
	if ok && c.now().Sub(cg.at) < cacheTTL {
		return ObservedGroup{Exists: true, Owned: true, Instances: slices.Clone(cg.instances)}, nil
	}
	var ig *computepb.InstanceGroup
	err := c.limits.read(ctx, "InstanceGroups.Get", func(ctx context.Context) (err error) {
		ig, err = c.api.InstanceGroups.Get(ctx, &computepb.GetInstanceGroupRequest{Project: m.Project, Zone: g.Zone, InstanceGroup: g.Name})
		return err
	})
	if isNotFound(err) {
		return ObservedGroup{}, nil
	}
	if err != nil {
		return ObservedGroup{}, err
	}
	og := ObservedGroup{Exists: true, Owned: owns(m, ig.GetName(), ig.GetDescription()), Instances: []string{}}
	err = c.limits.read(ctx, "InstanceGroups.ListInstances", func(ctx context.Context) error {
		og.Instances = og.Instances[:0]
		it := c.api.InstanceGroups.ListInstances(ctx, &computepb.ListInstancesInstanceGroupsRequest{
			Project: m.Project, Zone: g.Zone, InstanceGroup: g.Name,
			InstanceGroupsListInstancesRequestResource: &computepb.InstanceGroupsListInstancesRequest{InstanceState: ptr("ALL")},
		})
		for {
			in, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			og.Instances = append(og.Instances, lastSegment(in.GetInstance()))
		}
	})
	if err != nil {
		return ObservedGroup{}, err
	}
	slices.Sort(og.Instances)
	if og.Owned {
		// The group is the cluster's: what it holds now serves every other internal
		// Service's reconcile until cacheTTL, as members this process applied do.
		c.mu.Lock()
		c.groups[key] = cachedGroup{instances: slices.Clone(og.Instances), at: c.now()}
		c.mu.Unlock()
	}
	return og, nil
}

func ptr[T any](v T) *T { return &v }

// normalizeRanges writes single addresses as /32 prefixes, sorted; nil when empty.
func normalizeRanges(rs []string) []string {
	var out []string
	for _, r := range rs {
		if p, err := netip.ParsePrefix(r); err == nil {
			out = append(out, p.Masked().String())
		} else if a, err := netip.ParseAddr(r); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()).String())
		} else {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// sortPorts orders port strings by number, as Build does.
func sortPorts(ports []string) []string {
	out := slices.Clone(ports)
	slices.SortFunc(out, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	if len(out) == 0 {
		return nil
	}
	return out
}
