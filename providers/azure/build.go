package azure

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// Upstream's NSG priority range for load balancer rules.
const (
	minPriority = 500
	maxPriority = 4096
)

// Node labels that keep a node out of the backend pool, as upstream.
const (
	labelExcludeLB        = "node.kubernetes.io/exclude-from-external-load-balancers"
	labelControlPlane     = "node-role.kubernetes.io/control-plane"
	labelMaster           = "node-role.kubernetes.io/master"
	labelExcludeLBAzure   = "alpha.service-controller.kubernetes.io/exclude-balancer"
	defaultSharedProbe    = 10256
	sharedProbeInterval   = 5
	sharedProbeThreshold  = 2
	defaultSharedPath     = "/healthz"
	internetTag           = "Internet"
	securityRuleAllow     = "Allow"
	securityRuleDeny      = "Deny"
	securityRuleAnySource = "*"
)

// errPortPending says Kubernetes has not allocated a port Build needs yet.
var errPortPending = errors.New("a nodePort or healthCheckNodePort is not allocated yet")

// Settings are Build's cluster-wide inputs, from the cloud config and the controller.
type Settings struct {
	SubscriptionID string `json:"subscriptionID"`
	// ResourceGroup is the cluster's resource group (the default for public IPs).
	ResourceGroup string `json:"resourceGroup"`
	// LoadBalancerResourceGroup holds the load balancers.
	LoadBalancerResourceGroup string `json:"loadBalancerResourceGroup"`
	Location                  string `json:"location"`
	// Cluster names the tags, the backend pool and managed public IPs.
	Cluster string `json:"cluster"`
	// LoadBalancerName is the base name of the load balancers (cluster name by default).
	LoadBalancerName  string `json:"loadBalancerName"`
	VNetName          string `json:"vnetName"`
	VNetResourceGroup string `json:"vnetResourceGroup"`
	SubnetName        string `json:"subnetName"`
	// SecurityGroupName is the cluster NSG; "" means no NSG rules.
	SecurityGroupName          string `json:"securityGroupName"`
	SecurityGroupResourceGroup string `json:"securityGroupResourceGroup"`
	DisableOutboundSNAT        bool   `json:"disableOutboundSNAT"`
	// PLSResourceGroup holds Private Link Services without azure-pls-resource-group; ""
	// means ResourceGroup.
	PLSResourceGroup string `json:"plsResourceGroup,omitempty"`
	// SharedProbe is the shared probe of externalTrafficPolicy Cluster Services; nil means
	// each port is probed on its nodePort (mode servicenodeport).
	SharedProbe *SharedProbe `json:"sharedProbe,omitempty"`
	// KeepControlPlane puts control-plane nodes in the pool (excludeMasterFromStandardLB false).
	KeepControlPlane bool `json:"keepControlPlane"`
}

// SharedProbe is the cluster-wide kube-proxy health probe.
type SharedProbe struct {
	Port int32  `json:"port"`
	Path string `json:"path"`
}

// Input is everything Build reads.
type Input struct {
	Service  *v1.Service
	Nodes    []*v1.Node
	Azure    *annotations.AzureConfig
	Settings Settings
}

