package fakeaws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// v2Fixture is an NLB with one TCP target group behind a listener, and a second NLB
// without target groups.
type v2Fixture struct {
	tp                topo
	lb, bare, tg, lis string
}

func newV2Fixture(t *testing.T, c *clients) v2Fixture {
	t.Helper()
	tp := buildTopo(t, c)
	nlb := func(name string) string {
		return *must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
			Name: aws.String(name), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{tp.public}})).LoadBalancers[0].LoadBalancerArn
	}
	f := v2Fixture{tp: tp, lb: nlb("lb"), bare: nlb("bare")}
	f.tg = *must[*elbv2.CreateTargetGroupOutput](t)(c.elbv2.CreateTargetGroup(ctx, tgInput(tp.vpc, "tg"))).TargetGroups[0].TargetGroupArn
	f.lis = *must[*elbv2.CreateListenerOutput](t)(c.elbv2.CreateListener(ctx, listenerInput(f.lb, f.tg))).Listeners[0].ListenerArn
	return f
}

func tgInput(vpc, name string) *elbv2.CreateTargetGroupInput {
	return &elbv2.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(30080), VpcId: aws.String(vpc)}
}

func listenerInput(lb, tg string) *elbv2.CreateListenerInput {
	return &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lb), Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(80),
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}}
}

