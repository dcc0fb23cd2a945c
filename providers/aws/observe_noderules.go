package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// instanceGroups caches the security groups of the VPC's instances. Node rules need the
// group of every node, and a node change reaches every Service at once: the first Service
// that meets an unknown instance reads the VPC's instances (one paginated call) and the
// others find it cached.
type instanceGroups struct {
	mu     sync.Mutex
	groups map[string][]string
	at     time.Time
	// tagged says, by "cluster/group", whether a group carries the cluster tag; it is
	// emptied with groups.
	tagged map[string]bool
}

// lookup returns the groups of each instance, reading the VPC's running and pending
// instances when one is unknown or the cache is older than networkTTL, and by ID those still
// unknown after that (so a missing instance gives EC2's own error).
func (c *Cloud) instanceGroupsOf(ctx context.Context, vpc string, ids []string) (map[string][]string, error) {
	ig := &c.instances
	ig.mu.Lock()
	defer ig.mu.Unlock()
	fresh := ig.groups != nil && c.now().Sub(ig.at) < networkTTL
	missing := func() []string {
		var out []string
		for _, id := range ids {
			if _, ok := ig.groups[id]; !ok || !fresh {
				out = append(out, id)
			}
		}
		return out
	}
	if len(missing()) > 0 && vpc != "" {
		if err := c.refreshInstances(ctx, vpc); err != nil {
			return nil, err
		}
		fresh = true
	}
	if rest := missing(); len(rest) > 0 {
		some, err := c.describeInstanceGroups(ctx, &ec2.DescribeInstancesInput{InstanceIds: rest})
		if err != nil {
			return nil, err
		}
		if ig.groups == nil || !fresh {
			ig.groups, ig.at, ig.tagged = map[string][]string{}, c.now(), map[string]bool{}
		}
		maps.Copy(ig.groups, some)
	}
	out := make(map[string][]string, len(ids))
	for _, id := range ids {
		out[id] = slices.Clone(ig.groups[id])
	}
	return out, nil
}

// vpcInstanceGroups returns every security group of the VPC's running and pending
// instances, from the cache when it is fresh.
func (c *Cloud) vpcInstanceGroups(ctx context.Context, vpc string) (map[string]bool, error) {
	if vpc == "" {
		return nil, nil
	}
	ig := &c.instances
	ig.mu.Lock()
	defer ig.mu.Unlock()
	if ig.groups == nil || c.now().Sub(ig.at) >= networkTTL {
		if err := c.refreshInstances(ctx, vpc); err != nil {
			return nil, err
		}
	}
	out := map[string]bool{}
	for _, gs := range ig.groups {
		for _, g := range gs {
			out[g] = true
		}
	}
	return out, nil
}

// refreshInstances reads the groups of the VPC's running and pending instances into the
// cache; the caller holds c.instances.mu.
func (c *Cloud) refreshInstances(ctx context.Context, vpc string) error {
	all, err := c.describeInstanceGroups(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}},
	}, MaxResults: aws.Int32(1000)})
	if err != nil {
		return err
	}
	ig := &c.instances
	ig.groups, ig.at, ig.tagged = all, c.now(), map[string]bool{}
	return nil
}

// describeInstanceGroups pages through DescribeInstances and returns each instance's groups.
func (c *Cloud) describeInstanceGroups(ctx context.Context, in *ec2.DescribeInstancesInput) (map[string][]string, error) {
	groups := map[string][]string{}
	for {
		out, err := call(ctx, c.limits, "ec2.DescribeInstances", func() (*ec2.DescribeInstancesOutput, error) {
			return c.ec2.DescribeInstances(ctx, in)
		})
		if err != nil {
			return nil, err
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				id := aws.ToString(i.InstanceId)
				groups[id] = []string{}
				for _, g := range i.SecurityGroups {
					groups[id] = append(groups[id], aws.ToString(g.GroupId))
				}
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return groups, nil
		}
		in.NextToken = out.NextToken
	}
}

