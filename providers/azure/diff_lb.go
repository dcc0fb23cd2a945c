package azure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// Kinds of load balancer parts, as they appear in ARM IDs.
const (
	kindFrontend = "frontendIPConfigurations"
	kindPool     = "backendAddressPools"
	kindProbe    = "probes"
)

// defaultIdleTimeout is what ARM reports for a rule written without idleTimeoutInMinutes.
const defaultIdleTimeout = 4

// DiffLoadBalancer is the body of a load balancer's PUT in a Plan (lbPlan): a copy of obs
// that holds exactly the Service's desired parts (none when remove is true) and whose cluster
// pool holds m's nodes, every part of other Services as observed, and the list of changes; no
// change means no write, and then the result shares obs's parts (copyOnChange: it is not to be
// modified). obs nil is a load balancer that does not exist yet. A result without frontends
// is to be deleted rather than written. obs is not modified; nothing is called.
func DiffLoadBalancer(obs *armnetwork.LoadBalancer, m *Model, lbID string, remove bool) (*armnetwork.LoadBalancer, []string, error) {
	return diffLB(obs, m, lbID, remove, false)
}

// diffLB is DiffLoadBalancer, with the tags adoptTags keeps too when tags is set (lbPlan).
// The Service's parts are compared with the load balancer as read before anything is
// copied: the load balancer holds every Service's parts (copyOnChange).
func diffLB(obs *armnetwork.LoadBalancer, m *Model, lbID string, remove, tags bool) (*armnetwork.LoadBalancer, []string, error) {
	switch {
	case obs == nil && remove:
		return nil, nil, nil
	case obs == nil:
		lb := newLoadBalancer(m)
		lb.Properties = &armnetwork.LoadBalancerPropertiesFormat{}
		changes := append([]string{"create load balancer " + m.LoadBalancer.Name}, mergeService(lb.Properties, m, lbID, remove)...)
		if tags {
			adoptTags(lb, m, false) // a new load balancer: its creation is the change
		}
		return lb, changes, nil
	}
	return copyOnChange(obs, lbView, func(lb *armnetwork.LoadBalancer) ([]string, error) {
		if lb.Properties == nil {
			lb.Properties = &armnetwork.LoadBalancerPropertiesFormat{}
		}
		changes := mergeService(lb.Properties, m, lbID, remove)
		if tags {
			changes = append(changes, adoptTags(lb, m, remove)...)
		}
		return changes, nil
	})
}

// mergeService makes p hold exactly the Service's parts (none when remove) and, unless
// remove, its nodes in the cluster pools, and says what changed. It replaces p's part lists
// and never modifies a part in them, so p may share them with the load balancer as read.
func mergeService(p *armnetwork.LoadBalancerPropertiesFormat, m *Model, lbID string, remove bool) []string {
	prefix := m.Prefix
	var want wantParts
	if !remove {
		want = desiredParts(m, lbID)
	}
	var changes, c []string
	p.FrontendIPConfigurations, c = mergeParts(p.FrontendIPConfigurations, want.frontends, prefix, "frontend",
		func(f *armnetwork.FrontendIPConfiguration) string { return sval(f.Name) }, frontendEqual)
	changes = append(changes, c...)
	p.Probes, c = mergeParts(p.Probes, want.probes, prefix, "probe",
		func(f *armnetwork.Probe) string { return sval(f.Name) }, probeEqual)
	changes = append(changes, c...)
	p.LoadBalancingRules, c = mergeParts(p.LoadBalancingRules, want.rules, prefix, "rule",
		func(f *armnetwork.LoadBalancingRule) string { return sval(f.Name) }, ruleEqual)
	changes = append(changes, c...)
	changes = append(changes, syncSharedProbe(p, want.probes)...)
	if !remove {
		changes = append(changes, syncPool(p, m.Pool)...)
		if m.IPv6 != nil {
			changes = append(changes, syncPool(p, m.IPv6.Pool)...)
		}
	}
	return changes
}

// wantParts are the Service's parts in ARM form.
type wantParts struct {
	frontends []*armnetwork.FrontendIPConfiguration
	probes    []*armnetwork.Probe
	rules     []*armnetwork.LoadBalancingRule
}

