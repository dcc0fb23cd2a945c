package azurecontract_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/integration/contract"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// The load balancers of the suite's cluster.
const (
	publicLB   = clusterName
	internalLB = clusterName + "-internal"
)

func resourceID(typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s", sub, rg, typ, name)
}

// read decodes a resource from the fake's state; false when it does not exist.
func read[T any](typ, name string, out *T) bool {
	raw, ok := shared.fake.Get(resourceID(typ, name))
	return ok && json.Unmarshal(raw, out) == nil
}

func ruleOf(lb *armnetwork.LoadBalancer, name string) *armnetwork.LoadBalancingRulePropertiesFormat {
	for _, r := range lb.Properties.LoadBalancingRules {
		if strings.EqualFold(*r.Name, name) {
			return r.Properties
		}
	}
	return nil
}

// readLB is a load balancer in the cluster resource group, or nil.
func readLB(name string) *armnetwork.LoadBalancer {
	var lb armnetwork.LoadBalancer
	if !read("loadBalancers", name, &lb) {
		return nil
	}
	return &lb
}

// readPLS is a Private Link Service in resource group group, or nil.
func readPLS(group, name string) *armnetwork.PrivateLinkService {
	raw, ok := shared.fake.Get(fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateLinkServices/%s", sub, group, name))
	var p armnetwork.PrivateLinkService
	if !ok || json.Unmarshal(raw, &p) != nil {
		return nil
	}
	return &p
}

// plsState renders a Private Link Service as "frontend=<name> nat=[<method> <address> <subnet> primary...]
// fqdns=... proxy=... visibility=... autoApproval=...", addresses of Dynamic
// configurations as "dyn" when they are in the subnet.
func plsState(p *armnetwork.PrivateLinkService) string {
	if p == nil || p.Properties == nil {
		return "none"
	}
	pr := p.Properties
	var fes, nat []string
	for _, f := range pr.LoadBalancerFrontendIPConfigurations {
		id := deref(f.ID)
		fes = append(fes, id[strings.LastIndex(id, "/")+1:])
	}
	for _, c := range pr.IPConfigurations {
		cp := c.Properties
		sn := deref(cp.Subnet.ID)
		addr := deref(cp.PrivateIPAddress)
		if deref(cp.PrivateIPAllocationMethod) == "Dynamic" && strings.HasPrefix(addr, "10.242.0.") {
			addr = "dyn"
		}
		nat = append(nat, fmt.Sprintf("%s %s %s %v", deref(cp.PrivateIPAllocationMethod), addr, sn[strings.LastIndex(sn, "/")+1:], deref(cp.Primary)))
	}
	list := func(ps []*string) string {
		var out []string
		for _, s := range ps {
			out = append(out, deref(s))
		}
		return strings.Join(out, " ")
	}
	var vis, auto string
	if pr.Visibility != nil {
		vis = list(pr.Visibility.Subscriptions)
	}
	if pr.AutoApproval != nil {
		auto = list(pr.AutoApproval.Subscriptions)
	}
	return fmt.Sprintf("frontend=%s nat=[%s] fqdns=[%s] proxy=%v visibility=[%s] autoApproval=[%s]",
		strings.Join(fes, ","), strings.Join(nat, "; "), list(pr.Fqdns), deref(pr.EnableProxyProtocol), vis, auto)
}

// readPIP is a public IP in resource group group, or nil.
func readPIP(group, name string) *armnetwork.PublicIPAddress {
	raw, ok := shared.fake.Get(fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/publicIPAddresses/%s", sub, group, name))
	var p armnetwork.PublicIPAddress
	if !ok || json.Unmarshal(raw, &p) != nil {
		return nil
	}
	return &p
}

func findFrontend(lb *armnetwork.LoadBalancer, name string) *armnetwork.FrontendIPConfigurationPropertiesFormat {
	if lb == nil {
		return nil
	}
	for _, f := range lb.Properties.FrontendIPConfigurations {
		if strings.EqualFold(*f.Name, name) {
			return f.Properties
		}
	}
	return nil
}

func findProbe(lb *armnetwork.LoadBalancer, name string) *armnetwork.ProbePropertiesFormat {
	if lb == nil {
		return nil
	}
	for _, p := range lb.Properties.Probes {
		if strings.EqualFold(*p.Name, name) {
			return p.Properties
		}
	}
	return nil
}

// rule is the named load balancing rule of lb, or an error.
func rule(lb *armnetwork.LoadBalancer, name string) (*armnetwork.LoadBalancingRulePropertiesFormat, error) {
	if lb == nil {
		return nil, fmt.Errorf("no load balancer")
	}
	if r := ruleOf(lb, name); r != nil {
		return r, nil
	}
	return nil, fmt.Errorf("no rule %s among %v", name, partNames(lb))
}

// probeOfRule renders the probe a rule uses: "Proto:port/path every Ns xN", or "none".
func probeOfRule(lb *armnetwork.LoadBalancer, r *armnetwork.LoadBalancingRulePropertiesFormat) string {
	if r.Probe == nil {
		return "none"
	}
	id := *r.Probe.ID
	p := findProbe(lb, id[strings.LastIndex(id, "/")+1:])
	if p == nil {
		return "missing " + id
	}
	s := fmt.Sprintf("%s:%d", *p.Protocol, *p.Port)
	if p.RequestPath != nil {
		s += *p.RequestPath
	}
	return fmt.Sprintf("%s every %ds x%d", s, deref(p.IntervalInSeconds), deref(p.ProbeThreshold))
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// partNames lists the names of lb's frontends, rules and probes.
func partNames(lb *armnetwork.LoadBalancer) []string {
	var out []string
	for _, f := range lb.Properties.FrontendIPConfigurations {
		out = append(out, "frontend "+*f.Name)
	}
	for _, r := range lb.Properties.LoadBalancingRules {
		out = append(out, "rule "+*r.Name)
	}
	for _, p := range lb.Properties.Probes {
		out = append(out, "probe "+*p.Name)
	}
	return out
}

// nsgRules are the cluster NSG's rules by name.
func nsgRules() map[string]*armnetwork.SecurityRulePropertiesFormat {
	var nsg armnetwork.SecurityGroup
	out := map[string]*armnetwork.SecurityRulePropertiesFormat{}
	if read("networkSecurityGroups", nsgName, &nsg) {
		for _, r := range nsg.Properties.SecurityRules {
			out[*r.Name] = r.Properties
		}
	}
	return out
}

// serviceNSGRules renders the Service's NSG rules sorted:
// "<name minus prefix> <access> <proto> <sources> -> <destinations>:<ports>".
func serviceNSGRules(svc *v1.Service) string {
	p := azure.ServicePrefix(svc)
	var out []string
	for name, r := range nsgRules() {
		if !strings.HasPrefix(strings.ToLower(name), strings.ToLower(p)) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s %s -> %s:%s", strings.TrimPrefix(name, p), *r.Access, *r.Protocol,
			joined(r.SourceAddressPrefix, r.SourceAddressPrefixes), joined(r.DestinationAddressPrefix, r.DestinationAddressPrefixes),
			joined(r.DestinationPortRange, r.DestinationPortRanges)))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// joined renders an ARM single/plural field pair as a sorted comma-separated list.
func joined(one *string, many []*string) string {
	var all []string
	if one != nil && *one != "" {
		all = append(all, *one)
	}
	for _, m := range many {
		all = append(all, *m)
	}
	slices.Sort(all)
	return strings.Join(all, ",")
}

// owned is what the cloud holds for the Service, by kind: frontends, rules and probes per
// load balancer ("frontend@<lb>"), NSG rules, and managed public IPs and Private Link
// Services in any resource group (tagged with the Service).
func owned(svc *v1.Service) []contract.Resource {
	p := strings.ToLower(azure.ServicePrefix(svc))
	var out []contract.Resource
	for _, name := range []string{publicLB, internalLB} {
		lb := readLB(name)
		if lb == nil {
			continue
		}
		for _, part := range partNames(lb) {
			kind, n, _ := strings.Cut(part, " ")
			if strings.HasPrefix(strings.ToLower(n), p) {
				out = append(out, contract.Resource{Kind: kind + "@" + name, Name: n})
			}
		}
	}
	for n := range nsgRules() {
		if strings.HasPrefix(strings.ToLower(n), p) {
			out = append(out, contract.Resource{Kind: "nsg rule", Name: n})
		}
	}
	key := contract.Key(svc)
	for _, r := range shared.fake.Resources() {
		if strings.EqualFold(r.Type, "Microsoft.Network/publicIPAddresses") && slices.Contains(strings.Split(r.Tags["k8s-azure-service"], ","), key) {
			out = append(out, contract.Resource{Kind: "managed public IP", Name: r.ID})
		}
		if strings.EqualFold(r.Type, "Microsoft.Network/privateLinkServices") && r.Tags["k8s-azure-owner-service"] == key {
			out = append(out, contract.Resource{Kind: "private link service", Name: r.ID})
		}
	}
	return out
}

// ownedIs checks what the cloud holds for svc against kinds exactly (kinds not listed must
// be absent).
func ownedIs(svc *v1.Service, kinds map[string]int) error {
	return contract.OwnedCounts(cloud{}, kinds, true)(nil, svc)
}

// Short names for the ARM types the checks look at.
type (
	armLB   = armnetwork.LoadBalancer
	armRule = armnetwork.LoadBalancingRulePropertiesFormat
	armPIP  = armnetwork.PublicIPAddress
)
