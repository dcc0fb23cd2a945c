package aws

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// The replacement guard on AWS (providers/guard.go has the scheme). What forces a load
// balancer to be deleted and re-created here: its scheme (both kinds), and on an NLB its
// pinned addresses (Elastic IPs, private IPv4 and IPv6 addresses), IPv6 source NAT, and
// having security groups at all. The Service's replacement key, over the desired values of
// those fields and cloudlb.io/replace-load-balancer, is one of the model's tags, so every
// create and every tag write records it, and the spec hash covers it: a new annotation value
// makes the next reconcile read everything. A load balancer whose recorded key is missing
// (made by cloud-provider-aws or an older cloudlb) or equal to the Service's is kept with
// its actual values of those fields (keepForGuard) and converged otherwise.

// Values of the replacement fields.
const (
	schemeInternal = "internal"
	schemeInternet = "internet-facing"
	typeClassic    = "classic"
	typeNLB        = "nlb"
	groupsNone     = "none"
	groupsSome     = "security groups"
	// fieldGroups names the choice between an NLB with and without security groups.
	fieldGroups = "NLB security groups (cloud config NLBSecurityGroupMode, aws-load-balancer-security-groups, aws-load-balancer-disable-nlb-sg)"
	fieldType   = "service.beta.kubernetes.io/aws-load-balancer-type"
)

func schemeOf(internal bool) string {
	if internal {
		return schemeInternal
	}
	return schemeInternet
}

// classicReplaceKey is the replacement key of a Classic Load Balancer Service.
func classicReplaceKey(token string, internal bool) string {
	return providers.ReplaceKey(token,
		providers.ReplaceField{Name: annotations.AWSScheme.Key, Value: schemeOf(internal)},
		providers.ReplaceField{Name: fieldType, Value: typeClassic})
}

// nlbPins are an NLB's create-time values per field, each a sorted list: AWS checks that a
// private address lies in its subnet, so which subnet holds which pin is not a choice the
// Service makes (cloud-provider-aws and cloudlb order subnets differently).
type nlbPins struct {
	eips, private, ipv6, nat []string
	natOn                    bool
	// groups says whether the NLB has security groups; choice is what the Service says
	// about them (groupChoice), which the key hashes instead: the cloud config's
	// NLBSecurityGroupMode is not the Service author's to change, and changing it must not
	// replace every NLB of the cluster.
	groups bool
	choice string
}

func sortedCopy(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return out
}

// wantPins are the model's create-time values.
func (m *NLBModel) wantPins() nlbPins {
	return nlbPins{eips: sortedCopy(m.EIPAllocations), private: sortedCopy(m.PrivateIPv4Addresses), ipv6: sortedCopy(m.IPv6Addresses),
		nat: sortedCopy(m.SourceNATIPv6Prefixes), natOn: m.PrefixForIPv6SourceNAT, groups: m.hasGroups()}
}

// nlbReplaceFields are the NLB's replacement fields with p's values.
func nlbReplaceFields(internal bool, p nlbPins) []providers.ReplaceField {
	return []providers.ReplaceField{
		{Name: annotations.AWSScheme.Key, Value: schemeOf(internal)},
		{Name: fieldType, Value: typeNLB},
		{Name: annotations.AWSEIPAllocations.Key, Value: strings.Join(p.eips, ",")},
		{Name: annotations.AWSPrivateIPv4Addresses.Key, Value: strings.Join(p.private, ",")},
		{Name: annotations.AWSIPv6Addresses.Key, Value: strings.Join(p.ipv6, ",")},
		{Name: annotations.AWSSourceNATIPv6Prefixes.Key, Value: strings.Join(p.nat, ",")},
		{Name: annotations.AWSEnablePrefixForIPv6SourceNAT.Key, Value: strconv.FormatBool(p.natOn)},
		{Name: fieldGroups, Value: p.choice},
	}
}

func groupsWord(some bool) string {
	if some {
		return groupsSome
	}
	return groupsNone
}

// nlbReplaceKey is the replacement key of an NLB Service.
func nlbReplaceKey(token string, m *NLBModel, cfg *annotations.AWSConfig) string {
	p := m.wantPins()
	p.choice = groupChoice(cfg)
	return providers.ReplaceKey(token, nlbReplaceFields(m.Internal, p)...)
}

// groupChoice is what the Service's annotations say about its NLB's security groups.
func groupChoice(cfg *annotations.AWSConfig) string {
	switch {
	case cfg.DisableNLBSecurityGroups:
		return "disabled"
	case len(cfg.SecurityGroups) > 0:
		return "own"
	}
	return "cloud config"
}

