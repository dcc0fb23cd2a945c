package aws

import (
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// BuildNLB returns the desired NLB. It makes no cloud call.
func BuildNLB(in Input) (*NLBModel, error) {
	svc, cfg := in.Service, in.AWS
	m := &NLBModel{
		Name: nameOf(svc, cfg), Service: serviceName(svc), Cluster: in.Settings.Cluster, Internal: cfg.Internal,
		CrossZone: cfg.CrossZone,
		AccessLog: AccessLog{Enabled: cfg.AccessLog.Enabled, Bucket: cfg.AccessLog.Bucket, Prefix: cfg.AccessLog.Prefix},
		Instances: buildInstances(in.Nodes, cfg.TargetNodeLabels),
	}
	if !m.AccessLog.Enabled {
		m.AccessLog = AccessLog{}
	}
	if len(cfg.LBAttributes) > 0 {
		m.Attributes = maps.Clone(cfg.LBAttributes)
	}
	if cfg.NLBTargetType == "ip" {
		return nil, providers.NewUserError(m.Service, "NLB ip targets are not implemented yet (use instance targets)")
	}
	var err error
	if m.Subnets, err = buildSubnets(m.Service, cfg, in.Subnets, in.Settings.Cluster); err != nil {
		return nil, err
	}
	if err := buildNLBAddresses(m, cfg); err != nil {
		return nil, err
	}
	if err := buildNLBListeners(m, svc, cfg); err != nil {
		return nil, err
	}
	sources := nlbSources(m, in.Core)
	if err := buildNLBSecurityGroups(m, in, sources); err != nil {
		return nil, err
	}
	switch {
	case !cfg.ManageBackendSecurityGroupRules:
	case usesBackendGroup(m, in.Settings):
		m.BackendGroup = buildBackendGroup(m, in.Settings)
	default:
		m.NodeRules = nlbNodeRules(m, in, sources)
	}
	m.Tags = map[string]string{}
	maps.Copy(m.Tags, cfg.AdditionalTags)
	m.Tags[tagServiceName] = m.Service
	m.Tags[clusterTag(m.Cluster)] = tagOwned
	m.Tags[providers.ReplaceKeyTag] = nlbReplaceKey(in.Core.ReplaceToken, m, cfg)
	return m, nil
}

// buildNLBAddresses sets what the NLB pins per subnet (Elastic IPs, private IPv4 and IPv6
// addresses, source NAT prefixes) and its IP address type; a list must give one value per
// subnet.
func buildNLBAddresses(m *NLBModel, cfg *annotations.AWSConfig) error {
	m.EIPAllocations = slices.Clone(cfg.EIPAllocations)
	for _, a := range cfg.PrivateIPv4Addresses {
		m.PrivateIPv4Addresses = append(m.PrivateIPv4Addresses, a.String())
	}
	if cfg.IPAddressType == "dualstack" {
		m.IPAddressType = "dualstack"
		for _, a := range cfg.IPv6Addresses {
			m.IPv6Addresses = append(m.IPv6Addresses, a.String())
		}
		m.PrefixForIPv6SourceNAT = cfg.EnablePrefixForIPv6SourceNAT
		if m.PrefixForIPv6SourceNAT {
			m.SourceNATIPv6Prefixes = slices.Clone(cfg.SourceNATIPv6Prefixes)
		}
	}
	for what, list := range map[string][]string{
		"aws-load-balancer-eip-allocations": m.EIPAllocations, "aws-load-balancer-private-ipv4-addresses": m.PrivateIPv4Addresses,
		"aws-load-balancer-ipv6-addresses": m.IPv6Addresses, "aws-load-balancer-source-nat-ipv6-prefixes": m.SourceNATIPv6Prefixes,
	} {
		if len(list) > 0 && len(list) != len(m.Subnets) {
			return providers.NewUserError(m.Service, "%s lists %d values for %d subnets (%s); give one per subnet or set aws-load-balancer-subnets",
				what, len(list), len(m.Subnets), strings.Join(m.Subnets, ","))
		}
	}
	return nil
}

// buildNLBListeners gives each Service port with a nodePort a listener and its target group.
func buildNLBListeners(m *NLBModel, svc *v1.Service, cfg *annotations.AWSConfig) error {
	shared, err := tcpUDPPorts(m.Service, svc, cfg)
	if err != nil {
		return err
	}
	tgs := map[string]TargetGroup{}
	for _, sp := range svc.Spec.Ports {
		if sp.NodePort == 0 {
			continue
		}
		l, tg, err := buildNLBPort(m, svc, cfg, sp, shared[sp.Port])
		if err != nil {
			return err
		}
		if l == nil {
			continue // served by the TCP_UDP listener of its TCP twin
		}
		tgs[tg.Name] = *tg
		m.Listeners = append(m.Listeners, *l)
	}
	if len(m.Listeners) == 0 {
		return providers.NewUserError(m.Service, "no port with a nodePort: instance targets need NodePorts")
	}
	slices.SortFunc(m.Listeners, func(a, b NLBListener) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), strings.Compare(a.Protocol, b.Protocol))
	})
	for _, k := range slices.Sorted(maps.Keys(tgs)) {
		m.TargetGroups = append(m.TargetGroups, tgs[k])
	}
	return nil
}

