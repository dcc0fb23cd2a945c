package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/internal/intern"
	"github.com/cloudlb/cloudlb/providers"
)

// The listing (providers.Lister). A restarted controller's first pass would read, per
// Service, the load balancer by name and its tags (DescribeLoadBalancers + DescribeTags).
// The listing reads the region's Classic Load Balancers and ELBv2 load balancers 400 a page,
// and their tags 20 a call, and keeps those with the cluster's ownership tag, keyed by name.
// What it keeps of each is exactly what observe (Classic) or observeNLB reads, so the
// Service's first sync runs its own Observe and Diff on it (the listed load balancer stands
// in for the two reads, listedKey) and skips the calls only when that plan writes nothing:
// same spec hash (so no deep read is due), same listeners, health check, subnets, groups and
// instances for a Classic Load Balancer; ours, the Service's and the model's hash for an NLB.
// Anything else (a difference, an adopted load balancer without the spec-hash tag, a guard
// refusal, a load balancer this process wrote since the listing began) takes the full path,
// which reads again before it writes.

var _ providers.Lister = (*Cloud)(nil)

// listedLB is a listed load balancer (providers.Listed.Observed): one of classic and nlb.
type listedLB struct {
	name    string
	classic *Observed
	nlb     *nlbObserved
}

// listedKey carries the listedLB an Ensure observes in place of its reads of it.
type listedKey struct{}

// ListLoadBalancers lists the Classic Load Balancers and NLBs tagged as the cluster's, keyed
// by name. A name held by both kinds (a type change half done) is left out: its Service is
// observed in full.
func (c *Cloud) ListLoadBalancers(ctx context.Context, clusterName string) (*providers.Listing, error) {
	cluster := c.cluster(clusterName)
	l := &providers.Listing{Seq: c.writes.Begin(), At: time.Now(), Entries: map[string]providers.Listed{}}
	classics, err := c.listClassic(ctx, cluster)
	if err != nil {
		return nil, fmt.Errorf("listing the Classic Load Balancers of cluster %s: %w", cluster, err)
	}
	for _, lb := range classics {
		l.Entries[lb.name] = providers.Listed{SpecHash: lb.classic.Tags[tagSpecHash], Status: status(lb.classic.DNSName), Observed: lb}
	}
	if c.elbv2 == nil {
		return l, nil
	}
	nlbs, err := c.listNLBs(ctx, cluster)
	if err != nil {
		return nil, fmt.Errorf("listing the NLBs of cluster %s: %w", cluster, err)
	}
	for _, lb := range nlbs {
		if _, both := classics[lb.name]; both {
			delete(l.Entries, lb.name)
			continue
		}
		l.Entries[lb.name] = providers.Listed{SpecHash: lb.nlb.tags[tagSpecHash], Status: status(lb.nlb.dns), Observed: lb}
	}
	return l, nil
}

// listClassic reads the region's Classic Load Balancers and their tags and returns the
// cluster's, by name. Their instance lists, nearly all the same, share one copy.
func (c *Cloud) listClassic(ctx context.Context, cluster string) (map[string]*listedLB, error) {
	var descs []elbtypes.LoadBalancerDescription
	if err := c.eachClassic(ctx, func(d elbtypes.LoadBalancerDescription) bool {
		descs = append(descs, d)
		return true
	}); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(descs))
	for _, d := range descs {
		names = append(names, aws.ToString(d.LoadBalancerName))
	}
	tags, err := c.classicTags(ctx, names)
	if err != nil {
		return nil, err
	}
	var shared intern.Lists
	out := map[string]*listedLB{}
	for _, d := range descs {
		name := aws.ToString(d.LoadBalancerName)
		t, ok := tags[name]
		if !ok || !owned(t, cluster) {
			continue
		}
		o := fromDescription(d)
		o.Tags, o.Instances = t, shared.Intern(o.Instances)
		if o.Instances == nil {
			o.Instances = []string{}
		}
		out[name] = &listedLB{name: name, classic: o}
	}
	return out, nil
}

