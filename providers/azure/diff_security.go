package azure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// frontendIPs are the addresses of the Service's frontends: IPv4, and IPv6 for a
// dual-stack Service.
type frontendIPs struct{ v4, v6 string }

// list is the addresses in the order of the Service's status.
func (f frontendIPs) list() []string {
	out := []string{f.v4}
	if f.v6 != "" {
		out = append(out, f.v6)
	}
	return out
}

// resolveSecurity returns the Service's security rules with the frontend's address of the
// rule's family filled in; rules left without any destination are dropped (nothing to allow
// yet).
func resolveSecurity(sec *Security, frontend frontendIPs) []SecurityRule {
	if sec == nil {
		return nil
	}
	out := make([]SecurityRule, 0, len(sec.Rules))
	for _, r := range sec.Rules {
		dst := slices.Clone(r.Destinations)
		ip := frontend.v4
		if r.IPv6 {
			ip = frontend.v6
		}
		if r.ToFrontend && ip != "" {
			dst = append(dst, ip)
		}
		dst = sortedUnique(dst)
		if len(dst) == 0 {
			continue
		}
		r.Destinations, r.ToFrontend = dst, false
		out = append(out, r)
	}
	return out
}

// diffSecurity plans the cluster NSG rg/name holding want among the rules named with
// prefix: one PUT, every other rule as read.
func diffSecurity(o *Observed, x ids, rg, name, prefix string, want []SecurityRule) (*Plan, error) {
	obs := o.SecurityGroups[key(rg, name)]
	if obs == nil {
		if len(want) == 0 {
			return &Plan{}, nil
		}
		return nil, fmt.Errorf("network security group %s in resource group %s (securityGroupName in the cloud config) does not exist", name, rg)
	}
	out, changes, err := DiffSecurityGroup(obs, prefix, want)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return &Plan{}, nil
	}
	return &Plan{Writes: []Write{put(x, typeSecurityGroups, rg, name, out, out.Etag, changes, stepSecurity)}}, nil
}

// DiffSecurityGroup is the body of the NSG's PUT in a Plan (diffSecurity): a copy of obs that
// holds exactly want among the rules named with prefix, every other rule untouched, and the
// changes; no change means no write. An unchanged rule keeps its priority; a changed one
// keeps it too; a new allow rule takes the lowest free priority from 500, a new deny rule the
// highest free one from 4096. obs is not modified; without changes the result shares its rules
// (copyOnChange: it is not to be modified), as the NSG holds every Service's rules.
func DiffSecurityGroup(obs *armnetwork.SecurityGroup, prefix string, want []SecurityRule) (*armnetwork.SecurityGroup, []string, error) {
	if obs == nil {
		obs = &armnetwork.SecurityGroup{}
	}
	return copyOnChange(obs, nsgView, func(nsg *armnetwork.SecurityGroup) ([]string, error) {
		return syncSecurityRules(nsg, prefix, want)
	})
}

// syncSecurityRules makes nsg's rules named with prefix exactly want, as DiffSecurityGroup
// says. It replaces nsg's rule list and never modifies a rule in it, so nsg may share the
// rules with the NSG as read.
func syncSecurityRules(nsg *armnetwork.SecurityGroup, prefix string, want []SecurityRule) ([]string, error) {
	if nsg.Properties == nil {
		nsg.Properties = &armnetwork.SecurityGroupPropertiesFormat{}
	}
	var kept []*armnetwork.SecurityRule
	var changes []string
	old := map[string]*armnetwork.SecurityRule{}
	for _, r := range nsg.Properties.SecurityRules {
		n := sval(r.Name)
		if !ownedBy(n, prefix) {
			kept = append(kept, r)
			continue
		}
		old[strings.ToLower(n)] = r
	}
	ours := slices.Clone(want)
	for _, o := range old {
		ours = append(ours, observedRule(o))
	}
	kept, changes = narrowUpstream(kept, ours)
	used := map[int32]bool{}
	for _, r := range kept {
		if r.Properties != nil && strings.EqualFold(sval(r.Properties.Direction), string(armnetwork.SecurityRuleDirectionInbound)) {
			used[val(r.Properties.Priority)] = true
		}
	}
	var added []*armnetwork.SecurityRule
	var pending []SecurityRule
	for _, w := range want {
		o, ok := old[strings.ToLower(w.Name)]
		delete(old, strings.ToLower(w.Name))
		if ok && o.Properties != nil {
			p := val(o.Properties.Priority)
			if securityEqual(o, w) && !used[p] {
				used[p] = true
				added = append(added, o)
				continue
			}
			if p >= minPriority && p <= maxPriority && !used[p] {
				used[p] = true
				added = append(added, armSecurityRule(w, p))
				changes = append(changes, "update security rule "+w.Name)
				continue
			}
		}
		pending = append(pending, w)
	}
	for _, w := range pending {
		p, err := freePriority(used, w.Access == securityRuleDeny)
		if err != nil {
			return nil, fmt.Errorf("security rule %s: %w", w.Name, err)
		}
		used[p] = true
		added = append(added, armSecurityRule(w, p))
		changes = append(changes, "add security rule "+w.Name)
	}
	for _, o := range old {
		changes = append(changes, "remove security rule "+sval(o.Name))
	}
	slices.Sort(changes)
	nsg.Properties.SecurityRules = append(slices.Clip(kept), added...)
	return changes, nil
}

