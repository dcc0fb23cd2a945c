package azure

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// buildSecurity makes the Service's NSG rules: per protocol, one allow rule per source
// (Internet, each allowed service tag, the source ranges), plus the deny-all rule.
// v6 builds the rules of the IPv6 frontend, named with the suffix -IPv6.
func buildSecurity(svc *v1.Service, az *annotations.AzureConfig, s Settings, prefix string, pool Pool, v6 bool) *Security {
	sec := &Security{Group: s.SecurityGroupName, ResourceGroup: s.SecurityGroupResourceGroup, Rules: []SecurityRule{}}
	if az.DisableNSGRule {
		return sec
	}
	dest := securityDestinations(az, pool, v6)
	toFrontend := !az.DisableFloatingIP
	suffix := ""
	if v6 {
		suffix = ipv6Suffix
	}
	protos, ports := securityPorts(svc, az)
	sources := securitySources(az, v6)
	for _, proto := range protos {
		label := map[string]string{"Tcp": "TCP", "Udp": "UDP", "*": "SCTP"}[proto]
		for _, src := range sources {
			name := fmt.Sprintf("%s-%s-%s", prefix, label, sanitizeRuleName(src.label))
			if len(name) > maxRuleName-len(suffix) {
				name = name[:maxRuleName-len(suffix)]
			}
			sec.Rules = append(sec.Rules, SecurityRule{Name: name + suffix, Access: securityRuleAllow, Protocol: proto, Sources: src.sources,
				Ports: ports[proto], Destinations: slices.Clone(dest), ToFrontend: toFrontend, IPv6: v6})
		}
	}
	if az.DenyAllExceptLoadBalancerSourceRanges {
		sec.Rules = append(sec.Rules, SecurityRule{Name: prefix + "-DenyAll" + suffix, Access: securityRuleDeny, Protocol: "*",
			Sources: []string{securityRuleAnySource}, Ports: []string{"*"}, Destinations: slices.Clone(dest), ToFrontend: toFrontend, IPv6: v6})
	}
	return sec
}

// securityDestinations are the fixed destinations of the rules of one family: the nodes
// when floating IP is disabled (traffic reaches them on their own addresses), and the
// additional public IPs. The frontend's address is added at apply (ToFrontend).
func securityDestinations(az *annotations.AzureConfig, pool Pool, v6 bool) []string {
	var dest []string
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
	return dest
}

// securityPorts are the NSG protocols (Tcp, Udp, * for SCTP) in spec.ports order and each
// one's sorted destination ports: the Service ports, or the nodePorts with floating IP
// disabled.
func securityPorts(svc *v1.Service, az *annotations.AzureConfig) ([]string, map[string][]string) {
	nums := map[string][]int32{}
	var protos []string
	for _, sp := range svc.Spec.Ports {
		if az.Ports[sp.Port].NoLBRule && !az.HAPorts {
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
		if !slices.Contains(nums[proto], port) {
			nums[proto] = append(nums[proto], port)
		}
	}
	ports := map[string][]string{}
	for proto, ps := range nums {
		slices.Sort(ps)
		for _, p := range ps {
			ports[proto] = append(ports[proto], strconv.Itoa(int(p)))
		}
	}
	return protos, ports
}

// securitySource is one allow rule's source: its name's label and its address prefixes.
type securitySource struct {
	label   string
	sources []string
}

// securitySources are the allow rules' sources of one family: Internet (or the family's
// source ranges), then each allowed service tag.
func securitySources(az *annotations.AzureConfig, v6 bool) []securitySource {
	var sources []securitySource
	if az.AllowFromInternet {
		sources = append(sources, securitySource{internetTag, []string{internetTag}})
	} else {
		var ranges []string
		for _, r := range az.SourceRanges {
			if r.Addr().Is4() != v6 {
				ranges = append(ranges, r.String())
			}
		}
		if len(ranges) > 0 {
			sort.Strings(ranges)
			sources = append(sources, securitySource{"SourceRanges", ranges})
		}
	}
	for _, t := range az.AllowedServiceTags {
		sources = append(sources, securitySource{t, []string{t}})
	}
	return sources
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
