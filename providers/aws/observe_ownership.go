package aws

import (
	"context"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"
)

// What a Service owns is known from the cloud's tags (kubernetes.io/cluster/<cluster>=owned
// and kubernetes.io/service-name=<ns>/<name>), never from the shape of a name or a DNS name:
// emulators, other partitions and internal or dualstack names all differ from
// <name>-<id>.<region>.elb.amazonaws.com.

// tagPage is how many names or ARNs one DescribeTags call takes (both ELB APIs), and
// describePage the page size of their DescribeLoadBalancers and DescribeTargetGroups.
const (
	tagPage      = 20
	describePage = 400
)

// ownedLB is a load balancer whose tags say it is the Service's.
type ownedLB struct {
	name string
	// arn is set for an NLB, empty for a Classic Load Balancer.
	arn string
}

// kind is "NLB" or "Classic Load Balancer", for messages.
func (o ownedLB) kind() string {
	if o.arn != "" {
		return "NLB"
	}
	return "Classic Load Balancer"
}

// hasIngress reports whether the Service's status shows an address: it had a load balancer.
func hasIngress(svc *v1.Service) bool { return len(svc.Status.LoadBalancer.Ingress) > 0 }

// findOwned lists the Classic Load Balancers and NLBs whose tags say they are service's in
// cluster. It reads every load balancer of the region (400 a page, tags for 20 a call), so it
// is called only when the load balancer the Service's name points at is missing although the
// status shows one: a changed aws-load-balancer-name, or a load balancer removed by hand.
func (c *Cloud) findOwned(ctx context.Context, cluster, service string) ([]ownedLB, error) {
	var out []ownedLB
	var names []string
	if err := c.eachClassic(ctx, func(d elbtypes.LoadBalancerDescription) bool {
		names = append(names, aws.ToString(d.LoadBalancerName))
		return true
	}); err != nil {
		return nil, err
	}
	tags, err := c.classicTags(ctx, names)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if t, ok := tags[name]; ok && isService(t, cluster, service) {
			out = append(out, ownedLB{name: name})
		}
	}
	if c.elbv2 == nil {
		return out, nil
	}
	arns := map[string]string{} // ARN -> name
	if err := c.eachV2(ctx, func(lb v2types.LoadBalancer) bool {
		arns[aws.ToString(lb.LoadBalancerArn)] = aws.ToString(lb.LoadBalancerName)
		return true
	}); err != nil {
		return nil, err
	}
	mine, err := c.v2Owned(ctx, slices.Sorted(maps.Keys(arns)), cluster, service)
	if err != nil {
		return nil, err
	}
	for _, arn := range mine {
		out = append(out, ownedLB{name: arns[arn], arn: arn})
	}
	return out, nil
}

// v2Owned returns those of arns (load balancers or target groups) whose tags say they are
// service's in cluster, reading tags 20 ARNs a call.
func (c *Cloud) v2Owned(ctx context.Context, arns []string, cluster, service string) ([]string, error) {
	tags, err := c.v2Tags(ctx, arns)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, arn := range arns {
		if t, ok := tags[arn]; ok && isService(t, cluster, service) {
			out = append(out, arn)
		}
	}
	return out, nil
}

// ownedTargetGroups returns the ARNs of the target groups in vpc tagged as service's in
// cluster. Only groups that no load balancer uses, or that one of lbArns (the Service's own
// NLBs) uses, can be ours, so only their tags are read: a resync of a region full of other
// NLBs costs one DescribeTargetGroups page per 400 groups, not a tag read per group.
func (c *Cloud) ownedTargetGroups(ctx context.Context, cluster, service, vpc string, lbArns []string) ([]string, error) {
	var candidates []string
	in := &elbv2.DescribeTargetGroupsInput{PageSize: aws.Int32(describePage)}
	for {
		page, err := call(ctx, c.limits, "elbv2.DescribeTargetGroups", func() (*elbv2.DescribeTargetGroupsOutput, error) {
			return c.elbv2.DescribeTargetGroups(ctx, in)
		})
		if errorCode(err) == "TargetGroupNotFound" {
			break // AWS answers so for an empty listing too
		}
		if err != nil {
			return nil, err
		}
		for _, tg := range page.TargetGroups {
			if vpc != "" && aws.ToString(tg.VpcId) != vpc {
				continue
			}
			attached := len(tg.LoadBalancerArns) > 0
			ours := slices.ContainsFunc(tg.LoadBalancerArns, func(a string) bool { return slices.Contains(lbArns, a) })
			if !attached || ours {
				candidates = append(candidates, aws.ToString(tg.TargetGroupArn))
			}
		}
		if aws.ToString(page.NextMarker) == "" {
			break
		}
		in.Marker = page.NextMarker
	}
	return c.v2Owned(ctx, candidates, cluster, service)
}

// ownedGroups returns the security groups in vpc tagged as service's in cluster (the managed
// groups k8s-elb-<name>, whatever name they were created under), with all their rules.
func (c *Cloud) ownedGroups(ctx context.Context, cluster, service, vpc string) ([]*ObservedGroup, error) {
	return c.groupsTagged(ctx, cluster, vpc, tagServiceName, service)
}

// groupsTagged returns the security groups in vpc ("" for any) owned by cluster and tagged
// key=value, with all their rules: one DescribeSecurityGroups.
func (c *Cloud) groupsTagged(ctx context.Context, cluster, vpc, key, value string) ([]*ObservedGroup, error) {
	filters := []ec2types.Filter{
		{Name: aws.String("tag:" + clusterTag(cluster)), Values: []string{tagOwned}},
		{Name: aws.String("tag:" + key), Values: []string{value}},
	}
	if vpc != "" {
		filters = append(filters, ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpc}})
	}
	out, err := call(ctx, c.limits, "ec2.DescribeSecurityGroups", func() (*ec2.DescribeSecurityGroupsOutput, error) {
		return c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters})
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

// isService reports whether tags say the resource is service's in cluster.
func isService(tags map[string]string, cluster, service string) bool {
	return owned(tags, cluster) && tags[tagServiceName] == service
}

// elbTagMap, v2TagMap and ec2TagMap turn each API's tag list into a map.
func elbTagMap(ts []elbtypes.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func v2TagMap(ts []v2types.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func ec2TagMap(ts []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