// freePriority is the lowest unused priority in 500-4096, or the highest for deny rules.
func freePriority(used map[int32]bool, deny bool) (int32, error) {
	if deny {
		for p := int32(maxPriority); p >= minPriority; p-- {
			if !used[p] {
				return p, nil
			}
		}
	} else {
		for p := int32(minPriority); p <= maxPriority; p++ {
			if !used[p] {
				return p, nil
			}
		}
	}
	return 0, fmt.Errorf("no free priority between %d and %d in the network security group", minPriority, maxPriority)
}

func armSecurityRule(w SecurityRule, priority int32) *armnetwork.SecurityRule {
	p := &armnetwork.SecurityRulePropertiesFormat{
		Access:          to.Ptr(armnetwork.SecurityRuleAccess(w.Access)),
		Direction:       to.Ptr(armnetwork.SecurityRuleDirectionInbound),
		Priority:        to.Ptr(priority),
		Protocol:        to.Ptr(armnetwork.SecurityRuleProtocol(w.Protocol)),
		SourcePortRange: to.Ptr("*"),
	}
	if len(w.Sources) == 1 {
		p.SourceAddressPrefix = to.Ptr(w.Sources[0])
	} else {
		p.SourceAddressPrefixes = to.SliceOfPtrs(w.Sources...)
	}
	if len(w.Destinations) == 1 {
		p.DestinationAddressPrefix = to.Ptr(w.Destinations[0])
	} else {
		p.DestinationAddressPrefixes = to.SliceOfPtrs(w.Destinations...)
	}
	if len(w.Ports) == 1 {
		p.DestinationPortRange = to.Ptr(w.Ports[0])
	} else {
		p.DestinationPortRanges = to.SliceOfPtrs(w.Ports...)
	}
	return &armnetwork.SecurityRule{Name: to.Ptr(w.Name), Properties: p}
}

// securityEqual compares an observed rule with a wanted one, ignoring the priority.
func securityEqual(o *armnetwork.SecurityRule, w SecurityRule) bool {
	p := o.Properties
	return strings.EqualFold(sval(p.Access), w.Access) && strings.EqualFold(sval(p.Direction), string(armnetwork.SecurityRuleDirectionInbound)) &&
		strings.EqualFold(sval(p.Protocol), w.Protocol) &&
		slices.Equal(prefixes(p.SourceAddressPrefix, p.SourceAddressPrefixes), sortedUnique(w.Sources)) &&
		slices.Equal(prefixes(p.DestinationAddressPrefix, p.DestinationAddressPrefixes), sortedUnique(w.Destinations)) &&
		slices.Equal(prefixes(p.DestinationPortRange, p.DestinationPortRanges), sortedUnique(w.Ports))
}

// prefixes merges ARM's singular and plural forms into one sorted list.
func prefixes(one *string, many []*string) []string {
	var out []string
	if v := sval(one); v != "" {
		out = append(out, v)
	}
	for _, m := range many {
		if v := sval(m); v != "" {
			out = append(out, v)
		}
	}
	return sortedUnique(out)
}

func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
