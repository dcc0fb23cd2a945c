package fakeazure

import (
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

const (
	nsgType = providerNS + "/networkSecurityGroups"
	// maxSecurityRules is Azure's per-NSG rule limit.
	maxSecurityRules = 1000
	// maxPrefixesPerGroup limits the source and the destination address prefixes summed
	// over all rules of an NSG (MaxSecurityRuleAddressesOrPortsPerSecurityGroup).
	maxPrefixesPerGroup = 4000
)

// putNSG validates the security rules (priority range, unique priority per direction,
// names, the 1,000-rule limit) and fills the six default rules every NSG has.
func putNSG(s *Server, p putCtx, obj, old any) *armError {
	nsg := obj.(*nsgT)
	var prev *nsgT
	if old != nil {
		prev = old.(*nsgT)
	}
	if err := requireLocation(nsg.Location); err != nil {
		return err
	}
	nsg.ID, nsg.Name, nsg.Type = ptr(p.id), ptr(p.name), ptr(nsgType)
	if nsg.Properties == nil {
		nsg.Properties = &armnetwork.SecurityGroupPropertiesFormat{}
	}
	pr := nsg.Properties
	pr.ProvisioningState = succeeded()
	pr.ResourceGUID, pr.Subnets, pr.NetworkInterfaces = nil, nil, nil
	if prev != nil && prev.Properties != nil {
		pr.ResourceGUID, pr.Subnets = prev.Properties.ResourceGUID, prev.Properties.Subnets
	}
	if pr.ResourceGUID == nil {
		pr.ResourceGUID = ptr(s.uuid())
	}
	if len(pr.SecurityRules) > maxSecurityRules {
		return badRequest("SecurityRuleCountLimitReached", "A security group cannot have more than %d security rules.", maxSecurityRules)
	}
	names := make([]string, 0, len(pr.SecurityRules))
	for _, r := range pr.SecurityRules {
		if r == nil {
			return errMissingProperty("securityRules item", p.id)
		}
		names = append(names, str(r.Name))
	}
	if err := checkNames(names, "securityRules", p.id); err != nil {
		return err
	}
	byPriority := map[string]string{} // direction/priority -> rule name
	for _, r := range pr.SecurityRules {
		id := p.id + "/securityRules/" + str(r.Name)
		r.ID, r.Type = ptr(id), ptr(nsgType+"/securityRules")
		if err := checkSecurityRule(id, r.Properties); err != nil {
			return err
		}
		r.Properties.ProvisioningState = succeeded()
		k := strings.ToLower(string(*r.Properties.Direction)) + "/" + itoa(*r.Properties.Priority)
		if other, ok := byPriority[k]; ok {
			return badRequest("SecurityRuleConflict",
				"Security rule %s conflicts with rule %s. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.", str(r.Name), other)
		}
		byPriority[k] = str(r.Name)
	}
	if err := checkPrefixTotals(p.id, pr.SecurityRules); err != nil {
		return err
	}
	pr.DefaultSecurityRules = defaultSecurityRules(p.id)
	return nil
}

// checkPrefixTotals applies the per-NSG limit on address prefixes, counted separately for
// sources and destinations across all rules.
func checkPrefixTotals(id string, rules []*armnetwork.SecurityRule) *armError {
	src, dst := 0, 0
	for _, r := range rules {
		rp := r.Properties
		src += len(rp.SourceAddressPrefixes)
		dst += len(rp.DestinationAddressPrefixes)
		if rp.SourceAddressPrefix != nil {
			src++
		}
		if rp.DestinationAddressPrefix != nil {
			dst++
		}
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"SourceAddressPrefixes", src}, {"DestinationAddressPrefixes", dst}} {
		if c.n > maxPrefixesPerGroup {
			return badRequest("SecurityRuleAddressesOrPortsPerSecurityGroupLimitReached",
				"Network security group %s has %d %s. A security group cannot have more than %d %s as per the limit MaxSecurityRuleAddressesOrPortsPerSecurityGroup.",
				id, c.n, c.name, maxPrefixesPerGroup, c.name)
		}
	}
	return nil
}

