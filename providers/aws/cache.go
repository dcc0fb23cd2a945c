package aws

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// classicState is what the last observation of one of our Classic Load Balancers, followed
// by our own writes, left: its registered instances and its tags. UpdateLoadBalancer (node
// churn) starts from it instead of reading the load balancer again; every EnsureLoadBalancer
// reads the load balancer and replaces it, so a change made by someone else is found by the
// next full sync (and the drift repair period bounds how long that takes).
type classicState struct {
	instances []string
	tags      map[string]string
}

// classicCache holds classicState by load balancer name. Only load balancers observed with
// our ownership tag are put in it.
type classicCache struct {
	mu sync.Mutex
	m  map[string]classicState
}

func (c *classicCache) get(name string) (classicState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[name]
	if !ok {
		return classicState{}, false
	}
	return classicState{instances: slices.Clone(s.instances), tags: maps.Clone(s.tags)}, true
}

func (c *classicCache) put(name string, instances []string, tags map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]classicState{}
	}
	c.m[name] = classicState{instances: slices.Sorted(slices.Values(instances)), tags: maps.Clone(tags)}
}

// update changes a cached entry in place; it does nothing when name is not cached.
func (c *classicCache) update(name string, fn func(*classicState)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[name]
	if !ok {
		return
	}
	fn(&s)
	c.m[name] = s
}

func (c *classicCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, name)
}

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

// appliedTags is the load balancer's tags after apply wrote p: observed, minus the removed,
// plus the set ones with the managed group resolved; a created one starts from the model's.
func appliedTags(observed map[string]string, m *Model, p *Plan) map[string]string {
	tags := maps.Clone(observed)
	if p.Create {
		tags = maps.Clone(m.Tags)
	}
	if tags == nil {
		tags = map[string]string{}
	}
	for _, k := range p.RemoveTags {
		delete(tags, k)
	}
	for k, v := range p.SetTags {
		if v == managedGroupRef {
			v = p.GroupID
		}
		tags[k] = v
	}
	return tags
}
