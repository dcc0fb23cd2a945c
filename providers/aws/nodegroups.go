package aws

import (
	"context"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
)

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