// buildNLBPort is the listener and target group of one Service port; shared says the port
// also has a UDP twin (one TCP_UDP listener serves both). A nil listener means the port is
// the UDP twin.
func buildNLBPort(m *NLBModel, svc *v1.Service, cfg *annotations.AWSConfig, sp v1.ServicePort, shared bool) (*NLBListener, *TargetGroup, error) {
	proto := string(cmp.Or(sp.Protocol, v1.ProtocolTCP))
	if proto != "TCP" && proto != "UDP" {
		return nil, nil, providers.NewUserError(m.Service, "port %d: protocol %s is not supported by an NLB (TCP and UDP only)", sp.Port, proto)
	}
	if shared {
		if proto == "UDP" {
			return nil, nil, nil
		}
		proto = "TCP_UDP"
	}
	l := NLBListener{Port: sp.Port, Protocol: proto}
	tgProto := proto
	if cfg.SSL.Enabled(sp) && !shared {
		cert := ""
		if len(cfg.SSL.Certificates) > 0 {
			cert = cfg.SSL.Certificates[0]
		}
		l.Protocol, l.Certificate, l.SSLPolicy = "TLS", cert, cfg.SSL.NegotiationPolicy
		if cfg.ALPNPolicy != alpnNone {
			l.ALPNPolicy = cfg.ALPNPolicy
		}
		if cfg.SSL.BackendProtocol == "ssl" {
			tgProto = "TLS"
		}
	}
	hcBase := cfg.HealthCheck
	hc := NLBHealthCheck{
		Protocol: hcBase.Protocol, Port: hcBase.Port, Path: hcBase.Path, Interval: int32(hcBase.Interval),
		Timeout: int32(hcBase.Timeout), HealthyThreshold: int32(hcBase.HealthyThreshold), UnhealthyThreshold: int32(hcBase.UnhealthyThreshold),
	}
	if isHTTP(hc.Protocol) && hcBase.SuccessCodes != defaultSuccessCodes {
		hc.SuccessCodes = hcBase.SuccessCodes
	}
	if hc.Port == "" {
		return nil, nil, fmt.Errorf("service %s: %w", m.Service, errPortPending)
	}
	tg := TargetGroup{Protocol: tgProto, Port: sp.NodePort, HealthCheck: hc, Attributes: tgAttributes(cfg, sp.Port)}
	tg.Name = targetGroupName(svc, m.Cluster, tg)
	l.TargetGroup = tg.Name
	return &l, &tg, nil
}

// tgAttributes are the attributes of the target group of Service port port.
func tgAttributes(cfg *annotations.AWSConfig, port int32) map[string]string {
	out := map[string]string{}
	if per, ok := cfg.TargetGroupAttributesPerPort[port]; ok {
		maps.Copy(out, per)
	} else {
		maps.Copy(out, cfg.TargetGroupAttributes)
	}
	if cfg.ProxyProtocol || slices.Contains(cfg.ProxyProtocolPerTargetGroup, port) {
		out["proxy_protocol_v2.enabled"] = "true"
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// targetGroupName is k8s-<ns8>-<name8>-<hash10>, the hash over the fields a target group
// cannot change (protocol, port, health check protocol).
func targetGroupName(svc *v1.Service, cluster string, tg TargetGroup) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, strings.ToLower(s))
	}
	h := sha1.Sum([]byte(strings.Join([]string{cluster, svc.Namespace, svc.Name, string(svc.UID), tg.Protocol, strconv.Itoa(int(tg.Port)), tg.HealthCheck.Protocol}, "/")))
	ns, name := clean(svc.Namespace), clean(svc.Name)
	return fmt.Sprintf("k8s-%.8s-%.8s-%.10s", ns, name, hex.EncodeToString(h[:]))
}

// tcpUDPPorts are the Service ports that have a TCP and a UDP entry, served by one TCP_UDP
// listener when enable-tcp-udp-listener is true (AWS allows one listener per port). The two
// entries must share their nodePort (Kubernetes allocates one for both) and the port must
// not terminate TLS.
func tcpUDPPorts(service string, svc *v1.Service, cfg *annotations.AWSConfig) (map[int32]bool, error) {
	if !cfg.EnableTCPUDPListener {
		return nil, nil
	}
	seen := map[int32]v1.ServicePort{}
	out := map[int32]bool{}
	for _, sp := range svc.Spec.Ports {
		other, ok := seen[sp.Port]
		if !ok {
			seen[sp.Port] = sp
			continue
		}
		if cmp.Or(other.Protocol, v1.ProtocolTCP) == cmp.Or(sp.Protocol, v1.ProtocolTCP) {
			continue
		}
		tcp := other
		if sp.Protocol != v1.ProtocolUDP {
			tcp = sp
		}
		switch {
		case other.NodePort != sp.NodePort:
			return nil, providers.NewUserError(service, "port %d: its TCP and UDP entries have nodePorts %d and %d; a TCP_UDP listener needs one nodePort for both", sp.Port, other.NodePort, sp.NodePort)
		case cfg.SSL.Enabled(tcp):
			return nil, providers.NewUserError(service, "port %d: a TLS listener cannot also serve UDP; leave the port out of aws-load-balancer-ssl-ports", sp.Port)
		}
		out[sp.Port] = true
	}
	return out, nil
}