func newLoadBalancer(m *Model) *armnetwork.LoadBalancer {
	tags := map[string]*string{}
	for k, v := range m.LoadBalancer.Tags {
		tags[k] = to.Ptr(v)
	}
	return &armnetwork.LoadBalancer{
		Name:     to.Ptr(m.LoadBalancer.Name),
		Location: to.Ptr(m.LoadBalancer.Location),
		SKU:      &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard), Tier: to.Ptr(armnetwork.LoadBalancerSKUTierRegional)},
		Tags:     tags,
	}
}

func desiredParts(m *Model, lbID string) wantParts {
	w := familyParts(m.Frontend, m.Rules, m.Probes, m.Pool, lbID, false)
	if m.IPv6 != nil {
		v6 := familyParts(m.IPv6.Frontend, m.IPv6.Rules, m.IPv6.Probes, m.IPv6.Pool, lbID, true)
		w.frontends = append(w.frontends, v6.frontends...)
		for _, pr := range v6.probes {
			if sval(pr.Name) != sharedProbeName { // one shared probe serves both families
				w.probes = append(w.probes, pr)
			}
		}
		w.rules = append(w.rules, v6.rules...)
	}
	return w
}

// familyParts are the ARM parts of one IP family's frontend.
func familyParts(front Frontend, rules []Rule, probes []Probe, pool Pool, lbID string, v6 bool) wantParts {
	var w wantParts
	f := &armnetwork.FrontendIPConfigurationPropertiesFormat{}
	if front.PublicIPID != "" {
		f.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to.Ptr(front.PublicIPID)}
	}
	if front.SubnetID != "" {
		f.Subnet = &armnetwork.Subnet{ID: to.Ptr(front.SubnetID)}
		f.PrivateIPAllocationMethod = to.Ptr(armnetwork.IPAllocationMethodDynamic)
		if v6 {
			f.PrivateIPAddressVersion = to.Ptr(armnetwork.IPVersionIPv6)
		}
		if front.PrivateIP != "" {
			f.PrivateIPAllocationMethod = to.Ptr(armnetwork.IPAllocationMethodStatic)
			f.PrivateIPAddress = to.Ptr(front.PrivateIP)
		}
	}
	w.frontends = []*armnetwork.FrontendIPConfiguration{{Name: to.Ptr(front.Name), Properties: f}}
	for _, pr := range probes {
		pp := &armnetwork.ProbePropertiesFormat{
			Protocol: to.Ptr(armnetwork.ProbeProtocol(pr.Protocol)), Port: to.Ptr(pr.Port),
			IntervalInSeconds: to.Ptr(pr.IntervalSeconds), ProbeThreshold: to.Ptr(pr.Threshold),
		}
		if pr.RequestPath != "" {
			pp.RequestPath = to.Ptr(pr.RequestPath)
		}
		w.probes = append(w.probes, &armnetwork.Probe{Name: to.Ptr(pr.Name), Properties: pp})
	}
	for _, r := range rules {
		rp := &armnetwork.LoadBalancingRulePropertiesFormat{
			Protocol: to.Ptr(armnetwork.TransportProtocol(r.Protocol)), FrontendPort: to.Ptr(r.FrontendPort), BackendPort: to.Ptr(r.BackendPort),
			EnableFloatingIP: to.Ptr(r.FloatingIP), EnableTCPReset: r.TCPReset, IdleTimeoutInMinutes: to.Ptr(r.IdleTimeoutMinutes),
			LoadDistribution:        to.Ptr(armnetwork.LoadDistribution(r.LoadDistribution)),
			DisableOutboundSnat:     to.Ptr(r.DisableOutboundSNAT),
			FrontendIPConfiguration: &armnetwork.SubResource{ID: to.Ptr(child(lbID, kindFrontend, front.Name))},
			BackendAddressPool:      &armnetwork.SubResource{ID: to.Ptr(child(lbID, kindPool, pool.Name))},
		}
		if r.Probe != "" {
			rp.Probe = &armnetwork.SubResource{ID: to.Ptr(child(lbID, kindProbe, r.Probe))}
		}
		w.rules = append(w.rules, &armnetwork.LoadBalancingRule{Name: to.Ptr(r.Name), Properties: rp})
	}
	return w
}

