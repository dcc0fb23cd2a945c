package aws

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cloudlb/cloudlb/providers"
)

// withGroupID replaces managedGroupRef in rules by the managed group's ID.
func withGroupID(rules []Rule, id string) []Rule {
	out := slices.Clone(rules)
	for i := range out {
		if out[i].Group == managedGroupRef {
			out[i].Group = id
		}
	}
	return out
}

// ensureNLBGroups returns the groups the NLB must have: the managed group (found or created,
// its rules made exactly the model's), or the user's groups, or none.
func (c *Cloud) ensureNLBGroups(ctx context.Context, m *NLBModel, vpc string) ([]string, error) {
	sg := m.ManagedSecurityGroup
	if sg == nil {
		return slices.Clone(m.SecurityGroups), nil
	}
	g, err := c.findGroupWith(ctx, sg.Name, vpc, allRules)
	if err != nil {
		return nil, err
	}
	var id string
	var have []Rule
	switch {
	case g == nil:
		if id, err = c.createGroup(ctx, sg, m.Cluster, m.Service, vpc); err != nil {
			return nil, err
		}
	case !owned(g.Tags, m.Cluster):
		return nil, providers.NewUserError(m.Service, "security group %s already exists without the tag %s=%s; it is not ours and is left untouched", sg.Name, clusterTag(m.Cluster), tagOwned)
	default:
		if err := ownedBy(g.Tags, m.Service, sg.Name); err != nil {
			return nil, err
		}
		id, have = g.ID, g.Rules
	}
	add, remove := exactRules(have, sg.Rules)
	if err := c.authorize(ctx, id, add); err != nil {
		return nil, err
	}
	if err := c.revoke(ctx, id, remove); err != nil {
		return nil, err
	}
	return []string{id}, nil
}

// exactRules are the rules to add and remove so that have becomes want (descriptions aside).
func exactRules(have, want []Rule) (add, remove []Rule) {
	keep := map[string]bool{}
	for _, r := range want {
		keep[r.key()] = true
	}
	present := map[string]bool{}
	for _, r := range have {
		present[r.key()] = true
		if !keep[r.key()] {
			remove = append(remove, r)
		}
	}
	for _, r := range want {
		if !present[r.key()] {
			add = append(add, r)
		}
	}
	return add, remove
}

// setNLBGroups gives an NLB that has groups the wanted ones and PrivateLink setting.
func (c *Cloud) setNLBGroups(ctx context.Context, m *NLBModel, o *nlbObserved, groups []string) error {
	want := cmp.Or(m.PrivateLinkInboundRules, enforceOn)
	if len(groups) == 0 || slices.Equal(slices.Sorted(slices.Values(o.groups)), slices.Sorted(slices.Values(groups))) && cmp.Or(o.enforce, enforceOn) == want {
		return nil
	}
	_, err := call(ctx, c.limits, "elbv2.SetSecurityGroups", func() (*elbv2.SetSecurityGroupsOutput, error) {
		return c.elbv2.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(o.arn), SecurityGroups: groups,
			EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: v2types.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum(want)})
	})
	return userGroupError(m, err)
}

// dropNLBGroup deletes the managed group of an NLB that no longer uses one, once nothing
// refers to it; DependencyViolation while the NLB's interfaces let go is transient.
func (c *Cloud) dropNLBGroup(ctx context.Context, m *NLBModel, vpc string) error {
	g, err := c.findGroup(ctx, securityGroupName(m.Name), vpc)
	if err != nil || g == nil || !owned(g.Tags, m.Cluster) {
		return err
	}
	if err := c.revokeAllFrom(ctx, g.ID); err != nil {
		return err
	}
	return c.deleteGroup(ctx, g.ID)
}

// revokeAllFrom removes every ingress rule, whatever its protocol and ports, that lets
// source in, before source is deleted.
func (c *Cloud) revokeAllFrom(ctx context.Context, source string) error {
	out, err := call(ctx, c.limits, "ec2.DescribeSecurityGroups", func() (*ec2.DescribeSecurityGroupsOutput, error) {
		return c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("ip-permission.group-id"), Values: []string{source}},
		}})
	})
	if err != nil {
		return err
	}
	for _, g := range out.SecurityGroups {
		var perms []ec2types.IpPermission
		for _, p := range g.IpPermissions {
			if slices.ContainsFunc(p.UserIdGroupPairs, func(u ec2types.UserIdGroupPair) bool { return aws.ToString(u.GroupId) == source }) {
				perms = append(perms, ec2types.IpPermission{IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort,
					UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(source)}}})
			}
		}
		if len(perms) == 0 {
			continue
		}
		_, err := call(ctx, c.limits, "ec2.RevokeSecurityGroupIngress", func() (*ec2.RevokeSecurityGroupIngressOutput, error) {
			return c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: perms})
		})
		if err != nil && errorCode(err) != "InvalidPermission.NotFound" {
			return err
		}
	}
	return nil
}

// revokeClassicFrom removes only the Classic Load Balancer's all-traffic rules from source,
// when an NLB takes its group over.
func (c *Cloud) revokeClassicFrom(ctx context.Context, source string) error {
	have, err := c.groupsReferencing(ctx, source)
	if err != nil {
		return err
	}
	for _, g := range slices.Sorted(maps.Keys(have)) {
		if err := c.revokeFrom(ctx, g, source); err != nil {
			return err
		}
	}
	return nil
}

// tgAttributeDefaults are AWS's values of the NLB target-group attributes (instance
// targets): a key dropped from the annotations is set back to its default.
var tgAttributeDefaults = map[string]string{
	"deregistration_delay.timeout_seconds":                                           "300",
	"deregistration_delay.connection_termination.enabled":                            "false",
	"preserve_client_ip.enabled":                                                     "true",
	"proxy_protocol_v2.enabled":                                                      "false",
	"stickiness.enabled":                                                             "false",
	"stickiness.type":                                                                "source_ip",
	"load_balancing.cross_zone.enabled":                                              "use_load_balancer_configuration",
	"target_health_state.unhealthy.connection_termination.enabled":                   "true",
	"target_health_state.unhealthy.draining_interval_seconds":                        "0",
	"target_group_health.dns_failover.minimum_healthy_targets.count":                 "1",
	"target_group_health.dns_failover.minimum_healthy_targets.percentage":            "off",
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      "1",
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
}

// lbAttributeDefaults are AWS's values of the NLB attributes aws-load-balancer-attributes
// may set (other than access logs and cross-zone, which are always written).
func lbAttributeDefaults(internal bool) map[string]string {
	return map[string]string{
		"deletion_protection.enabled":            "false",
		"ipv6.deny_all_igw_traffic":              strconv.FormatBool(internal),
		"zonal_shift.config.enabled":             "false",
		"dns_record.client_routing_policy":       "any_availability_zone",
		"secondary_ips.auto_assigned.per_subnet": "0",
	}
}