// eachClassic calls fn with each Classic Load Balancer of the region, one
// DescribeLoadBalancers per 400, until fn returns false.
func (c *Cloud) eachClassic(ctx context.Context, fn func(elbtypes.LoadBalancerDescription) bool) error {
	in := &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(describePage)}
	for {
		page, err := call(ctx, c.limits, "elb.DescribeLoadBalancers", func() (*elb.DescribeLoadBalancersOutput, error) {
			return c.elb.DescribeLoadBalancers(ctx, in)
		})
		if err != nil {
			return err
		}
		for _, d := range page.LoadBalancerDescriptions {
			if !fn(d) {
				return nil
			}
		}
		if aws.ToString(page.NextMarker) == "" {
			return nil
		}
		in.Marker = page.NextMarker
	}
}

// eachV2 calls fn with each ELBv2 load balancer of the region, one DescribeLoadBalancers per
// 400, until fn returns false.
func (c *Cloud) eachV2(ctx context.Context, fn func(v2types.LoadBalancer) bool) error {
	in := &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(describePage)}
	for {
		page, err := call(ctx, c.limits, "elbv2.DescribeLoadBalancers", func() (*elbv2.DescribeLoadBalancersOutput, error) {
			return c.elbv2.DescribeLoadBalancers(ctx, in)
		})
		if err != nil {
			return err
		}
		for _, lb := range page.LoadBalancers {
			if !fn(lb) {
				return nil
			}
		}
		if aws.ToString(page.NextMarker) == "" {
			return nil
		}
		in.Marker = page.NextMarker
	}
}

// classicTags reads the tags of Classic Load Balancers names (tagsInChunks).
func (c *Cloud) classicTags(ctx context.Context, names []string) (map[string]map[string]string, error) {
	return tagsInChunks(names, func(chunk []string) (map[string]map[string]string, error) {
		tags, err := call(ctx, c.limits, "elb.DescribeTags", func() (*elb.DescribeTagsOutput, error) {
			return c.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: chunk})
		})
		if err != nil {
			return nil, err
		}
		out := map[string]map[string]string{}
		for _, d := range tags.TagDescriptions {
			out[aws.ToString(d.LoadBalancerName)] = elbTagMap(d.Tags)
		}
		return out, nil
	})
}

// listNLBs reads the region's ELBv2 load balancers and their tags and returns the cluster's
// NLBs, by name.
func (c *Cloud) listNLBs(ctx context.Context, cluster string) (map[string]*listedLB, error) {
	byARN := map[string]*nlbObserved{}
	if err := c.eachV2(ctx, func(lb v2types.LoadBalancer) bool {
		if lb.Type == v2types.LoadBalancerTypeEnumNetwork {
			byARN[aws.ToString(lb.LoadBalancerArn)] = fromNLB(lb)
		}
		return true
	}); err != nil {
		return nil, err
	}
	tags, err := c.v2Tags(ctx, slices.Sorted(maps.Keys(byARN)))
	if err != nil {
		return nil, err
	}
	out := map[string]*listedLB{}
	for arn, o := range byARN {
		t, ok := tags[arn]
		if !ok || !owned(t, cluster) {
			continue
		}
		o.tags = t
		out[o.name] = &listedLB{name: o.name, nlb: o}
	}
	return out, nil
}

// v2Tags reads the tags of ELBv2 load balancers or target groups by ARN (tagsInChunks).
func (c *Cloud) v2Tags(ctx context.Context, arns []string) (map[string]map[string]string, error) {
	return tagsInChunks(arns, func(chunk []string) (map[string]map[string]string, error) {
		tags, err := call(ctx, c.limits, "elbv2.DescribeTags", func() (*elbv2.DescribeTagsOutput, error) {
			return c.elbv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: chunk})
		})
		if err != nil {
			return nil, err
		}
		out := map[string]map[string]string{}
		for _, d := range tags.TagDescriptions {
			out[aws.ToString(d.ResourceArn)] = v2TagMap(d.Tags)
		}
		return out, nil
	})
}

