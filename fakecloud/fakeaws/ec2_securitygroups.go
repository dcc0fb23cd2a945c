package fakeaws

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// securityGroup stores rules one source per rule (AWS's "security group rules"), and
// groups them back into IpPermissions when described.
type securityGroup struct {
	id, name, description, vpcID string
	tags                         []ec2types.Tag
	ingress, egress              []sgRule
}

// sgRule is one protocol/port range from one source.
type sgRule struct {
	id       string
	proto    string // "-1", "tcp", "udp", "icmp", or a protocol number
	from, to int32  // -1 when the protocol has no ports
	// exactly one source is set
	cidr, cidr6, group, prefixList string
	description                    string
}

func (r sgRule) key() string {
	return fmt.Sprintf("%s|%d|%d|%s|%s|%s|%s", r.proto, r.from, r.to, r.cidr, r.cidr6, r.group, r.prefixList)
}

func (r sgRule) String() string {
	peer := r.cidr + r.cidr6 + r.group + r.prefixList
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, strings.ToUpper(r.proto), r.from, r.to)
}

func fmtRule(proto string, from, to int32, src, desc string) string {
	return strings.TrimSpace(fmt.Sprintf("%s %d-%d %s %s", proto, from, to, src, desc))
}

func (s *Server) newSecurityGroup(name, desc, vpcID string, tags []ec2types.Tag) *securityGroup {
	g := &securityGroup{id: s.newID("sg"), name: name, description: desc, vpcID: vpcID, tags: tags}
	g.egress = []sgRule{{id: s.newID("sgr"), proto: "-1", from: -1, to: -1, cidr: "0.0.0.0/0"}}
	s.ec2.groups.put(g.id, g)
	return g
}

func (s *Server) groupByName(vpcID, name string) *securityGroup {
	for _, g := range s.ec2.groups.list() {
		if g.name == name && (vpcID == "" || g.vpcID == vpcID) {
			return g
		}
	}
	return nil
}