func TestELBv2Validation(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	f := newV2Fixture(t, c)
	createLB := func(mod func(*elbv2.CreateLoadBalancerInput)) func() error {
		return func() error {
			in := &elbv2.CreateLoadBalancerInput{Name: aws.String("new"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{f.tp.public}}
			mod(in)
			_, err := c.elbv2.CreateLoadBalancer(ctx, in)
			return err
		}
	}
	createTG := func(mod func(*elbv2.CreateTargetGroupInput)) func() error {
		return func() error {
			in := tgInput(f.tp.vpc, "new")
			mod(in)
			_, err := c.elbv2.CreateTargetGroup(ctx, in)
			return err
		}
	}
	tag := elbv2types.Tag{Key: aws.String("k"), Value: aws.String("v")}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"lb name starting with internal-", createLB(func(in *elbv2.CreateLoadBalancerInput) { in.Name = aws.String("internal-x") }), "ValidationError"},
		{"lb name with an underscore", createLB(func(in *elbv2.CreateLoadBalancerInput) { in.Name = aws.String("a_b") }), "ValidationError"},
		{"lb name ending with a hyphen", createLB(func(in *elbv2.CreateLoadBalancerInput) { in.Name = aws.String("ab-") }), "ValidationError"},
		{"lb name of 33 characters", createLB(func(in *elbv2.CreateLoadBalancerInput) { in.Name = aws.String("a23456789012345678901234567890123") }), "ValidationError"},
		{"lb with an empty tag list", createLB(func(in *elbv2.CreateLoadBalancerInput) { in.Tags = []elbv2types.Tag{} }), "ValidationError"},
		{"lb of an unknown type", createLB(func(in *elbv2.CreateLoadBalancerInput) { in.Type = "classic" }), "ValidationError"},
		{"lb without subnets", createLB(func(in *elbv2.CreateLoadBalancerInput) { in.Subnets = nil }), "ValidationError"},
		{"lb in a subnet that does not exist", createLB(func(in *elbv2.CreateLoadBalancerInput) { in.Subnets = []string{"subnet-00000000000000000"} }), "SubnetNotFound"},
		{"lb with a security group that does not exist", createLB(func(in *elbv2.CreateLoadBalancerInput) { in.SecurityGroups = []string{"sg-00000000000000000"} }), "InvalidSecurityGroup"},
		{"tg port 0", createTG(func(in *elbv2.CreateTargetGroupInput) { in.Port = aws.Int32(0) }), "ValidationError"},
		{"tg port 65536", createTG(func(in *elbv2.CreateTargetGroupInput) { in.Port = aws.Int32(65536) }), "ValidationError"},
		{"tg health check path without a slash", createTG(func(in *elbv2.CreateTargetGroupInput) {
			in.HealthCheckProtocol, in.HealthCheckPath = elbv2types.ProtocolEnumHttp, aws.String("healthz")
		}), "ValidationError"},
		{"tg health check port 0", createTG(func(in *elbv2.CreateTargetGroupInput) { in.HealthCheckPort = aws.String("0") }), "ValidationError"},
		{"tg health check interval 4", createTG(func(in *elbv2.CreateTargetGroupInput) { in.HealthCheckIntervalSeconds = aws.Int32(4) }), "ValidationError"},
		{"tg healthy threshold 11", createTG(func(in *elbv2.CreateTargetGroupInput) { in.HealthyThresholdCount = aws.Int32(11) }), "ValidationError"},
		{"tg with an empty tag list", createTG(func(in *elbv2.CreateTargetGroupInput) { in.Tags = []elbv2types.Tag{} }), "ValidationError"},
		{"tg in a VPC that does not exist", createTG(func(in *elbv2.CreateTargetGroupInput) { in.VpcId = aws.String("vpc-00000000000000000") }), "ValidationError"},
		{"tg name starting with a hyphen", createTG(func(in *elbv2.CreateTargetGroupInput) { in.Name = aws.String("-tg") }), "ValidationError"},
		{"tg same name, other port", createTG(func(in *elbv2.CreateTargetGroupInput) { in.Name, in.Port = aws.String("tg"), aws.Int32(30081) }), "DuplicateTargetGroupName"},
		{"tg same name, same settings", createTG(func(in *elbv2.CreateTargetGroupInput) { in.Name = aws.String("tg") }), ""},
		{"target groups of a load balancer without any", func() error {
			_, err := c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(f.bare)})
			return err
		}, "TargetGroupNotFound"},
		{"target groups of a load balancer that does not exist", func() error {
			_, err := c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(f.bare + "0")})
			return err
		}, "LoadBalancerNotFound"},
		{"target groups by a name that does not exist", func() error {
			_, err := c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"nope"}})
			return err
		}, "TargetGroupNotFound"},
		{"target groups by an ARN that does not exist", func() error {
			_, err := c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{f.tg + "0"}})
			return err
		}, "TargetGroupNotFound"},
		{"target groups by load balancer and name", func() error {
			_, err := c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(f.lb), Names: []string{"tg"}})
			return err
		}, "ValidationError"},
		{"load balancers by a name that does not exist", func() error {
			_, err := c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"nope"}})
			return err
		}, "LoadBalancerNotFound"},
		{"load balancers by 21 ARNs", func() error {
			arns := make([]string, 21)
			for i := range arns {
				arns[i] = f.lb
			}
			_, err := c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: arns})
			return err
		}, "ValidationError"},
		{"load balancers with page size 0", func() error {
			_, err := c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(0)})
			return err
		}, "ValidationError"},
		{"load balancers with page size 401", func() error {
			_, err := c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(401)})
			return err
		}, "ValidationError"},
		{"load balancers from a marker not handed out", func() error {
			_, err := c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Marker: aws.String("x")})
			return err
		}, "ValidationError"},
		{"tags of 21 load balancers", func() error {
			arns := make([]string, 21)
			for i := range arns {
				arns[i] = f.lb
			}
			_, err := c.elbv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns})
			return err
		}, "ValidationError"},
		{"tags of 20 load balancers", func() error {
			arns := make([]string, 20)
			for i := range arns {
				arns[i] = f.lb
			}
			_, err := c.elbv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns})
			return err
		}, ""},
		{"load balancers by something that is not an ARN", func() error {
			_, err := c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{"lb"}})
			return err
		}, "ValidationError"},
		{"listeners of a load balancer that does not exist", func() error {
			_, err := c.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(f.bare + "0")})
			return err
		}, "LoadBalancerNotFound"},
		{"listener again with the same settings", func() error {
			out, err := c.elbv2.CreateListener(ctx, listenerInput(f.lb, f.tg))
			if err == nil && *out.Listeners[0].ListenerArn != f.lis {
				t.Errorf("repeat created listener %s, want %s", *out.Listeners[0].ListenerArn, f.lis)
			}
			return err
		}, ""},
		{"listener with an empty tag list", func() error {
			in := listenerInput(f.bare, f.tg)
			in.Tags = []elbv2types.Tag{}
			_, err := c.elbv2.CreateListener(ctx, in)
			return err
		}, "ValidationError"},
		{"add tags without tags", func() error {
			_, err := c.elbv2.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{f.lb}, Tags: []elbv2types.Tag{}})
			return err
		}, "ValidationError"},
		{"add tags without resources", func() error {
			_, err := c.elbv2.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{}, Tags: []elbv2types.Tag{tag}})
			return err
		}, "ValidationError"},
		{"add tags with a key twice", func() error {
			_, err := c.elbv2.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{f.lb}, Tags: []elbv2types.Tag{tag, tag}})
			return err
		}, "DuplicateTagKeys"},
		{"remove tags without keys", func() error {
			_, err := c.elbv2.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{f.lb}, TagKeys: []string{}})
			return err
		}, "ValidationError"},
		{"register no targets", func() error {
			_, err := c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(f.tg), Targets: []elbv2types.TargetDescription{}})
			return err
		}, "ValidationError"},
		{"register a target on port 0", func() error {
			_, err := c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(f.tg), Targets: []elbv2types.TargetDescription{{Id: aws.String(f.tp.instances[0]), Port: aws.Int32(0)}}})
			return err
		}, "ValidationError"},
		{"register an instance that does not exist", func() error {
			_, err := c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(f.tg), Targets: []elbv2types.TargetDescription{{Id: aws.String("i-00000000000000000")}}})
			return err
		}, "InvalidTarget"},
		{"delete a target group a listener uses", func() error {
			_, err := c.elbv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(f.tg)})
			return err
		}, "ResourceInUse"},
		{"delete a load balancer by something that is not an ARN", func() error {
			_, err := c.elbv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String("lb")})
			return err
		}, "ValidationError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.call(), tc.want)
		})
	}
	inv := c.srv.Inventory()
	if len(inv.LoadBalancers) != 2 || len(inv.TargetGroups) != 1 || len(inv.Listeners) != 1 {
		t.Fatalf("inventory after refused calls = %+v", inv)
	}
}