func checkSecurityRule(id string, rp *armnetwork.SecurityRulePropertiesFormat) *armError {
	if rp == nil || rp.Priority == nil || rp.Direction == nil || rp.Access == nil || rp.Protocol == nil {
		return errMissingProperty("security rule priority, direction, access and protocol", id)
	}
	if *rp.Priority < 100 || *rp.Priority > 4096 {
		return badRequest("SecurityRuleInvalidPriority", "Security rule has invalid Priority. Value provided: %d Allowed range 100-4096.", *rp.Priority)
	}
	if !oneOf(string(*rp.Direction), "Inbound", "Outbound") || !oneOf(string(*rp.Access), "Allow", "Deny") ||
		!oneOf(string(*rp.Protocol), "Tcp", "Udp", "Icmp", "Esp", "Ah", "*") {
		return badRequest("SecurityRuleParameterContainsUnsupportedValue",
			"Security rule %s has an unsupported direction %q, access %q or protocol %q.", id, *rp.Direction, *rp.Access, *rp.Protocol)
	}
	if rp.SourceAddressPrefix != nil && len(rp.SourceAddressPrefixes) > 0 ||
		rp.DestinationAddressPrefix != nil && len(rp.DestinationAddressPrefixes) > 0 ||
		rp.DestinationPortRange != nil && len(rp.DestinationPortRanges) > 0 {
		return badRequest("SecurityRuleParameterContainsMultipleValues",
			"Security rule %s sets both the single and the plural form of an address prefix or port range.", id)
	}
	if rp.SourceAddressPrefix == nil && len(rp.SourceAddressPrefixes) == 0 && len(rp.SourceApplicationSecurityGroups) == 0 ||
		rp.DestinationAddressPrefix == nil && len(rp.DestinationAddressPrefixes) == 0 && len(rp.DestinationApplicationSecurityGroups) == 0 {
		return errMissingProperty("source and destination address prefixes", id)
	}
	return nil
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if eq(v, a) {
			return true
		}
	}
	return false
}

// defaultSecurityRules are the rules Azure puts in every NSG (priorities 65000-65500).
func defaultSecurityRules(nsgID string) []*armnetwork.SecurityRule {
	type def struct {
		name     string
		prio     int32
		dir      armnetwork.SecurityRuleDirection
		access   armnetwork.SecurityRuleAccess
		src, dst string
	}
	in, out := armnetwork.SecurityRuleDirectionInbound, armnetwork.SecurityRuleDirectionOutbound
	allow, deny := armnetwork.SecurityRuleAccessAllow, armnetwork.SecurityRuleAccessDeny
	defs := []def{
		{"AllowVnetInBound", 65000, in, allow, "VirtualNetwork", "VirtualNetwork"},
		{"AllowAzureLoadBalancerInBound", 65001, in, allow, "AzureLoadBalancer", "*"},
		{"DenyAllInBound", 65500, in, deny, "*", "*"},
		{"AllowVnetOutBound", 65000, out, allow, "VirtualNetwork", "VirtualNetwork"},
		{"AllowInternetOutBound", 65001, out, allow, "*", "Internet"},
		{"DenyAllOutBound", 65500, out, deny, "*", "*"},
	}
	rules := make([]*armnetwork.SecurityRule, 0, len(defs))
	for _, d := range defs {
		rules = append(rules, &armnetwork.SecurityRule{
			ID:   ptr(nsgID + "/defaultSecurityRules/" + d.name),
			Name: ptr(d.name),
			Type: ptr(nsgType + "/defaultSecurityRules"),
			Properties: &armnetwork.SecurityRulePropertiesFormat{
				Access: ptr(d.access), Direction: ptr(d.dir), Priority: ptr(d.prio),
				Protocol:                 ptr(armnetwork.SecurityRuleProtocolAsterisk),
				SourceAddressPrefix:      ptr(d.src),
				SourcePortRange:          ptr("*"),
				DestinationAddressPrefix: ptr(d.dst),
				DestinationPortRange:     ptr("*"),
				ProvisioningState:        succeeded(),
			},
		})
	}
	return rules
}

// deleteNSGCheck refuses to delete an NSG still associated with a subnet.
func deleteNSGCheck(_ *Server, e *entry) *armError {
	nsg := e.obj.(*nsgT)
	if nsg.Properties == nil || len(nsg.Properties.Subnets) == 0 {
		return nil
	}
	var users []string
	for _, sn := range nsg.Properties.Subnets {
		users = append(users, str(sn.ID))
	}
	return badRequest("InUseNetworkSecurityGroupCannotBeDeleted",
		"Network security group %s cannot be deleted because it is in use by the following resources: %s.", e.id, strings.Join(users, ", "))
}