func errGroupNotFound(id string) *apiError {
	return bad("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
}

func (s *Server) createSecurityGroup(in *ec2.CreateSecurityGroupInput) (*ec2.CreateSecurityGroupOutput, error) {
	name, desc, vpcID := deref(in.GroupName), deref(in.Description), deref(in.VpcId)
	switch {
	case name == "":
		return nil, errMissing("GroupName")
	case desc == "":
		return nil, errMissing("GroupDescription")
	case len(name) > 255 || len(desc) > 255:
		return nil, bad("InvalidParameterValue", "Value for parameter groupName or groupDescription is too long: 255 characters at most.")
	case strings.HasPrefix(name, "sg-"):
		return nil, bad("InvalidParameterValue", "Group names may not be in the format sg-*.")
	case name == "default":
		return nil, bad("InvalidGroup.Reserved", "The security group 'default' is reserved")
	case vpcID == "":
		return nil, bad("VPCIdNotSpecified", "No default VPC for this user")
	}
	if err := checkTagSpecs(in.TagSpecifications, "security-group"); err != nil {
		return nil, err
	}
	if err := s.vpcExists(vpcID); err != nil {
		return nil, err
	}
	if s.groupByName(vpcID, name) != nil {
		return nil, bad("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpcID)
	}
	g := s.newSecurityGroup(name, desc, vpcID, specTags(in.TagSpecifications, "security-group"))
	return &ec2.CreateSecurityGroupOutput{GroupId: ptr(g.id), Tags: g.tags, SecurityGroupArn: ptr(s.groupARN(g.id))}, nil
}

func (s *Server) groupARN(id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", s.opts.Region, s.opts.AccountID, id)
}

// sdk renders the group with its rules grouped by protocol and port range.
func (s *Server) sdkGroup(g *securityGroup) ec2types.SecurityGroup {
	return ec2types.SecurityGroup{
		GroupId:             ptr(g.id),
		GroupName:           ptr(g.name),
		Description:         ptr(g.description),
		VpcId:               ptr(g.vpcID),
		OwnerId:             ptr(s.opts.AccountID),
		SecurityGroupArn:    ptr(s.groupARN(g.id)),
		Tags:                g.tags,
		IpPermissions:       s.permissions(g.ingress),
		IpPermissionsEgress: s.permissions(g.egress),
	}
}

func (s *Server) permissions(rules []sgRule) []ec2types.IpPermission {
	out := []ec2types.IpPermission{}
	index := map[string]int{}
	for _, r := range rules {
		k := fmt.Sprintf("%s|%d|%d", r.proto, r.from, r.to)
		i, ok := index[k]
		if !ok {
			p := ec2types.IpPermission{IpProtocol: ptr(r.proto)}
			if r.proto != "-1" {
				p.FromPort, p.ToPort = ptr(r.from), ptr(r.to)
			}
			out = append(out, p)
			i = len(out) - 1
			index[k] = i
		}
		p := &out[i]
		desc := optional(r.description)
		switch {
		case r.cidr != "":
			p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: ptr(r.cidr), Description: desc})
		case r.cidr6 != "":
			p.Ipv6Ranges = append(p.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: ptr(r.cidr6), Description: desc})
		case r.group != "":
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, ec2types.UserIdGroupPair{GroupId: ptr(r.group), UserId: ptr(s.opts.AccountID), Description: desc})
		case r.prefixList != "":
			p.PrefixListIds = append(p.PrefixListIds, ec2types.PrefixListId{PrefixListId: ptr(r.prefixList), Description: desc})
		}
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// expand turns IpPermissions into single-source rules, validating them as EC2 does.
func (s *Server) expand(perms []ec2types.IpPermission) ([]sgRule, error) {
	var out []sgRule
	for _, p := range perms {
		proto := strings.ToLower(deref(p.IpProtocol))
		switch proto {
		case "6":
			proto = "tcp"
		case "17":
			proto = "udp"
		case "1":
			proto = "icmp"
		case "all":
			proto = "-1"
		case "":
			return nil, errMissing("IpPermissions.IpProtocol")
		}
		if _, err := strconv.Atoi(proto); err != nil && proto != "tcp" && proto != "udp" && proto != "icmp" && proto != "icmpv6" {
			return nil, bad("InvalidParameterValue", "Invalid value '%s' for IP protocol. Unknown protocol.", proto)
		}
		from, to := int32(-1), int32(-1)
		if proto == "tcp" || proto == "udp" {
			if p.FromPort == nil || p.ToPort == nil {
				return nil, bad("InvalidParameterValue", "Invalid value 'null' for portRange. Must specify both from and to ports with TCP/UDP.")
			}
			from, to = *p.FromPort, *p.ToPort
			if from < 0 || to > 65535 || from > to {
				return nil, bad("InvalidParameterValue", "Invalid port range %d-%d", from, to)
			}
		} else if proto == "icmp" || proto == "icmpv6" {
			from, to = deref(p.FromPort), deref(p.ToPort)
			if p.FromPort == nil {
				from = -1
			}
			if p.ToPort == nil {
				to = -1
			}
		}
		base := sgRule{proto: proto, from: from, to: to}
		n := 0
		for _, r := range p.IpRanges {
			c := deref(r.CidrIp)
			pfx, err := netip.ParsePrefix(c)
			if err != nil || !pfx.Addr().Is4() {
				return nil, bad("InvalidParameterValue", "Value (%s) for parameter cidrIp is invalid. This is not a valid CIDR block.", c)
			}
			rule := base
			rule.cidr, rule.description = pfx.Masked().String(), deref(r.Description)
			out, n = append(out, rule), n+1
		}
		for _, r := range p.Ipv6Ranges {
			c := deref(r.CidrIpv6)
			pfx, err := netip.ParsePrefix(c)
			if err != nil || !pfx.Addr().Is6() {
				return nil, bad("InvalidParameterValue", "Value (%s) for parameter cidrIpv6 is invalid. This is not a valid IPv6 CIDR block.", c)
			}
			rule := base
			rule.cidr6, rule.description = pfx.Masked().String(), deref(r.Description)
			out, n = append(out, rule), n+1
		}
		for _, r := range p.UserIdGroupPairs {
			id := deref(r.GroupId)
			if id == "" && r.GroupName != nil {
				if g := s.groupByName("", *r.GroupName); g != nil {
					id = g.id
				}
			}
			if _, ok := s.ec2.groups.get(id); !ok {
				return nil, errGroupNotFound(id + deref(r.GroupName))
			}
			rule := base
			rule.group, rule.description = id, deref(r.Description)
			out, n = append(out, rule), n+1
		}
		for _, r := range p.PrefixListIds {
			rule := base
			rule.prefixList, rule.description = deref(r.PrefixListId), deref(r.Description)
			out, n = append(out, rule), n+1
		}
		if n == 0 {
			return nil, bad("InvalidParameterValue", "The request must contain a source: IpRanges, Ipv6Ranges, UserIdGroupPairs or PrefixListIds")
		}
	}
	return out, nil
}

func (s *Server) lookupGroup(id, name string) (*securityGroup, error) {
	if id != "" {
		g, ok := s.ec2.groups.get(id)
		if !ok {
			return nil, errGroupNotFound(id)
		}
		return g, nil
	}
	if name == "" {
		return nil, errMissing("GroupId")
	}
	g := s.groupByName("", name)
	if g == nil {
		return nil, errGroupNotFound(name)
	}
	return g, nil
}