// After its last listener goes away, a target group stays in use for the configured number
// of DeleteTargetGroup calls, whichever way the listener went.
func TestTargetGroupInUseAfterDelete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		calls  int
		remove func(c *clients, f v2Fixture) error
	}{
		{"DeleteLoadBalancer", 2, func(c *clients, f v2Fixture) error {
			_, err := c.elbv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(f.lb)})
			return err
		}},
		{"DeleteListener", 1, func(c *clients, f v2Fixture) error {
			_, err := c.elbv2.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(f.lis)})
			return err
		}},
		{"option off", 0, func(c *clients, f v2Fixture) error {
			_, err := c.elbv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(f.lb)})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newFakeWith(t, Options{TargetGroupInUseCalls: tc.calls})
			f := newV2Fixture(t, c)
			del := func() error {
				_, err := c.elbv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(f.tg)})
				return err
			}
			// While the listener forwards to it, the group is in use whatever the option.
			wantCode(t, del(), "ResourceInUse")
			if err := tc.remove(c, f); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tc.calls; i++ {
				wantCode(t, del(), "ResourceInUse")
			}
			wantCode(t, del(), "")
			if got := c.srv.Inventory().TargetGroups; len(got) != 0 {
				t.Fatalf("target groups = %v", got)
			}
		})
	}
}