// clusterTagged reports which of groups carry the cluster tag, reading only those not cached
// since the last instance refresh. It is needed only for instances with several groups.
func (c *Cloud) clusterTagged(ctx context.Context, cluster string, groups []string) (map[string]bool, error) {
	ig := &c.instances
	ig.mu.Lock()
	defer ig.mu.Unlock()
	if ig.tagged == nil {
		ig.tagged = map[string]bool{}
	}
	var unknown []string
	for _, g := range groups {
		if _, ok := ig.tagged[cluster+"/"+g]; !ok {
			unknown = append(unknown, g)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		out, err := call(ctx, c.limits, "ec2.DescribeSecurityGroups", func() (*ec2.DescribeSecurityGroupsOutput, error) {
			return c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: slices.Compact(unknown)})
		})
		if err != nil {
			return nil, err
		}
		for _, g := range unknown {
			ig.tagged[cluster+"/"+g] = false
		}
		for _, g := range out.SecurityGroups {
			ig.tagged[cluster+"/"+aws.ToString(g.GroupId)] = slices.ContainsFunc(g.Tags, func(t ec2types.Tag) bool { return aws.ToString(t.Key) == clusterTag(cluster) })
		}
	}
	out := map[string]bool{}
	for _, g := range groups {
		out[g] = ig.tagged[cluster+"/"+g]
	}
	return out, nil
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

// referencing reads the groups with an ingress rule from source, with all their rules.
func (c *Cloud) referencing(ctx context.Context, source string) ([]*ObservedGroup, error) {
	out, err := call(ctx, c.limits, "ec2.DescribeSecurityGroups", func() (*ec2.DescribeSecurityGroupsOutput, error) {
		return c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("ip-permission.group-id"), Values: []string{source}},
		}})
	})
	if err != nil {
		return nil, err
	}
	var gs []*ObservedGroup
	for _, sg := range out.SecurityGroups {
		gs = append(gs, &ObservedGroup{ID: aws.ToString(sg.GroupId), Tags: ec2TagMap(sg.Tags), Rules: allRules(sg)})
	}
	return gs, nil
}

// anyClusterTag reports whether a group's tags mark it as some cluster's: only such groups
// have node rules revoked.
func anyClusterTag(tags map[string]string) bool {
	for k := range tags {
		if strings.HasPrefix(k, tagClusterPrefix) {
			return true
		}
	}
	return false
}

// describeGroups reads the given groups with all their rules; groups that no longer exist
// are left out.
func (c *Cloud) describeGroups(ctx context.Context, ids []string) (map[string]*ObservedGroup, error) {
	out := map[string]*ObservedGroup{}
	if len(ids) == 0 {
		return out, nil
	}
	res, err := call(ctx, c.limits, "ec2.DescribeSecurityGroups", func() (*ec2.DescribeSecurityGroupsOutput, error) {
		return c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
	})
	if errorCode(err) == "InvalidGroup.NotFound" && len(ids) > 1 {
		for _, id := range ids { // one is gone: read them one by one
			one, err := c.describeGroups(ctx, []string{id})
			if err != nil {
				return nil, err
			}
			maps.Copy(out, one)
		}
		return out, nil
	}
	if errorCode(err) == "InvalidGroup.NotFound" {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, g := range res.SecurityGroups {
		out[aws.ToString(g.GroupId)] = &ObservedGroup{ID: aws.ToString(g.GroupId), Tags: ec2TagMap(g.Tags), Rules: allRules(g)}
	}
	return out, nil
}

// classicNodes is what Observe read for a Classic Load Balancer's node rules.
type classicNodes struct {
	// source is the group the load balancer's traffic comes from.
	source ref
	// want are the groups of the instances that get the rule (nodeGroups).
	want map[string]bool
	// unchanged says the load balancer's node-rules tag holds the hash of source and want:
	// nothing else was read.
	unchanged bool
	// users are the groups with a rule from source (none read when the plan creates it).
	users []*ObservedGroup
}

// observeClassicNodes reads the groups of instances and, unless the node-rules tag in tags
// says they hold the rules already, the groups that let source in. It returns nil when the
// node rules are not managed (DisableSecurityGroupIngress, or no source).
func (c *Cloud) observeClassicNodes(ctx context.Context, cluster, vpc string, source ref, instances []string, tags map[string]string) (*classicNodes, error) {
	if c.cfg.Global.DisableSecurityGroupIngress || source == (ref{}) {
		return nil, nil
	}
	want, err := c.nodeGroups(ctx, cluster, vpc, instances)
	if err != nil {
		return nil, err
	}
	n := &classicNodes{source: source, want: want}
	if source.id == "" {
		return n, nil // created by the plan: nothing refers to it yet
	}
	if tags[tagNodeRules] == nodeRulesHash(source.id, slices.Sorted(maps.Keys(want))) {
		n.unchanged = true
		return n, nil
	}
	n.users, err = c.referencing(ctx, source.id)
	return n, err
}
