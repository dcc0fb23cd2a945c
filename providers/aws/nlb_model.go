package aws

import (
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// NLBModel is the desired Network Load Balancer of one Service (instance targets).
type NLBModel struct {
	Name     string   `json:"name"`
	Service  string   `json:"service"`
	Cluster  string   `json:"cluster"`
	Internal bool     `json:"internal"`
	Subnets  []string `json:"subnets"`
	// EIPAllocations and PrivateIPv4Addresses are per subnet, in Subnets order; fixed at
	// creation, so a change replaces the NLB.
	EIPAllocations       []string `json:"eipAllocations,omitempty"`
	PrivateIPv4Addresses []string `json:"privateIPv4Addresses,omitempty"`
	// IPAddressType is "dualstack", or "" for AWS's default ipv4; it changes in place.
	IPAddressType string `json:"ipAddressType,omitempty"`
	// IPv6Addresses and SourceNATIPv6Prefixes are per subnet, in Subnets order, and
	// PrefixForIPv6SourceNAT turns source NAT prefixes on; all three are fixed at creation.
	IPv6Addresses          []string `json:"ipv6Addresses,omitempty"`
	SourceNATIPv6Prefixes  []string `json:"sourceNATIPv6Prefixes,omitempty"`
	PrefixForIPv6SourceNAT bool     `json:"prefixForIPv6SourceNAT,omitempty"`
	// ManagedSecurityGroup is the group k8s-elb-<name> cloudlb owns (cloud config
	// NLBSecurityGroupMode = Managed); SecurityGroups are the user's own groups instead
	// (aws-load-balancer-security-groups), in which no rule is managed. With neither the NLB
	// has no security group; AWS cannot add the first or remove the last one later, so going
	// from groups to none or back replaces the NLB.
	ManagedSecurityGroup *SecurityGroup `json:"managedSecurityGroup,omitempty"`
	SecurityGroups       []string       `json:"securityGroups,omitempty"`
	// PrivateLinkInboundRules is "off" when the groups' inbound rules must not filter
	// PrivateLink traffic; "" is AWS's default, on.
	PrivateLinkInboundRules string `json:"privateLinkInboundRules,omitempty"`
	// Listeners are sorted by port and protocol.
	Listeners []NLBListener `json:"listeners"`
	// TargetGroups are sorted by name.
	TargetGroups []TargetGroup `json:"targetGroups"`
	CrossZone    bool          `json:"crossZone"`
	AccessLog    AccessLog     `json:"accessLog"`
	// Attributes are the other NLB attributes of aws-load-balancer-attributes; a known one
	// dropped later goes back to AWS's default (lbAttributeDefaults).
	Attributes map[string]string `json:"attributes,omitempty"`
	Instances  []string          `json:"instances"`
	// NodeRules are the ingress rules every instance's security group gets (client
	// traffic, health checks, path MTU discovery), sorted by key.
	NodeRules []Rule            `json:"nodeRules"`
	Tags      map[string]string `json:"tags"`
}

// NLBListener is one listener forwarding to one target group.
type NLBListener struct {
	Port        int32  `json:"port"`
	Protocol    string `json:"protocol"`
	Certificate string `json:"certificate,omitempty"`
	SSLPolicy   string `json:"sslPolicy,omitempty"`
	// ALPNPolicy is set on TLS listeners only; "" is AWS's None.
	ALPNPolicy  string `json:"alpnPolicy,omitempty"`
	TargetGroup string `json:"targetGroup"`
}

// TargetGroup is an instance target group on a NodePort. Its name hashes the fields AWS
// cannot change, so a change of those creates a new group.
type TargetGroup struct {
	Name        string         `json:"name"`
	Protocol    string         `json:"protocol"`
	Port        int32          `json:"port"`
	HealthCheck NLBHealthCheck `json:"healthCheck"`
	// Attributes are the target group attributes we set (proxy protocol v2, client IP
	// preservation, ...). A known key dropped later goes back to AWS's default
	// (tgAttributeDefaults), unlike upstream which leaves the last value.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// NLBHealthCheck is a target group's health check.
type NLBHealthCheck struct {
	Protocol           string `json:"protocol"`
	Port               string `json:"port"`
	Path               string `json:"path,omitempty"`
	Interval           int32  `json:"interval"`
	Timeout            int32  `json:"timeout"`
	HealthyThreshold   int32  `json:"healthyThreshold"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold"`
	// SuccessCodes are the HTTP codes of a healthy HTTP or HTTPS check; "" is AWS's
	// default, defaultSuccessCodes.
	SuccessCodes string `json:"successCodes,omitempty"`
}

// defaultSuccessCodes is AWS's matcher of HTTP and HTTPS health checks.
const defaultSuccessCodes = "200-399"

// Hash summarises the whole model; an NLB whose spec-hash tag equals it needs no other read.
func (m *NLBModel) Hash() string {
	b, _ := json.Marshal(m)
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:8])
}

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
			return nil, providers.NewUserError(m.Service, "%s lists %d values for %d subnets (%s); give one per subnet or set aws-load-balancer-subnets",
				what, len(list), len(m.Subnets), strings.Join(m.Subnets, ","))
		}
	}
	cert := ""
	if len(cfg.SSL.Certificates) > 0 {
		cert = cfg.SSL.Certificates[0]
	}
	hcBase := cfg.HealthCheck
	tgs := map[string]TargetGroup{}
	shared, err := tcpUDPPorts(m.Service, svc, cfg)
	if err != nil {
		return nil, err
	}
	for _, sp := range svc.Spec.Ports {
		if sp.NodePort == 0 {
			continue
		}
		proto := string(cmp.Or(sp.Protocol, v1.ProtocolTCP))
		if proto != "TCP" && proto != "UDP" {
			return nil, providers.NewUserError(m.Service, "port %d: protocol %s is not supported by an NLB (TCP and UDP only)", sp.Port, proto)
		}
		if shared[sp.Port] {
			if proto == "UDP" {
				continue // served by the TCP_UDP listener of its TCP twin
			}
			proto = "TCP_UDP"
		}
		l := NLBListener{Port: sp.Port, Protocol: proto}
		tgProto := proto
		if cfg.SSL.Enabled(sp) && !shared[sp.Port] {
			l.Protocol, l.Certificate, l.SSLPolicy = "TLS", cert, cfg.SSL.NegotiationPolicy
			if cfg.ALPNPolicy != alpnNone {
				l.ALPNPolicy = cfg.ALPNPolicy
			}
			if cfg.SSL.BackendProtocol == "ssl" {
				tgProto = "TLS"
			}
		}
		hc := NLBHealthCheck{
			Protocol: hcBase.Protocol, Port: hcBase.Port, Path: hcBase.Path, Interval: int32(hcBase.Interval),
			Timeout: int32(hcBase.Timeout), HealthyThreshold: int32(hcBase.HealthyThreshold), UnhealthyThreshold: int32(hcBase.UnhealthyThreshold),
		}
		if isHTTP(hc.Protocol) && hcBase.SuccessCodes != defaultSuccessCodes {
			hc.SuccessCodes = hcBase.SuccessCodes
		}
		if hc.Port == "" {
			return nil, fmt.Errorf("service %s: %w", m.Service, errPortPending)
		}
		tg := TargetGroup{Protocol: tgProto, Port: sp.NodePort, HealthCheck: hc, Attributes: tgAttributes(cfg, sp.Port)}
		tg.Name = targetGroupName(svc, m.Cluster, tg)
		tgs[tg.Name] = tg
		l.TargetGroup = tg.Name
		m.Listeners = append(m.Listeners, l)
	}
	if len(m.Listeners) == 0 {
		return nil, providers.NewUserError(m.Service, "no port with a nodePort: instance targets need NodePorts")
	}
	slices.SortFunc(m.Listeners, func(a, b NLBListener) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), strings.Compare(a.Protocol, b.Protocol))
	})
	for _, k := range slices.Sorted(maps.Keys(tgs)) {
		m.TargetGroups = append(m.TargetGroups, tgs[k])
	}
	sources := nlbSources(m, in.Core)
	if err := buildNLBSecurityGroups(m, in, sources); err != nil {
		return nil, err
	}
	if cfg.ManageBackendSecurityGroupRules {
		m.NodeRules = nlbNodeRules(m, in, sources)
	}
	m.Tags = map[string]string{}
	maps.Copy(m.Tags, cfg.AdditionalTags)
	m.Tags[tagServiceName] = m.Service
	m.Tags[clusterTag(m.Cluster)] = tagOwned
	return m, nil
}

