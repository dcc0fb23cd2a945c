package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"

	"github.com/cloudlb/cloudlb/annotations"
)

// tagNodeRules holds nodeRulesHash of the last applied node security group rules, so the
// groups are read only when the load balancer's group or the set of node groups changes. A
// node joining with the same group as the others (the common case) changes neither.
const tagNodeRules = "cloudlb.io/node-rules-hash"

// nodeRulesHash summarises what the node rules depend on: the source group and the sorted
// node groups that must let it in.
func nodeRulesHash(source string, groups []string) string {
	sum := sha256.Sum256([]byte(source + "|" + strings.Join(groups, ",")))
	return hex.EncodeToString(sum[:8])
}

// ruleInstances are the instances whose security groups get the node rule: none when the
// Service sets aws-load-balancer-manage-backend-security-group-rules to false, so that
// ensureNodeRules removes the rules it added before.
func ruleInstances(cfg *annotations.AWSConfig, instances []string) []string {
	if !cfg.ManageBackendSecurityGroupRules {
		return nil
	}
	return instances
}

// sourceGroup is the group the load balancer's traffic comes from: the managed group, else
// the first of the groups the Service names (as upstream: sorted, first).
func sourceGroup(groups []string) string {
	if len(groups) == 0 {
		return ""
	}
	return slices.Sorted(slices.Values(groups))[0]
}

// ensureNodeRules lets the load balancer's group into each instance's security group (one
// all-traffic rule per node group, as upstream), and removes that rule from cluster-tagged
// groups no instance needs any more. The instances' groups come from a cache shared by every
// Service; the rules are read and written only when the node-rules tag says the groups
// changed; nothing is done when the cloud config sets DisableSecurityGroupIngress.
func (c *Cloud) ensureNodeRules(ctx context.Context, name, cluster, vpc, source string, instances []string, tags map[string]string) error {
	if c.cfg.Global.DisableSecurityGroupIngress || source == "" {
		return nil
	}
	want, err := c.nodeGroups(ctx, cluster, vpc, instances)
	if err != nil {
		return err
	}
	hash := nodeRulesHash(source, slices.Sorted(maps.Keys(want)))
	if tags[tagNodeRules] == hash {
		return nil
	}
	have, err := c.groupsReferencing(ctx, source)
	if err != nil {
		return err
	}
	for _, g := range slices.Sorted(maps.Keys(want)) {
		if _, ok := have[g]; ok {
			continue
		}
		if _, err := call(ctx, c.limits, "ec2.AuthorizeSecurityGroupIngress", func() (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
			return c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g), IpPermissions: fromGroup(source, name)})
		}); err != nil && errorCode(err) != "InvalidPermission.Duplicate" {
			return err
		}
	}
	for _, g := range slices.Sorted(maps.Keys(have)) {
		if want[g] || !have[g] {
			continue // wanted, or not cluster-tagged (never modified)
		}
		if err := c.revokeFrom(ctx, g, source); err != nil {
			return err
		}
	}
	if _, err := call(ctx, c.limits, "elb.AddTags", func() (*elb.AddTagsOutput, error) {
		return c.elb.AddTags(ctx, &elb.AddTagsInput{LoadBalancerNames: []string{name}, Tags: toTags(map[string]string{tagNodeRules: hash})})
	}); err != nil {
		return err
	}
	c.classic.update(name, func(s *classicState) { s.tags[tagNodeRules] = hash })
	return nil
}

// nodeGroups returns the security group of each instance that gets the rule: its group
// tagged for the cluster, else its only group. The instances' groups and the groups' cluster
// tags come from caches shared by every Service (see instanceGroupsOf).
func (c *Cloud) nodeGroups(ctx context.Context, cluster, vpc string, instances []string) (map[string]bool, error) {
	want := map[string]bool{}
	if len(instances) == 0 {
		return want, nil
	}
	byInstance, err := c.instanceGroupsOf(ctx, vpc, instances)
	if err != nil {
		return nil, err
	}
	var several []string
	for _, groups := range byInstance {
		if len(groups) > 1 {
			several = append(several, groups...)
		}
	}
	tagged, err := c.clusterTagged(ctx, cluster, several)
	if err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(byInstance)) {
		groups := byInstance[id]
		if len(groups) == 1 {
			want[groups[0]] = true
			continue
		}
		var mine []string
		for _, g := range groups {
			if tagged[g] {
				mine = append(mine, g)
			}
		}
		if len(mine) != 1 {
			return nil, fmt.Errorf("instance %s has %d security groups tagged %s (want exactly one to let the load balancer in; or set DisableSecurityGroupIngress)", id, len(mine), clusterTag(cluster))
		}
		want[mine[0]] = true
	}
	return want, nil
}

// groupsReferencing returns the groups with an ingress rule from source, true for those
// tagged for some cluster (the ones we may revoke from).
func (c *Cloud) groupsReferencing(ctx context.Context, source string) (map[string]bool, error) {
	out, err := call(ctx, c.limits, "ec2.DescribeSecurityGroups", func() (*ec2.DescribeSecurityGroupsOutput, error) {
		return c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("ip-permission.group-id"), Values: []string{source}},
		}})
	})
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, g := range out.SecurityGroups {
		taggedForCluster := slices.ContainsFunc(g.Tags, func(t ec2types.Tag) bool { return strings.HasPrefix(aws.ToString(t.Key), tagClusterPrefix) })
		have[aws.ToString(g.GroupId)] = taggedForCluster
	}
	return have, nil
}

func fromGroup(source, name string) []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{
		{GroupId: aws.String(source), Description: aws.String(fmt.Sprintf("cloudlb: traffic from load balancer %s", name))},
	}}}
}

func (c *Cloud) revokeFrom(ctx context.Context, group, source string) error {
	_, err := call(ctx, c.limits, "ec2.RevokeSecurityGroupIngress", func() (*ec2.RevokeSecurityGroupIngressOutput, error) {
		return c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: []ec2types.IpPermission{
			{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(source)}}},
		}})
	})
	if errorCode(err) == "InvalidPermission.NotFound" {
		return nil
	}
	return err
}
