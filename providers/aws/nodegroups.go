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