// Build turns a Service into its desired Model without any cloud call.
func Build(in Input) (*Model, error) {
	svc, az, s := in.Service, in.Azure, in.Settings
	if az == nil {
		return nil, fmt.Errorf("azure: no Azure configuration for service %s", serviceName(svc))
	}
	prefix := ServicePrefix(svc)
	x := ids{s.SubscriptionID}
	lbName := loadBalancerName(s.LoadBalancerName, az.Internal)
	m := &Model{
		Service:  serviceName(svc),
		Prefix:   prefix,
		Cluster:  s.Cluster,
		Internal: az.Internal,
		LoadBalancer: LoadBalancer{Name: lbName, ResourceGroup: s.LoadBalancerResourceGroup, Location: s.Location,
			Tags: map[string]string{tagCluster: s.Cluster}},
		Frontend: Frontend{Name: frontendName(prefix, az.InternalSubnet)},
		Pool:     buildPool(in.Nodes, s, x, false),
	}
	if az.Internal {
		subnet := az.InternalSubnet
		if subnet == "" {
			subnet = s.SubnetName
		}
		m.Frontend.SubnetID = x.subnet(s.VNetResourceGroup, s.VNetName, subnet)
		if az.LoadBalancerIPv4.IsValid() {
			m.Frontend.PrivateIP = az.LoadBalancerIPv4.String()
		}
	} else {
		m.PublicIP = buildPublicIP(svc, az, s, prefix, false)
		if m.PublicIP.Name != "" {
			m.Frontend.PublicIPID = x.publicIP(m.PublicIP.ResourceGroup, m.PublicIP.Name)
		}
	}
	for _, a := range az.AdditionalPublicIPs {
		m.AdditionalPublicIPs = append(m.AdditionalPublicIPs, a.String())
	}
	var err error
	if m.Rules, m.Probes, err = buildRules(svc, az, s, prefix); err != nil {
		return nil, err
	}
	if dualStack(svc) {
		if m.IPv6, err = buildIPv6(svc, in.Nodes, az, s, x, m); err != nil {
			return nil, err
		}
	}
	if s.SecurityGroupName != "" {
		m.Security = buildSecurity(svc, az, s, prefix, m.Pool, false)
		if m.IPv6 != nil {
			m.Security.Rules = append(m.Security.Rules, buildSecurity(svc, az, s, prefix, m.IPv6.Pool, true).Rules...)
		}
	}
	m.PLS = buildPLS(az, s, x, m)
	return m, nil
}

// eligible reports whether node belongs in the backend pool: not excluded by label, not a
// control-plane node (unless kept), not being deleted.
func eligible(n *v1.Node, keepControlPlane bool) bool {
	if n == nil || n.DeletionTimestamp != nil {
		return false
	}
	for _, l := range []string{labelExcludeLB, labelExcludeLBAzure} {
		if _, ok := n.Labels[l]; ok {
			return false
		}
	}
	if !keepControlPlane {
		for _, l := range []string{labelControlPlane, labelMaster} {
			if _, ok := n.Labels[l]; ok {
				return false
			}
		}
	}
	return true
}

// nodeIP is the node's first InternalIP of the family.
func nodeIP(n *v1.Node, v6 bool) string {
	for _, a := range n.Status.Addresses {
		if a.Type != v1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Unmap().Is4() != v6 {
			return ip.Unmap().String()
		}
	}
	return ""
}

func buildPool(nodes []*v1.Node, s Settings, x ids, v6 bool) Pool {
	p := Pool{Name: s.Cluster, VirtualNetwork: x.vnet(s.VNetResourceGroup, s.VNetName), Addresses: []PoolAddress{}}
	if v6 {
		p.Name += ipv6Suffix
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if !eligible(n, s.KeepControlPlane) {
			continue
		}
		ip := nodeIP(n, v6)
		if ip == "" || seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		p.Addresses = append(p.Addresses, PoolAddress{Name: n.Name, IP: ip})
	}
	sort.Slice(p.Addresses, func(i, j int) bool { return p.Addresses[i].Name < p.Addresses[j].Name })
	return p
}

func buildPublicIP(svc *v1.Service, az *annotations.AzureConfig, s Settings, prefix string, v6 bool) *PublicIP {
	rg := az.PIPResourceGroup
	if rg == "" {
		rg = s.ResourceGroup
	}
	name, pinned, prefixID, managedName := az.PIPName, az.LoadBalancerIPv4, az.PIPPrefixID, managedPIPName(s.Cluster, prefix, az.PIPPrefixID)
	if v6 {
		name, pinned, prefixID = az.PIPNameIPv6, az.LoadBalancerIPv6, az.PIPPrefixIDIPv6
		managedName = managedPIPName(s.Cluster, prefix, prefixID) + ipv6Suffix
	}
	switch {
	case name != "":
		return &PublicIP{Name: name, ResourceGroup: rg}
	case pinned.IsValid():
		return &PublicIP{ResourceGroup: rg, Address: pinned.String()}
	}
	p := &PublicIP{
		Name: managedName, ResourceGroup: rg, Managed: true, Location: s.Location,
		Tags: map[string]string{}, DNSLabel: az.DNSLabelName, PrefixID: prefixID, IPv6: v6,
	}
	for k, v := range az.PIPTags {
		p.Tags[k] = v
	}
	// Ownership tags win over user tags of the same key.
	p.Tags[tagService] = serviceName(svc)
	p.Tags[tagCluster] = s.Cluster
	if az.DNSLabelName != nil && *az.DNSLabelName != "" {
		p.Tags[tagDNSLabel] = serviceName(svc)
	}
	if len(az.PIPIPTags) > 0 {
		p.IPTags = az.PIPIPTags
	}
	return p
}