// mergeParts keeps the parts of others, keeps our observed parts equal to a wanted one
// (so server-filled fields such as a dynamic private IP survive), replaces our changed
// ones, appends the missing ones and drops our unwanted ones. The shared probe is left to
// syncSharedProbe.
func mergeParts[T any](obs, want []*T, prefix, kind string, name func(*T) string, equal func(o, w *T) bool) ([]*T, []string) {
	var out []*T
	var changes []string
	used := map[int]bool{}
	for _, o := range obs {
		n := name(o)
		if !ownedBy(n, prefix) {
			out = append(out, o)
			continue
		}
		i := slices.IndexFunc(want, func(w *T) bool { return strings.EqualFold(name(w), n) })
		switch {
		case i < 0:
			changes = append(changes, fmt.Sprintf("remove %s %s", kind, n))
		case used[i]: // a duplicate of ours: drop it
			changes = append(changes, fmt.Sprintf("remove duplicate %s %s", kind, n))
		case equal(o, want[i]):
			used[i] = true
			out = append(out, o)
		default:
			used[i] = true
			out = append(out, want[i])
			changes = append(changes, fmt.Sprintf("update %s %s", kind, n))
		}
	}
	for i, w := range want {
		if used[i] {
			continue
		}
		n := name(w)
		if j := slices.IndexFunc(out, func(o *T) bool { return strings.EqualFold(name(o), n) }); j >= 0 {
			// Not ours by prefix (the shared probe): keep the observed one when equal.
			if !equal(out[j], w) {
				out[j] = w
				changes = append(changes, fmt.Sprintf("update %s %s", kind, n))
			}
			continue
		}
		out = append(out, w)
		changes = append(changes, fmt.Sprintf("add %s %s", kind, n))
	}
	return out, changes
}

// syncSharedProbe removes the shared probe once no rule references it; mergeParts added it
// when our rules need it.
func syncSharedProbe(p *armnetwork.LoadBalancerPropertiesFormat, want []*armnetwork.Probe) []string {
	referenced := slices.ContainsFunc(p.LoadBalancingRules, func(r *armnetwork.LoadBalancingRule) bool {
		return r.Properties != nil && r.Properties.Probe != nil && strings.EqualFold(lastSegment(sval(r.Properties.Probe.ID)), sharedProbeName)
	})
	if referenced {
		return nil
	}
	i := slices.IndexFunc(p.Probes, func(pr *armnetwork.Probe) bool { return strings.EqualFold(sval(pr.Name), sharedProbeName) })
	if i < 0 {
		return nil
	}
	p.Probes = slices.Delete(slices.Clone(p.Probes), i, i+1)
	return []string{"remove probe " + sharedProbeName + " (no rule uses it)"}
}

// syncPool makes the cluster pool's addresses the wanted nodes', adding the pool if missing.
func syncPool(p *armnetwork.LoadBalancerPropertiesFormat, want Pool) []string {
	addrs := make([]*armnetwork.LoadBalancerBackendAddress, 0, len(want.Addresses))
	for _, a := range want.Addresses {
		addrs = append(addrs, &armnetwork.LoadBalancerBackendAddress{Name: to.Ptr(a.Name), Properties: &armnetwork.LoadBalancerBackendAddressPropertiesFormat{
			IPAddress: to.Ptr(a.IP), VirtualNetwork: &armnetwork.SubResource{ID: to.Ptr(want.VirtualNetwork)},
		}})
	}
	i := slices.IndexFunc(p.BackendAddressPools, func(b *armnetwork.BackendAddressPool) bool { return strings.EqualFold(sval(b.Name), want.Name) })
	if i < 0 {
		// Clip: p may share the slice with the load balancer as read (mergeService).
		p.BackendAddressPools = append(slices.Clip(p.BackendAddressPools), &armnetwork.BackendAddressPool{Name: to.Ptr(want.Name),
			Properties: &armnetwork.BackendAddressPoolPropertiesFormat{LoadBalancerBackendAddresses: addrs}})
		return []string{fmt.Sprintf("add pool %s with %d addresses", want.Name, len(addrs))}
	}
	pool := p.BackendAddressPools[i]
	var have []*armnetwork.LoadBalancerBackendAddress
	if pool.Properties != nil {
		have = pool.Properties.LoadBalancerBackendAddresses
	}
	if poolKey(have) == poolKey(addrs) {
		return nil
	}
	np := *pool
	props := armnetwork.BackendAddressPoolPropertiesFormat{}
	if pool.Properties != nil {
		props = *pool.Properties
	}
	props.LoadBalancerBackendAddresses = addrs
	np.Properties = &props
	p.BackendAddressPools = slices.Clone(p.BackendAddressPools)
	p.BackendAddressPools[i] = &np
	return []string{fmt.Sprintf("update pool %s: %d -> %d addresses", want.Name, len(have), len(addrs))}
}

