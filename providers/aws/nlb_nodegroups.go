package aws

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// tagNodeGroups lists, on an NLB, the node security groups holding its rules, so rules are
// removed from groups no instance uses any more and on deletion, without reading every group
// of the region as upstream does. A tag value holds 256 characters: about a dozen groups.
const tagNodeGroups = "cloudlb.io/node-groups"

// ensureNLBNodeRules makes the NLB's rules in each instance's security group exactly
// m.NodeRules, and removes them from groups it used before; it returns the tag value listing
// the groups now holding them. The MTU rules are shared by every NLB on a group and follow
// the client rules left in it.
func (c *Cloud) ensureNLBNodeRules(ctx context.Context, m *NLBModel, vpc string, tags map[string]string) (string, error) {
	if c.cfg.Global.DisableSecurityGroupIngress {
		return "", nil
	}
	want, err := c.nodeGroups(ctx, m.Cluster, vpc, m.Instances)
	if err != nil {
		return "", err
	}
	all := taggedGroups(tags)
	maps.Copy(all, want)
	err = c.planNodeRules(ctx, all, m.Name, func(id string) []Rule {
		if want[id] {
			return m.NodeRules
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	v := strings.Join(slices.Sorted(maps.Keys(want)), ",")
	if len(v) > 256 {
		v = "" // too many groups to remember: cleanup falls back to what is wanted next time
	}
	return v, nil
}

// revokeNLBNodeRules removes the NLB's client and health rules from the groups its tag
// lists and from the groups of the VPC's instances: the tag alone misses a group after a
// failure between a rule write and the tag write, or when the tag overflowed.
func (c *Cloud) revokeNLBNodeRules(ctx context.Context, o *nlbObserved, vpc string) error {
	if c.cfg.Global.DisableSecurityGroupIngress {
		return nil
	}
	all := taggedGroups(o.tags)
	vpcGroups, err := c.vpcInstanceGroups(ctx, vpc)
	if err != nil {
		return err
	}
	maps.Copy(all, vpcGroups)
	return c.planNodeRules(ctx, all, o.name, func(string) []Rule { return nil })
}

// taggedGroups are the node groups an NLB's tag lists.
func taggedGroups(tags map[string]string) map[string]bool {
	out := map[string]bool{}
	for g := range strings.SplitSeq(tags[tagNodeGroups], ",") {
		if g != "" {
			out[g] = true
		}
	}
	return out
}

// planNodeRules reads the groups ids (those that still exist) and makes name's rules in each
// equal to want(id), with the shared MTU rules following (nodeRulePlan).
func (c *Cloud) planNodeRules(ctx context.Context, ids map[string]bool, name string, want func(id string) []Rule) error {
	if len(ids) == 0 {
		return nil
	}
	groups, err := c.describeGroups(ctx, slices.Sorted(maps.Keys(ids)))
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(groups)) {
		add, remove := nodeRulePlan(groups[id], want(id), name)
		if err := c.authorize(ctx, id, add); err != nil {
			return err
		}
		if err := c.revoke(ctx, id, remove); err != nil {
			return err
		}
	}
	return nil
}

// nodeRulePlan makes name's client and health rules in a group with rules existing equal to
// the client and health rules in want, and the shared MTU rules equal to the IPv4 sources of
// every NLB's client rules left in the group.
func nodeRulePlan(existing, want []Rule, name string) (add, remove []Rule) {
	mine := func(r Rule) bool { return r.Description == ruleClient+name || r.Description == ruleHealth+name }
	have := map[string]Rule{}
	final := map[string]Rule{}
	for _, r := range existing {
		final[r.key()] = r
		if mine(r) {
			have[r.key()] = r
		}
	}
	for _, r := range want {
		if !mine(r) {
			continue
		}
		if _, ok := have[r.key()]; !ok {
			add = append(add, r)
			final[r.key()] = r
		}
		delete(have, r.key())
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		remove = append(remove, have[k])
		delete(final, k)
	}
	mtu := map[string]bool{}
	for _, r := range final {
		if strings.HasPrefix(r.Description, ruleClient) && r.CIDR != "" && !strings.Contains(r.CIDR, ":") {
			mtu[r.CIDR] = true
		}
	}
	for _, r := range final {
		if r.Description == ruleMTU {
			if !mtu[r.CIDR] {
				remove = append(remove, r)
			}
			delete(mtu, r.CIDR)
		}
	}
	for _, cidr := range slices.Sorted(maps.Keys(mtu)) {
		add = append(add, Rule{Protocol: "icmp", FromPort: 3, ToPort: 4, CIDR: cidr, Description: ruleMTU})
	}
	return add, remove
}

// revoke removes rules from group, tolerating rules already gone.
func (c *Cloud) revoke(ctx context.Context, group string, rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	_, err := call(ctx, c.limits, "ec2.RevokeSecurityGroupIngress", func() (*ec2.RevokeSecurityGroupIngressOutput, error) {
		return c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: toPermissions(rules)})
	})
	if errorCode(err) == "InvalidPermission.NotFound" {
		return nil
	}
	return err
}