// armProtocol is the rule protocol of a Service port protocol.
func armProtocol(p v1.Protocol) string {
	switch p {
	case v1.ProtocolUDP:
		return "Udp"
	case v1.ProtocolSCTP:
		return "All"
	}
	return "Tcp"
}

// buildRules makes the load balancing rules and probes, in spec.ports order.
func buildRules(svc *v1.Service, az *annotations.AzureConfig, s Settings, prefix string) ([]Rule, []Probe, error) {
	local := svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal
	shared := s.SharedProbe != nil && !local
	probes := map[string]Probe{}
	var order []string
	addProbe := func(p Probe) string {
		if _, ok := probes[p.Name]; !ok {
			order = append(order, p.Name)
		}
		probes[p.Name] = p
		return p.Name
	}
	// probeFor returns the probe name of one rule, adding the probe.
	probeFor := func(pc annotations.AzurePortConfig, proto v1.Protocol) (string, error) {
		if pc.NoLBRule || pc.NoProbeRule {
			return "", nil
		}
		if shared {
			// Shared by every Cluster Service: fixed settings, or Services would fight over them.
			return addProbe(Probe{Name: sharedProbeName, Protocol: "Http", Port: s.SharedProbe.Port, RequestPath: s.SharedProbe.Path,
				IntervalSeconds: sharedProbeInterval, Threshold: sharedProbeThreshold, Shared: true}), nil
		}
		pr := pc.Probe
		if pr == nil || (!pr.HealthCheckNodePort && proto != v1.ProtocolTCP) {
			return "", nil
		}
		if pr.Port == 0 {
			return "", errPortPending
		}
		name := ruleName(prefix, az.InternalSubnet, v1.ProtocolTCP, pc.Port)
		if pr.HealthCheckNodePort {
			name = ruleName(prefix, az.InternalSubnet, v1.ProtocolTCP, pr.Port)
		}
		return addProbe(Probe{Name: name, Protocol: pr.Protocol, Port: pr.Port, RequestPath: pr.RequestPath,
			IntervalSeconds: pr.IntervalSeconds, Threshold: pr.NumOfProbe}), nil
	}
	var ports []int32
	for _, sp := range svc.Spec.Ports {
		if !slices.Contains(ports, sp.Port) {
			ports = append(ports, sp.Port)
		}
	}
	rule := func(name, proto string, front, back int32, probe string) Rule {
		r := Rule{Name: name, Protocol: proto, FrontendPort: front, BackendPort: back, FloatingIP: !az.DisableFloatingIP,
			IdleTimeoutMinutes: az.IdleTimeoutMinutes, LoadDistribution: az.LoadDistribution, DisableOutboundSNAT: s.DisableOutboundSNAT, Probe: probe}
		if proto != "Udp" {
			reset := !az.DisableTCPReset
			r.TCPReset = &reset
		}
		return r
	}
	var rules []Rule
	if az.HAPorts && len(svc.Spec.Ports) > 0 {
		first := svc.Spec.Ports[0]
		probe := ""
		for _, p := range ports {
			pc := az.Ports[p]
			n, err := probeFor(pc, v1.ProtocolTCP)
			if err != nil {
				return nil, nil, err
			}
			if n != "" {
				probe = n
				break
			}
		}
		rules = append(rules, rule(ruleName(prefix, az.InternalSubnet, protocolOf(first), first.Port), "All", 0, 0, probe))
	} else {
		for _, p := range ports {
			pc := az.Ports[p]
			if pc.NoLBRule {
				continue
			}
			for _, proto := range pc.Protocols {
				back := pc.Port
				if az.DisableFloatingIP {
					if pc.NodePort == 0 {
						return nil, nil, errPortPending
					}
					back = pc.NodePort
				}
				probe, err := probeFor(pc, proto)
				if err != nil {
					return nil, nil, err
				}
				rules = append(rules, rule(ruleName(prefix, az.InternalSubnet, proto, pc.Port), armProtocol(proto), pc.Port, back, probe))
			}
		}
	}
	out := make([]Probe, 0, len(order))
	for _, n := range order {
		out = append(out, probes[n])
	}
	return rules, out, nil
}