// nlbSources are the client CIDRs: the source ranges, plus ::/0 when they are the default
// and the NLB is dualstack (as aws-load-balancer-controller does).
func nlbSources(m *NLBModel, core annotations.CoreConfig) []string {
	var out []string
	for _, p := range core.SourceRanges {
		out = append(out, p.String())
	}
	if m.IPAddressType == "dualstack" && core.SourceRangesFrom == "default" && !slices.Contains(out, "::/0") {
		out = append(out, "::/0")
	}
	return out
}

// buildNLBSecurityGroups decides the NLB's groups: none with disable-nlb-sg, the user's with
// aws-load-balancer-security-groups, the managed one when the cloud config says
// NLBSecurityGroupMode = Managed, else none (upstream's default, kept for existing NLBs).
// Keys that only act on the NLB's groups are errors when it has none and nothing said so.
func buildNLBSecurityGroups(m *NLBModel, in Input, sources []string) error {
	cfg := in.AWS
	switch {
	case cfg.DisableNLBSecurityGroups:
		return nil // the parser warned about the keys this makes moot
	case len(cfg.SecurityGroups) > 0:
		m.SecurityGroups = slices.Sorted(slices.Values(cfg.SecurityGroups))
	case in.Settings.NLBManagedSecurityGroups:
		m.ManagedSecurityGroup = nlbManagedGroup(m, cfg, sources)
	default:
		hint := "set NLBSecurityGroupMode = Managed in the cloud config's [Global] section, or list groups in " + annotations.AWSSecurityGroups.Key
		if len(cfg.SecurityGroupPrefixLists) > 0 {
			return providers.NewUserError(m.Service, "%s needs the NLB's managed security group, and this NLB has none: %s", annotations.AWSSecurityGroupPrefixLists.Key, hint)
		}
		if !cfg.InboundSGRulesOnPrivateLinkTraffic {
			return providers.NewUserError(m.Service, "%s applies to an NLB's security groups, and this NLB has none: %s", annotations.AWSInboundSGRulesOnPrivateLink.Key, hint)
		}
		return nil
	}
	if !cfg.InboundSGRulesOnPrivateLinkTraffic {
		m.PrivateLinkInboundRules = "off"
	}
	return nil
}

// nlbManagedGroup is the managed group: each listener's port from each source range and
// prefix list, plus ICMP fragmentation-needed (path MTU discovery) from the source ranges
// unless enable-icmp-for-path-mtu-discovery is off.
func nlbManagedGroup(m *NLBModel, cfg *annotations.AWSConfig, sources []string) *SecurityGroup {
	sg := &SecurityGroup{
		Name:        securityGroupName(m.Name),
		Description: fmt.Sprintf("Security group for Kubernetes NLB %s (%s)", m.Name, m.Service),
		Tags:        map[string]string{clusterTag(m.Cluster): tagOwned, tagServiceName: m.Service},
	}
	for _, l := range m.Listeners {
		desc := fmt.Sprintf("cloudlb %s: listener %d", m.Service, l.Port)
		for _, proto := range ruleProtocols(l.Protocol) {
			for _, src := range sources {
				sg.Rules = append(sg.Rules, Rule{Protocol: proto, FromPort: l.Port, ToPort: l.Port, CIDR: src, Description: desc})
			}
			for _, pl := range cfg.SecurityGroupPrefixLists {
				sg.Rules = append(sg.Rules, Rule{Protocol: proto, FromPort: l.Port, ToPort: l.Port, PrefixList: pl, Description: desc})
			}
		}
	}
	if cfg.EnableICMPForPathMTUDiscovery {
		desc := fmt.Sprintf("cloudlb %s: path MTU discovery", m.Service)
		for _, src := range sources {
			if p, err := netip.ParsePrefix(src); err == nil && p.Addr().Is6() {
				sg.Rules = append(sg.Rules, Rule{Protocol: "icmpv6", FromPort: 2, ToPort: 0, CIDR: src, Description: desc})
			} else {
				sg.Rules = append(sg.Rules, Rule{Protocol: "icmp", FromPort: 3, ToPort: 4, CIDR: src, Description: desc})
			}
		}
	}
	slices.SortFunc(sg.Rules, func(a, b Rule) int { return strings.Compare(a.key(), b.key()) })
	sg.Rules = slices.CompactFunc(sg.Rules, func(a, b Rule) bool { return a.key() == b.key() })
	return sg
}