func (s *Server) authorizeSecurityGroupIngress(in *ec2.AuthorizeSecurityGroupIngressInput) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	g, err := s.lookupGroup(deref(in.GroupId), deref(in.GroupName))
	if err != nil {
		return nil, err
	}
	perms := in.IpPermissions
	if len(perms) == 0 && in.IpProtocol != nil {
		perm := ec2types.IpPermission{IpProtocol: in.IpProtocol, FromPort: in.FromPort, ToPort: in.ToPort}
		if in.CidrIp != nil {
			perm.IpRanges = []ec2types.IpRange{{CidrIp: in.CidrIp}}
		}
		perms = []ec2types.IpPermission{perm}
	}
	if len(perms) == 0 {
		return nil, errMissing("IpPermissions")
	}
	rules, err := s.expand(perms)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, r := range g.ingress {
		have[r.key()] = true
	}
	for _, r := range rules {
		if have[r.key()] {
			return nil, bad("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", r)
		}
		have[r.key()] = true
	}
	if len(g.ingress)+len(rules) > s.opts.RulesPerSecurityGroup {
		return nil, bad("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
	}
	out := &ec2.AuthorizeSecurityGroupIngressOutput{Return: ptr(true)}
	for _, r := range rules {
		r.id = s.newID("sgr")
		g.ingress = append(g.ingress, r)
		out.SecurityGroupRules = append(out.SecurityGroupRules, s.sdkRule(g, r, false))
	}
	return out, nil
}

func (s *Server) sdkRule(g *securityGroup, r sgRule, egress bool) ec2types.SecurityGroupRule {
	out := ec2types.SecurityGroupRule{
		SecurityGroupRuleId: ptr(r.id),
		GroupId:             ptr(g.id),
		GroupOwnerId:        ptr(s.opts.AccountID),
		IsEgress:            ptr(egress),
		IpProtocol:          ptr(r.proto),
		FromPort:            ptr(r.from),
		ToPort:              ptr(r.to),
		Description:         optional(r.description),
		CidrIpv4:            optional(r.cidr),
		CidrIpv6:            optional(r.cidr6),
		PrefixListId:        optional(r.prefixList),
	}
	if r.group != "" {
		out.ReferencedGroupInfo = &ec2types.ReferencedSecurityGroup{GroupId: ptr(r.group), UserId: ptr(s.opts.AccountID)}
	}
	return out
}