// nlbChanges are the replacement fields in which lb differs from m, as the user reads them.
// A pin the Service does not ask for matches whatever AWS chose.
func nlbChanges(m *NLBModel, lb *nlbObserved) []providers.FieldChange {
	var out []providers.FieldChange
	if lb.internal != m.Internal {
		out = append(out, providers.FieldChange{Field: annotations.AWSScheme.Key, Have: schemeOf(lb.internal), Want: schemeOf(m.Internal)})
	}
	have, want := lb.pins(), m.wantPins()
	for _, f := range []struct {
		key        string
		have, want []string
	}{
		{annotations.AWSEIPAllocations.Key, have.eips, want.eips},
		{annotations.AWSPrivateIPv4Addresses.Key, have.private, want.private},
		{annotations.AWSIPv6Addresses.Key, have.ipv6, want.ipv6},
	} {
		if len(f.want) > 0 && !slices.Equal(f.have, f.want) {
			out = append(out, providers.FieldChange{Field: f.key, Have: strings.Join(f.have, ","), Want: strings.Join(f.want, ",")})
		}
	}
	if !pinsMatch(lb.mappings, m.subnetMappings()) && len(want.nat) > 0 {
		out = append(out, providers.FieldChange{Field: annotations.AWSSourceNATIPv6Prefixes.Key, Have: strings.Join(have.nat, ","), Want: strings.Join(want.nat, ",")})
	}
	if lb.natPrefixes != m.PrefixForIPv6SourceNAT {
		out = append(out, providers.FieldChange{Field: annotations.AWSEnablePrefixForIPv6SourceNAT.Key, Have: onOff(lb.natPrefixes), Want: onOff(m.PrefixForIPv6SourceNAT)})
	}
	if len(lb.groups) > 0 != m.hasGroups() {
		out = append(out, providers.FieldChange{Field: fieldGroups, Have: groupsWord(len(lb.groups) > 0), Want: groupsWord(m.hasGroups())})
	}
	return out
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// pins are the observed NLB's create-time values.
func (lb *nlbObserved) pins() nlbPins {
	p := nlbPins{natOn: lb.natPrefixes, groups: len(lb.groups) > 0}
	for _, sn := range lb.subnets {
		pin, ok := lb.mappings[sn]
		if !ok {
			continue
		}
		for _, f := range []struct {
			dst *[]string
			v   string
		}{{&p.eips, pin.Allocation}, {&p.private, pin.PrivateIPv4}, {&p.ipv6, pin.IPv6}, {&p.nat, pin.NATPrefix}} {
			if f.v != "" {
				*f.dst = append(*f.dst, f.v)
			}
		}
	}
	for _, l := range []*[]string{&p.eips, &p.private, &p.ipv6, &p.nat} {
		slices.Sort(*l)
	}
	return p
}

// keepNLB is the configuration that keeps lb's replacement fields as they are, for the rest
// of the NLB to be converged around them: its scheme (which also decides the subnets that
// discovery picks) and its security groups (none; or those it has, as the user's own groups
// in which no rule is managed, unless the model manages one).
func keepNLB(cfg *annotations.AWSConfig, m *NLBModel, lb *nlbObserved) *annotations.AWSConfig {
	kept := *cfg
	kept.Internal = lb.internal
	// Pins are read only at creation: the kept NLB's are what they are.
	kept.EIPAllocations, kept.PrivateIPv4Addresses, kept.IPv6Addresses, kept.SourceNATIPv6Prefixes = nil, nil, nil, nil
	kept.EnablePrefixForIPv6SourceNAT = lb.natPrefixes
	switch {
	case len(lb.groups) == 0 && m.hasGroups():
		kept.SecurityGroups, kept.DisableNLBSecurityGroups = nil, true
	case len(lb.groups) > 0 && !m.hasGroups():
		kept.SecurityGroups, kept.DisableNLBSecurityGroups = sortedCopy(lb.groups), false
		kept.InboundSGRulesOnPrivateLinkTraffic = lb.enforce != "off"
	}
	return &kept
}

// refused is the ReplacementRefused of a Service whose load balancer name is kept.
func refused(service, name string, changes []providers.FieldChange, dns string) *providers.ReplacementRefused {
	return &providers.ReplacementRefused{Service: service, LoadBalancer: name, Changes: changes, Status: status(dns)}
}

// userTag reports whether a model tag is one of aws-load-balancer-additional-resource-tags:
// not an ownership tag nor the replacement key.
func userTag(k string) bool {
	return k != tagServiceName && k != providers.ReplaceKeyTag && !strings.HasPrefix(k, tagClusterPrefix)
}