// tagsInChunks reads the tags of keys tagPage at a time with read. When a chunk names a load
// balancer or target group gone since it was listed, the others are read one by one; the gone
// one has no entry.
func tagsInChunks(keys []string, read func(chunk []string) (map[string]map[string]string, error)) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for chunk := range slices.Chunk(keys, tagPage) {
		got, err := read(chunk)
		if code := errorCode(err); code == "LoadBalancerNotFound" || code == "TargetGroupNotFound" {
			if len(chunk) > 1 {
				for _, k := range chunk {
					one, err := tagsInChunks([]string{k}, read)
					if err != nil {
						return nil, err
					}
					maps.Copy(out, one)
				}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		maps.Copy(out, got)
	}
	return out, nil
}

// listed returns the listed load balancer of ctx's Listing for name when the write log lets
// it stand for a read (providers.WriteLog.Unchanged: recent, not written since, and its spec
// hash is hash(), computed only then).
func (c *Cloud) listed(ctx context.Context, name string, hash func() string) *listedLB {
	e, ok := c.writes.Unchanged(providers.ListingFrom(ctx), name, hash)
	if !ok {
		return nil
	}
	lb, _ := e.Observed.(*listedLB)
	return lb
}

// listedClassic is ensureClassic's first sync from a Listing: Observe and Diff run on the
// listed load balancer, and when the plan writes nothing it is applied as the full path
// applies it (which keeps the state for the node-change fast path) and no call is made. ok
// false: ensureClassic reads as without a Listing.
func (c *Cloud) listedClassic(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, m *Model, vpc string) (*v1.LoadBalancerStatus, bool) {
	lb := c.listed(ctx, m.Name, m.DeepHash)
	if lb == nil || lb.classic == nil {
		return nil, false
	}
	_, p, rr, err := c.planClassicGuarded(context.WithValue(ctx, listedKey{}, lb), clusterName, svc, nodes, cfg, m, vpc)
	if err != nil || rr != nil || p.keepNLB || len(p.steps)+len(p.nodeSteps) > 0 {
		return nil, false
	}
	dns, err := c.applyClassic(ctx, m, p, vpc)
	if err != nil {
		return nil, false
	}
	return status(dns), true
}

// listedNLB is listedClassic for an NLB Service: the NLB is the Service's and carries the
// model's hash, so Diff finds it up to date.
func (c *Cloud) listedNLB(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, m *NLBModel, vpc string) (*v1.LoadBalancerStatus, bool) {
	lb := c.listed(ctx, m.Name, m.Hash)
	if lb == nil || lb.nlb == nil {
		return nil, false
	}
	_, o, rr, err := c.observeNLBGuarded(context.WithValue(ctx, listedKey{}, lb), clusterName, svc, nodes, cfg, m, vpc)
	if err != nil || rr != nil || o.keepClassic || o.full {
		return nil, false
	}
	p, err := diffNLB(m, o)
	if err != nil || !p.upToDate {
		return nil, false
	}
	dns, err := c.applyNLB(ctx, m, p, vpc)
	if err != nil {
		return nil, false
	}
	return status(dns), true
}

// observeFirst is observe, or a copy of the Classic Load Balancer listed under name when ctx
// carries one (listedClassic).
func (c *Cloud) observeFirst(ctx context.Context, name string) (*Observed, error) {
	if lb, _ := ctx.Value(listedKey{}).(*listedLB); lb != nil && lb.name == name && lb.classic != nil {
		o := *lb.classic
		o.Listeners, o.Subnets, o.SecurityGroups = slices.Clone(o.Listeners), slices.Clone(o.Subnets), slices.Clone(o.SecurityGroups)
		o.Instances, o.Policies, o.Tags = slices.Clone(o.Instances), slices.Clone(o.Policies), maps.Clone(o.Tags)
		o.ListenerPolicies, o.BackendPolicies = maps.Clone(o.ListenerPolicies), maps.Clone(o.BackendPolicies)
		return &o, nil
	}
	return c.observe(ctx, name)
}

// observeNLBFirst is observeNLB, or a copy of the NLB listed under name when ctx carries one
// (listedNLB).
func (c *Cloud) observeNLBFirst(ctx context.Context, name string) (*nlbObserved, error) {
	if lb, _ := ctx.Value(listedKey{}).(*listedLB); lb != nil && lb.name == name && lb.nlb != nil {
		o := *lb.nlb
		o.subnets, o.groups, o.mappings, o.tags = slices.Clone(o.subnets), slices.Clone(o.groups), maps.Clone(o.mappings), maps.Clone(o.tags)
		return &o, nil
	}
	return c.observeNLB(ctx, name)
}