func (s *Server) revokeSecurityGroupIngress(in *ec2.RevokeSecurityGroupIngressInput) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	g, err := s.lookupGroup(deref(in.GroupId), deref(in.GroupName))
	if err != nil {
		return nil, err
	}
	drop := map[int]bool{}
	if len(in.SecurityGroupRuleIds) > 0 {
		for _, id := range in.SecurityGroupRuleIds {
			found := false
			for i, r := range g.ingress {
				if r.id == id {
					drop[i], found = true, true
				}
			}
			if !found {
				return nil, bad("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
		}
	} else {
		if len(in.IpPermissions) == 0 {
			return nil, errMissing("IpPermissions")
		}
		rules, err := s.expand(in.IpPermissions)
		if err != nil {
			return nil, err
		}
		for _, want := range rules {
			found := false
			for i, r := range g.ingress {
				if r.key() == want.key() {
					drop[i], found = true, true
				}
			}
			if !found {
				return nil, bad("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			}
		}
	}
	out := &ec2.RevokeSecurityGroupIngressOutput{Return: ptr(true)}
	kept := g.ingress[:0:0]
	for i, r := range g.ingress {
		if drop[i] {
			out.RevokedSecurityGroupRules = append(out.RevokedSecurityGroupRules, ec2types.RevokedSecurityGroupRule{
				SecurityGroupRuleId: ptr(r.id), GroupId: ptr(g.id), IsEgress: ptr(false), IpProtocol: ptr(r.proto),
				FromPort: ptr(r.from), ToPort: ptr(r.to), CidrIpv4: optional(r.cidr), CidrIpv6: optional(r.cidr6),
				PrefixListId: optional(r.prefixList), ReferencedGroupId: optional(r.group), Description: optional(r.description),
			})
			continue
		}
		kept = append(kept, r)
	}
	g.ingress = kept
	return out, nil
}

func (s *Server) deleteSecurityGroup(in *ec2.DeleteSecurityGroupInput) (*ec2.DeleteSecurityGroupOutput, error) {
	g, err := s.lookupGroup(deref(in.GroupId), deref(in.GroupName))
	if err != nil {
		return nil, err
	}
	if g.name == "default" {
		return nil, bad("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.id)
	}
	if by := s.groupUsers(g.id); by != "" {
		return nil, bad("DependencyViolation", "resource %s has a dependent object (%s)", g.id, by)
	}
	s.ec2.groups.del(g.id)
	return &ec2.DeleteSecurityGroupOutput{Return: ptr(true), GroupId: ptr(g.id)}, nil
}

// groupUsers names one object that still references the group, or "".
func (s *Server) groupUsers(id string) string {
	for _, other := range s.ec2.groups.list() {
		if other.id == id {
			continue
		}
		for _, r := range append(append([]sgRule{}, other.ingress...), other.egress...) {
			if r.group == id {
				return "rule in " + other.id
			}
		}
	}
	for _, inst := range s.ec2.instances.list() {
		if inst.State.Name == ec2types.InstanceStateNameTerminated {
			continue
		}
		for _, g := range inst.SecurityGroups {
			if deref(g.GroupId) == id {
				return "instance " + *inst.InstanceId
			}
		}
	}
	for _, lb := range s.elb.lbs.list() {
		if contains(lb.desc.SecurityGroups, id) {
			return "load balancer " + *lb.desc.LoadBalancerName
		}
	}
	for _, lb := range s.elbv2.lbs.list() {
		if contains(lb.lb.SecurityGroups, id) {
			return "load balancer " + *lb.lb.LoadBalancerName
		}
	}
	return ""
}

func groupFilter(g *securityGroup) filterValues {
	return func(name string) ([]string, bool) {
		var vals []string
		switch name {
		case "group-id":
			return []string{g.id}, true
		case "group-name":
			return []string{g.name}, true
		case "vpc-id":
			return []string{g.vpcID}, true
		case "description":
			return []string{g.description}, true
		case "ip-permission.group-id":
			for _, r := range g.ingress {
				if r.group != "" {
					vals = append(vals, r.group)
				}
			}
			return vals, true
		case "ip-permission.cidr":
			for _, r := range g.ingress {
				if r.cidr != "" {
					vals = append(vals, r.cidr)
				}
			}
			return vals, true
		case "ip-permission.protocol":
			for _, r := range g.ingress {
				vals = append(vals, r.proto)
			}
			return vals, true
		case "ip-permission.from-port":
			for _, r := range g.ingress {
				vals = append(vals, strconv.Itoa(int(r.from)))
			}
			return vals, true
		case "ip-permission.to-port":
			for _, r := range g.ingress {
				vals = append(vals, strconv.Itoa(int(r.to)))
			}
			return vals, true
		}
		return nil, false
	}
}

func (s *Server) describeSecurityGroups(in *ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
	for _, id := range in.GroupIds {
		if _, ok := s.ec2.groups.get(id); !ok {
			return nil, errGroupNotFound(id)
		}
	}
	for _, name := range in.GroupNames {
		if s.groupByName("", name) == nil {
			return nil, errGroupNotFound(name)
		}
	}
	var out []ec2types.SecurityGroup
	for _, g := range s.ec2.groups.list() {
		if len(in.GroupIds) > 0 && !contains(in.GroupIds, g.id) {
			continue
		}
		if len(in.GroupNames) > 0 && !contains(in.GroupNames, g.name) {
			continue
		}
		ok, err := matchFilters(in.Filters, g.tags, groupFilter(g))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s.sdkGroup(g))
		}
	}
	start, end, next, err := page(len(out), in.MaxResults, in.NextToken, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: out[start:end], NextToken: next}, nil
}

func (s *Server) describeSecurityGroupRules(in *ec2.DescribeSecurityGroupRulesInput) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	if err := s.checkRuleIDs(in.SecurityGroupRuleIds); err != nil {
		return nil, err
	}
	var out []ec2types.SecurityGroupRule
	for _, g := range s.ec2.groups.list() {
		for _, egress := range []bool{false, true} {
			rules := g.ingress
			if egress {
				rules = g.egress
			}
			for _, r := range rules {
				if len(in.SecurityGroupRuleIds) > 0 && !contains(in.SecurityGroupRuleIds, r.id) {
					continue
				}
				ok, err := matchFilters(in.Filters, g.tags, func(name string) ([]string, bool) {
					switch name {
					case "group-id":
						return []string{g.id}, true
					case "security-group-rule-id":
						return []string{r.id}, true
					}
					return nil, false
				})
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, s.sdkRule(g, r, egress))
				}
			}
		}
	}
	start, end, next, err := page(len(out), in.MaxResults, in.NextToken, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupRulesOutput{SecurityGroupRules: out[start:end], NextToken: next}, nil
}