func protocolOf(sp v1.ServicePort) v1.Protocol {
	if sp.Protocol == "" {
		return v1.ProtocolTCP
	}
	return sp.Protocol
}

// buildSecurity makes the Service's NSG rules: per protocol, one allow rule per source
// (Internet, each allowed service tag, the source ranges), plus the deny-all rule.
// v6 builds the rules of the IPv6 frontend, named with the suffix -IPv6.
func buildSecurity(svc *v1.Service, az *annotations.AzureConfig, s Settings, prefix string, pool Pool, v6 bool) *Security {
	sec := &Security{Group: s.SecurityGroupName, ResourceGroup: s.SecurityGroupResourceGroup, Rules: []SecurityRule{}}
	if az.DisableNSGRule {
		return sec
	}
	var dest []string
	toFrontend := !az.DisableFloatingIP
	if az.DisableFloatingIP {
		for _, a := range pool.Addresses {
			dest = append(dest, a.IP)
		}
	}
	for _, a := range az.AdditionalPublicIPs {
		if a.Is4() != v6 {
			dest = append(dest, a.String())
		}
	}
	suffix := ""
	if v6 {
		suffix = ipv6Suffix
	}
	ports := map[string][]int32{}
	var protos []string
	for _, sp := range svc.Spec.Ports {
		pc := az.Ports[sp.Port]
		if pc.NoLBRule && !az.HAPorts {
			continue
		}
		proto := "*"
		switch protocolOf(sp) {
		case v1.ProtocolTCP:
			proto = "Tcp"
		case v1.ProtocolUDP:
			proto = "Udp"
		}
		port := sp.Port
		if az.DisableFloatingIP {
			port = sp.NodePort
		}
		if !slices.Contains(protos, proto) {
			protos = append(protos, proto)
		}
		if !slices.Contains(ports[proto], port) {
			ports[proto] = append(ports[proto], port)
		}
	}
	type source struct {
		label   string
		sources []string
	}
	var sources []source
	if az.AllowFromInternet {
		sources = append(sources, source{internetTag, []string{internetTag}})
	} else {
		var ranges []string
		for _, r := range az.SourceRanges {
			if r.Addr().Is4() != v6 {
				ranges = append(ranges, r.String())
			}
		}
		if len(ranges) > 0 {
			sort.Strings(ranges)
			sources = append(sources, source{"SourceRanges", ranges})
		}
	}
	for _, t := range az.AllowedServiceTags {
		sources = append(sources, source{t, []string{t}})
	}
	for _, proto := range protos {
		ps := slices.Clone(ports[proto])
		slices.Sort(ps)
		portStrs := make([]string, len(ps))
		for i, p := range ps {
			portStrs[i] = strconv.Itoa(int(p))
		}
		label := map[string]string{"Tcp": "TCP", "Udp": "UDP", "*": "SCTP"}[proto]
		for _, src := range sources {
			name := fmt.Sprintf("%s-%s-%s", prefix, label, sanitizeRuleName(src.label))
			if len(name) > maxRuleName-len(suffix) {
				name = name[:maxRuleName-len(suffix)]
			}
			sec.Rules = append(sec.Rules, SecurityRule{Name: name + suffix, Access: securityRuleAllow, Protocol: proto, Sources: src.sources,
				Ports: portStrs, Destinations: slices.Clone(dest), ToFrontend: toFrontend, IPv6: v6})
		}
	}
	if az.DenyAllExceptLoadBalancerSourceRanges {
		sec.Rules = append(sec.Rules, SecurityRule{Name: prefix + "-DenyAll" + suffix, Access: securityRuleDeny, Protocol: "*",
			Sources: []string{securityRuleAnySource}, Ports: []string{"*"}, Destinations: slices.Clone(dest), ToFrontend: toFrontend, IPv6: v6})
	}
	return sec
}

// sanitizeRuleName keeps the characters ARM allows in rule names (letters, digits, '.', '-', '_').
func sanitizeRuleName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
