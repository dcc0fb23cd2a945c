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
	// Listeners are sorted by port and protocol.
	Listeners []NLBListener `json:"listeners"`
	// TargetGroups are sorted by name.
	TargetGroups []TargetGroup `json:"targetGroups"`
	CrossZone    bool          `json:"crossZone"`
	AccessLog    AccessLog     `json:"accessLog"`
	Instances    []string      `json:"instances"`
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
	// preservation, ...). A key dropped later is left as it is, as upstream does.
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
}

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
		Name: LoadBalancerName(svc), Service: serviceName(svc), Cluster: in.Settings.Cluster, Internal: cfg.Internal,
		CrossZone: cfg.CrossZone,
		AccessLog: AccessLog{Enabled: cfg.AccessLog.Enabled, Bucket: cfg.AccessLog.Bucket, Prefix: cfg.AccessLog.Prefix},
		Instances: buildInstances(in.Nodes, cfg.TargetNodeLabels),
	}
	if !m.AccessLog.Enabled {
		m.AccessLog = AccessLog{}
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
	for what, list := range map[string][]string{"aws-load-balancer-eip-allocations": m.EIPAllocations, "aws-load-balancer-private-ipv4-addresses": m.PrivateIPv4Addresses} {
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
	for _, sp := range svc.Spec.Ports {
		if sp.NodePort == 0 {
			continue
		}
		proto := string(cmp.Or(sp.Protocol, v1.ProtocolTCP))
		if proto != "TCP" && proto != "UDP" {
			return nil, providers.NewUserError(m.Service, "port %d: protocol %s is not supported by an NLB (TCP and UDP only)", sp.Port, proto)
		}
		l := NLBListener{Port: sp.Port, Protocol: proto}
		tgProto := proto
		if cfg.SSL.Enabled(sp) {
			l.Protocol, l.Certificate, l.SSLPolicy = "TLS", cert, cfg.SSL.NegotiationPolicy
			if cfg.SSL.BackendProtocol == "ssl" {
				tgProto = "TLS"
			}
		}
		hc := NLBHealthCheck{
			Protocol: hcBase.Protocol, Port: hcBase.Port, Path: hcBase.Path, Interval: int32(hcBase.Interval),
			Timeout: int32(hcBase.Timeout), HealthyThreshold: int32(hcBase.HealthyThreshold), UnhealthyThreshold: int32(hcBase.UnhealthyThreshold),
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
	m.NodeRules = nlbNodeRules(m, in)
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
func nlbNodeRules(m *NLBModel, in Input) []Rule {
	var rules []Rule
	var sources []string
	for _, p := range in.Core.SourceRanges {
		sources = append(sources, p.String())
	}
	trafficPorts := map[int32]bool{}
	for _, tg := range m.TargetGroups {
		proto := "tcp"
		if tg.Protocol == "UDP" {
			proto = "udp"
		}
		trafficPorts[tg.Port] = proto == "tcp"
		for _, src := range sources {
			rules = append(rules, Rule{Protocol: proto, FromPort: tg.Port, ToPort: tg.Port, CIDR: src, Description: ruleClient + m.Name})
		}
	}
	open := slices.Equal(sources, []string{"0.0.0.0/0"})
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

// subnetMappings are the create-time subnet mappings, nil when no address is pinned.
func (m *NLBModel) subnetMappings() map[string][2]string {
	if len(m.EIPAllocations) == 0 && len(m.PrivateIPv4Addresses) == 0 {
		return nil
	}
	out := map[string][2]string{}
	for i, s := range m.Subnets {
		var v [2]string
		if i < len(m.EIPAllocations) {
			v[0] = m.EIPAllocations[i]
		}
		if i < len(m.PrivateIPv4Addresses) {
			v[1] = m.PrivateIPv4Addresses[i]
		}
		out[s] = v
	}
	return out
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