// Descriptions of the NLB node rules, as upstream writes them, so rules it made are adopted.
const (
	ruleClient = "kubernetes.io/rule/nlb/client="
	ruleHealth = "kubernetes.io/rule/nlb/health="
	ruleMTU    = "kubernetes.io/rule/nlb/mtu"
)

// nlbNodeRules is the table of the Kubernetes docs: client traffic on each NodePort from the
// source ranges, health checks from the NLB's subnets (unless the client rules already
// cover them), and ICMP fragmentation-needed from the client ranges.
func nlbNodeRules(m *NLBModel, in Input, sources []string) []Rule {
	if src := m.sourceGroup(); src != "" {
		return nlbGroupNodeRules(m, src)
	}
	var rules []Rule
	trafficPorts := map[int32]bool{}
	for _, tg := range m.TargetGroups {
		protos := ruleProtocols(tg.Protocol)
		trafficPorts[tg.Port] = protos[0] == "tcp"
		for _, proto := range protos {
			for _, src := range sources {
				rules = append(rules, Rule{Protocol: proto, FromPort: tg.Port, ToPort: tg.Port, CIDR: src, Description: ruleClient + m.Name})
			}
		}
	}
	// Health checks come from the NLB's IPv4 subnet addresses: 0.0.0.0/0 covers them.
	open := slices.Contains(sources, "0.0.0.0/0")
	for _, tg := range m.TargetGroups {
		port := tg.Port
		if n, err := strconv.Atoi(tg.HealthCheck.Port); err == nil {
			port = int32(n)
		}
		if open && trafficPorts[port] {
			continue // the client rule already lets the health checks in
		}
		for _, sn := range in.Subnets {
			if slices.Contains(m.Subnets, sn.ID) && sn.CIDR != "" {
				rules = append(rules, Rule{Protocol: "tcp", FromPort: port, ToPort: port, CIDR: sn.CIDR, Description: ruleHealth + m.Name})
			}
		}
	}
	for _, src := range sources {
		if !strings.Contains(src, ":") {
			rules = append(rules, Rule{Protocol: "icmp", FromPort: 3, ToPort: 4, CIDR: src, Description: ruleMTU})
		}
	}
	slices.SortFunc(rules, func(a, b Rule) int { return strings.Compare(a.key(), b.key()) })
	return slices.CompactFunc(rules, func(a, b Rule) bool { return a.key() == b.key() })
}

