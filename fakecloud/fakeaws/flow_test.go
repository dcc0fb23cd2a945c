package fakeaws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TestUpstreamFlows replays the order of calls cloud-provider-aws makes to create and
// delete a CLB and an NLB (reference/aws.md B.2, B.4, B.5, B.7) and checks that the
// deletion leaves only the cluster's own node group behind.
func TestUpstreamFlows(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	nodeSG := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("nodes"), Description: aws.String("nodes"), VpcId: aws.String(tp.vpc),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{{Key: aws.String("kubernetes.io/cluster/demo"), Value: aws.String("owned")}}}}})).GroupId
	before := c.srv.Inventory()

	// CLB create: discovery, the LB's group and its rules, the LB, health check, node rule.
	must[*ec2.DescribeSubnetsOutput](t)(c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("vpc-id", tp.vpc)}}))
	must[*ec2.DescribeRouteTablesOutput](t)(c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", tp.vpc)}}))
	sgs := must[*ec2.DescribeSecurityGroupsOutput](t)(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("group-name", "k8s-elb-a1"), filter("vpc-id", tp.vpc)}}))
	if len(sgs.SecurityGroups) != 0 {
		t.Fatal("group exists before creation")
	}
	lbSG := must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-elb-a1"), Description: aws.String("Security group for Kubernetes ELB a1 (default/web)"), VpcId: aws.String(tp.vpc)})).GroupId
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: lbSG, IpPermissions: []ec2types.IpPermission{
		ingress("tcp", 80, "0.0.0.0/0"), {IpProtocol: aws.String("icmp"), FromPort: aws.Int32(3), ToPort: aws.Int32(4), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}))
	_, err := c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{"a1"}})
	wantCode(t, err, "LoadBalancerNotFound")
	must[*elb.CreateLoadBalancerOutput](t)(c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("a1"), Subnets: []string{tp.public}, SecurityGroups: []string{*lbSG},
		Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstanceProtocol: aws.String("TCP"), InstancePort: aws.Int32(30080)}}}))
	must[*elb.DescribeLoadBalancerAttributesOutput](t)(c.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerName: aws.String("a1")}))
	must[*elb.ConfigureHealthCheckOutput](t)(c.elb.ConfigureHealthCheck(ctx, &elb.ConfigureHealthCheckInput{LoadBalancerName: aws.String("a1"), HealthCheck: &elbtypes.HealthCheck{
		Target: aws.String("TCP:30080"), Interval: aws.Int32(10), Timeout: aws.Int32(5), HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(6)}}))
	// The region-wide, paged group listing upstream makes on every sync.
	all := 0
	for p := ec2.NewDescribeSecurityGroupsPaginator(c.ec2, &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(5)}); p.HasMorePages(); {
		all += len(must[*ec2.DescribeSecurityGroupsOutput](t)(p.NextPage(ctx)).SecurityGroups)
	}
	if all != 3 {
		t.Fatalf("paged groups = %d, want default + nodes + k8s-elb-a1", all)
	}
	nodeRule := []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: lbSG}}}}
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: nodeSG, IpPermissions: nodeRule}))
	must[*elb.RegisterInstancesWithLoadBalancerOutput](t)(c.elb.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String("a1"),
		Instances: []elbtypes.Instance{{InstanceId: aws.String(tp.instances[0])}}}))

	// CLB delete: the group cannot go while the LB or the node rule holds it.
	must[*elb.DeleteLoadBalancerOutput](t)(c.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String("a1")}))
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: lbSG})
	wantCode(t, err, "DependencyViolation")
	refs := must[*ec2.DescribeSecurityGroupsOutput](t)(c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("ip-permission.group-id", *lbSG)}}))
	for _, g := range refs.SecurityGroups {
		must[*ec2.RevokeSecurityGroupIngressOutput](t)(c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: nodeRule}))
	}
	must[*ec2.DeleteSecurityGroupOutput](t)(c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: lbSG}))

	// NLB create and delete.
	lb := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("a2"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{tp.public}})).LoadBalancers[0]
	tg := must[*elbv2.CreateTargetGroupOutput](t)(c.elbv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("k8s-default-web-abc"), Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(30080), VpcId: aws.String(tp.vpc)})).TargetGroups[0]
	must[*elbv2.RegisterTargetsOutput](t)(c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []elbv2types.TargetDescription{{Id: aws.String(tp.instances[0]), Port: aws.Int32(30080)}}}))
	must[*elbv2.CreateListenerOutput](t)(c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(80),
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}}))
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: nodeSG, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(30080), ToPort: aws.Int32(30080), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("kubernetes.io/rule/nlb/client=a2")}}}}}))
	tgs := must[*elbv2.DescribeTargetGroupsOutput](t)(c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn}))
	must[*elbv2.DeleteLoadBalancerOutput](t)(c.elbv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}))
	for _, g := range tgs.TargetGroups {
		must[*elbv2.DeleteTargetGroupOutput](t)(c.elbv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: g.TargetGroupArn}))
	}
	must[*ec2.RevokeSecurityGroupIngressOutput](t)(c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: nodeSG, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(30080), ToPort: aws.Int32(30080), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}))

	after := c.srv.Inventory()
	if len(after.ClassicLoadBalancers)+len(after.LoadBalancers)+len(after.TargetGroups)+len(after.Listeners) != 0 ||
		len(after.SecurityGroups) != len(before.SecurityGroups) || len(after.SecurityGroups[0].Ingress) != 0 {
		t.Fatalf("left behind: %+v", after)
	}
}