// poolKey is the sorted "ip@vnet" list of a pool's addresses.
func poolKey(addrs []*armnetwork.LoadBalancerBackendAddress) string {
	keys := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if a == nil || a.Properties == nil {
			continue
		}
		vnet := ""
		if a.Properties.VirtualNetwork != nil {
			vnet = strings.ToLower(sval(a.Properties.VirtualNetwork.ID))
		}
		keys = append(keys, sval(a.Properties.IPAddress)+"@"+vnet)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

func frontendEqual(o, w *armnetwork.FrontendIPConfiguration) bool {
	op, wp := o.Properties, w.Properties
	if op == nil {
		return false
	}
	if !idEqual(pipID(op.PublicIPAddress), pipID(wp.PublicIPAddress)) || !idEqual(subnetID(op.Subnet), subnetID(wp.Subnet)) {
		return false
	}
	if wp.Subnet == nil {
		return true
	}
	if sval(wp.PrivateIPAllocationMethod) == string(armnetwork.IPAllocationMethodStatic) {
		return strings.EqualFold(sval(op.PrivateIPAllocationMethod), string(armnetwork.IPAllocationMethodStatic)) &&
			sval(op.PrivateIPAddress) == sval(wp.PrivateIPAddress)
	}
	return !strings.EqualFold(sval(op.PrivateIPAllocationMethod), string(armnetwork.IPAllocationMethodStatic))
}

func pipID(p *armnetwork.PublicIPAddress) string {
	if p == nil {
		return ""
	}
	return sval(p.ID)
}

func subnetID(s *armnetwork.Subnet) string {
	if s == nil {
		return ""
	}
	return sval(s.ID)
}

func subID(s *armnetwork.SubResource) string {
	if s == nil {
		return ""
	}
	return sval(s.ID)
}

// idEqual compares ARM IDs, which are case-insensitive.
func idEqual(a, b string) bool { return strings.EqualFold(a, b) }

func probeEqual(o, w *armnetwork.Probe) bool {
	op, wp := o.Properties, w.Properties
	if op == nil {
		return false
	}
	threshold := op.ProbeThreshold
	if threshold == nil {
		threshold = op.NumberOfProbes
	}
	return strings.EqualFold(sval(op.Protocol), sval(wp.Protocol)) &&
		val(op.Port) == val(wp.Port) && sval(op.RequestPath) == sval(wp.RequestPath) &&
		val(op.IntervalInSeconds) == val(wp.IntervalInSeconds) && val(threshold) == val(wp.ProbeThreshold)
}

func ruleEqual(o, w *armnetwork.LoadBalancingRule) bool {
	op, wp := o.Properties, w.Properties
	if op == nil {
		return false
	}
	idle := op.IdleTimeoutInMinutes
	if idle == nil {
		idle = to.Ptr[int32](defaultIdleTimeout)
	}
	dist := sval(op.LoadDistribution)
	if dist == "" {
		dist = string(armnetwork.LoadDistributionDefault)
	}
	if wp.EnableTCPReset != nil && val(op.EnableTCPReset) != *wp.EnableTCPReset {
		return false
	}
	return strings.EqualFold(sval(op.Protocol), sval(wp.Protocol)) &&
		val(op.FrontendPort) == val(wp.FrontendPort) && val(op.BackendPort) == val(wp.BackendPort) &&
		val(op.EnableFloatingIP) == val(wp.EnableFloatingIP) && val(idle) == val(wp.IdleTimeoutInMinutes) &&
		strings.EqualFold(dist, sval(wp.LoadDistribution)) &&
		val(op.DisableOutboundSnat) == val(wp.DisableOutboundSnat) &&
		idEqual(subID(op.FrontendIPConfiguration), subID(wp.FrontendIPConfiguration)) &&
		idEqual(rulePool(op), subID(wp.BackendAddressPool)) &&
		idEqual(subID(op.Probe), subID(wp.Probe))
}

// rulePool is the rule's pool, from backendAddressPool or the first of backendAddressPools.
func rulePool(p *armnetwork.LoadBalancingRulePropertiesFormat) string {
	if p.BackendAddressPool != nil {
		return subID(p.BackendAddressPool)
	}
	if len(p.BackendAddressPools) > 0 {
		return subID(p.BackendAddressPools[0])
	}
	return ""
}

// sval is the value of a possibly nil string-like pointer.
func sval[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// val is the value of a possibly nil pointer, the zero value for nil.
func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
