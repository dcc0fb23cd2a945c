package awscontract_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/cloudlb/cloudlb/integration/contract"
)

// sourceRanges checks the CIDRs let into the Classic ELB's managed security group.
func sourceRanges(t *testing.T, lb *classicLB, cidrs ...string) error {
	out, err := shared.ec2.DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: lb.desc.SecurityGroups})
	if err != nil {
		return err
	}
	var got []string
	for _, g := range out.SecurityGroups {
		if !strings.HasPrefix(aws.ToString(g.GroupName), "k8s-elb-") {
			continue
		}
		for _, p := range g.IpPermissions {
			for _, r := range p.IpRanges {
				if c := aws.ToString(r.CidrIp); !slices.Contains(got, c) {
					got = append(got, c)
				}
			}
		}
	}
	slices.Sort(got)
	return contract.Want("source ranges", fmt.Sprint(got), fmt.Sprint(cidrs))
}

// nlbCheck renders the first target group's health check as PROTO:port[path], the port
// "traffic-port" replaced by the group's port.
func nlbCheck(lb *networkLB) string {
	if len(lb.groups) == 0 {
		return "no target group"
	}
	tg := lb.groups[0].tg
	port := aws.ToString(tg.HealthCheckPort)
	if port == "traffic-port" {
		port = fmt.Sprint(aws.ToInt32(tg.Port))
	}
	path := ""
	if tg.HealthCheckProtocol == "HTTP" || tg.HealthCheckProtocol == "HTTPS" {
		path = aws.ToString(tg.HealthCheckPath)
	}
	return fmt.Sprintf("%s:%s%s", tg.HealthCheckProtocol, port, path)
}

// assertNothingLeft fails t when a load balancer, target group or security group tagged for
// one of the services remains.
func assertNothingLeft(t *testing.T, services ...string) {
	t.Helper()
	left, err := ownedResources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range left {
		if slices.Contains(services, r.service) {
			t.Errorf("left behind: %s", r)
		}
	}
}

// ownedResource is a resource tagged kubernetes.io/cluster/<clusterName>, other than the
// network's own.
type ownedResource struct{ kind, id, service string }

func (r ownedResource) String() string { return fmt.Sprintf("%s %s of %s", r.kind, r.id, r.service) }

// ownedResources lists, through the APIs, every load balancer, target group, listener (of
// such load balancers) and security group tagged for the suite's cluster.
func ownedResources(ctx context.Context) ([]ownedResource, error) {
	clusterTag := "kubernetes.io/cluster/" + clusterName
	var out []ownedResource
	lbs, err := shared.elb.DescribeLoadBalancers(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, d := range lbs.LoadBalancerDescriptions {
		name := aws.ToString(d.LoadBalancerName)
		tg, err := shared.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: []string{name}})
		if isNotFound(err) {
			continue // deleted since the listing (tests run in parallel)
		}
		if err != nil {
			return nil, err
		}
		for _, td := range tg.TagDescriptions {
			tags := map[string]string{}
			for _, t := range td.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			if _, ok := tags[clusterTag]; ok {
				out = append(out, ownedResource{"Classic ELB", name, tags[serviceNameTag]})
			}
		}
	}
	v2, err := shared.elb2.DescribeLoadBalancers(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, lb := range v2.LoadBalancers {
		arn := aws.ToString(lb.LoadBalancerArn)
		tags, err := v2Tags(ctx, arn)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, ok := tags[arn][clusterTag]; !ok {
			continue
		}
		out = append(out, ownedResource{"NLB", aws.ToString(lb.LoadBalancerName), tags[arn][serviceNameTag]})
		ls, err := shared.elb2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: &arn})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, l := range ls.Listeners {
			out = append(out, ownedResource{"listener", aws.ToString(l.ListenerArn), tags[arn][serviceNameTag]})
		}
	}
	tgs, err := shared.elb2.DescribeTargetGroups(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, tg := range tgs.TargetGroups {
		arn := aws.ToString(tg.TargetGroupArn)
		tags, err := v2Tags(ctx, arn)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, ok := tags[arn][clusterTag]; ok {
			out = append(out, ownedResource{"target group", aws.ToString(tg.TargetGroupName), tags[arn][serviceNameTag]})
		}
	}
	sgs, err := shared.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{clusterTag}}}})
	if err != nil {
		return nil, err
	}
	for _, g := range sgs.SecurityGroups {
		if id := aws.ToString(g.GroupId); id != shared.net.nodeGroup {
			svc := ""
			for _, t := range g.Tags {
				if aws.ToString(t.Key) == serviceNameTag {
					svc = aws.ToString(t.Value)
				}
			}
			out = append(out, ownedResource{"security group", id + " " + aws.ToString(g.GroupName), svc})
		}
	}
	return out, nil
}
