package azure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// Upstream's shared NSG rules, and how a Service leaves them.
//
// cloud-provider-azure consolidates its rules (pkg/provider/securitygroup/securityrule.go):
// k8s-azure-lb_allow_<IPv4|IPv6>_<md5 of protocol, sorted sources and sorted ports>
// (GenerateAllowSecurityRuleName), shared by every Service with the same protocol, sources and
// ports, whose frontend IPs are merged into destinationAddressPrefixes; and
// k8s-azure-lb_deny-all_<IPv4|IPv6> (GenerateDenyAllSecurityRuleName). It manages a rule when
// its name starts with k8s-azure-lb and its priority is within 500-4096
// (IsManagedSecurityRule). cloudlb's rules are per Service (a<uid>-...), so after a switch
// both would allow the Service's address, and narrowing loadBalancerSourceRanges would not
// take effect while upstream's wider rule still lists it.
//
// So the NSG write that puts the Service's own rules in place also takes the Service's
// destinations out of upstream's rules, in the same conditional PUT: from an allow rule of the
// same protocol whose ports are all the Service's (another Service sharing the address on
// other ports keeps it), and from the deny-all rule. A rule left without destinations is
// removed; one still serving Services not migrated yet keeps theirs. cloudlb never adds to an
// upstream rule, so no rule has two owners. The Service's destinations are those of its
// rules as wanted and, on deletion, as they are in the NSG.

// upstreamRulePrefix starts the names of upstream's managed rules.
const upstreamRulePrefix = "k8s-azure-lb_"

// upstreamKind is "allow" or "deny-all" for a rule upstream manages, "" for others.
func upstreamKind(r *armnetwork.SecurityRule) string {
	n := sval(r.Name)
	if r.Properties == nil || !strings.HasPrefix(n, upstreamRulePrefix) {
		return ""
	}
	if p := val(r.Properties.Priority); p < minPriority || p > maxPriority {
		return ""
	}
	switch rest := n[len(upstreamRulePrefix):]; {
	case strings.HasPrefix(rest, "allow_"):
		return "allow"
	case strings.HasPrefix(rest, "deny-all_"):
		return "deny-all"
	}
	return ""
}

// observedRule is an NSG rule in Model form (access, protocol, ports, destinations).
func observedRule(r *armnetwork.SecurityRule) SecurityRule {
	p := r.Properties
	if p == nil {
		return SecurityRule{Name: sval(r.Name)}
	}
	return SecurityRule{Name: sval(r.Name), Access: sval(p.Access), Protocol: sval(p.Protocol),
		Ports:        prefixes(p.DestinationPortRange, p.DestinationPortRanges),
		Destinations: prefixes(p.DestinationAddressPrefix, p.DestinationAddressPrefixes)}
}

// narrowUpstream takes the destinations of ours (the Service's rules) out of upstream's rules
// among rules, as the package comment above says, and lists the changes. rules is not
// modified: a changed rule is a copy.
func narrowUpstream(rules []*armnetwork.SecurityRule, ours []SecurityRule) ([]*armnetwork.SecurityRule, []string) {
	dest := map[string]bool{}
	ports := map[string][]string{}
	for _, o := range ours {
		for _, d := range o.Destinations {
			dest[d] = true
		}
		ports[strings.ToLower(o.Protocol)] = append(ports[strings.ToLower(o.Protocol)], o.Ports...)
	}
	var out []*armnetwork.SecurityRule
	var changes []string
	for _, r := range rules {
		k := upstreamKind(r)
		if k == "" {
			out = append(out, r)
			continue
		}
		u := observedRule(r)
		if k == "allow" && !subset(u.Ports, ports[strings.ToLower(u.Protocol)]) {
			out = append(out, r)
			continue
		}
		rest := slices.DeleteFunc(slices.Clone(u.Destinations), func(d string) bool { return dest[d] })
		switch {
		case len(rest) == len(u.Destinations):
			out = append(out, r)
		case len(rest) == 0:
			changes = append(changes, "remove upstream security rule "+u.Name+" (its destinations were the Service's)")
		default:
			nr := *r
			np := *r.Properties
			np.DestinationAddressPrefix, np.DestinationAddressPrefixes = nil, nil
			if len(rest) == 1 {
				np.DestinationAddressPrefix = to.Ptr(rest[0])
			} else {
				np.DestinationAddressPrefixes = to.SliceOfPtrs(rest...)
			}
			nr.Properties = &np
			out = append(out, &nr)
			changes = append(changes, fmt.Sprintf("narrow upstream security rule %s to %d destinations (without the Service's)", u.Name, len(rest)))
		}
	}
	return out, changes
}

// subset reports whether every element of a is in b (a non-empty).
func subset(a, b []string) bool {
	if len(a) == 0 {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