// subnetPin is what a subnet mapping fixes at creation: an Elastic IP allocation, a private
// IPv4 address, an IPv6 address, a source NAT IPv6 prefix ("auto_assigned" lets AWS choose).
type subnetPin struct {
	Allocation, PrivateIPv4, IPv6, NATPrefix string
}

// subnetMappings are the create-time subnet mappings, nil when nothing is pinned.
func (m *NLBModel) subnetMappings() map[string]subnetPin {
	if len(m.EIPAllocations)+len(m.PrivateIPv4Addresses)+len(m.IPv6Addresses)+len(m.SourceNATIPv6Prefixes) == 0 {
		return nil
	}
	at := func(list []string, i int) string {
		if i < len(list) {
			return list[i]
		}
		return ""
	}
	out := map[string]subnetPin{}
	for i, s := range m.Subnets {
		out[s] = subnetPin{at(m.EIPAllocations, i), at(m.PrivateIPv4Addresses, i), at(m.IPv6Addresses, i), at(m.SourceNATIPv6Prefixes, i)}
	}
	return out
}

// pinsMatch reports whether the observed mappings hold every wanted pin. An unpinned field
// matches whatever AWS chose (it reports addresses it assigned, e.g. a dualstack NLB's IPv6
// addresses), and a prefix AWS assigned matches auto_assigned.
func pinsMatch(have, want map[string]subnetPin) bool {
	for sn, w := range want {
		h := have[sn]
		for _, f := range [][2]string{{w.Allocation, h.Allocation}, {w.PrivateIPv4, h.PrivateIPv4}, {w.IPv6, h.IPv6}} {
			if f[0] != "" && f[0] != f[1] {
				return false
			}
		}
		if w.NATPrefix != "" && w.NATPrefix != h.NATPrefix && !(w.NATPrefix == autoAssigned && h.NATPrefix != "") {
			return false
		}
	}
	return true
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

// ruleProtocols are the security-group protocols of a listener or target group protocol.
func ruleProtocols(proto string) []string {
	switch proto {
	case "UDP":
		return []string{"udp"}
	case "TCP_UDP":
		return []string{"tcp", "udp"}
	}
	return []string{"tcp"}
}
