package fakeaws

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
)

func TestClassicValidation(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	tcp := []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstancePort: aws.Int32(30080)}}
	create := func(in *elb.CreateLoadBalancerInput) (*elb.CreateLoadBalancerOutput, error) {
		if in.Subnets == nil {
			in.Subnets = []string{tp.public}
		}
		return c.elb.CreateLoadBalancer(ctx, in)
	}
	first := must[*elb.CreateLoadBalancerOutput](t)(create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("web"), Listeners: tcp}))
	tag := func(k string) elbtypes.Tag { return elbtypes.Tag{Key: aws.String(k), Value: aws.String("v")} }
	tests := []struct {
		name       string
		call       func() error
		want       string
		wantStatus int
	}{
		{"same name and settings answers the existing load balancer", func() error {
			out, err := create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("web"), Listeners: tcp})
			if err == nil && *out.DNSName != *first.DNSName {
				t.Errorf("repeat answered %s, want %s", *out.DNSName, *first.DNSName)
			}
			return err
		}, "", 0},
		{"same name, other listeners", func() error {
			_, err := create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("web"), Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 81, InstancePort: aws.Int32(30080)}}})
			return err
		}, "DuplicateLoadBalancerName", 400},
		{"same name, other scheme", func() error {
			_, err := create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("web"), Listeners: tcp, Scheme: aws.String("internal")})
			return err
		}, "DuplicateLoadBalancerName", 400},
		{"empty listener list", func() error {
			_, err := create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("x1"), Listeners: []elbtypes.Listener{}})
			return err
		}, "ValidationError", 400},
		{"empty tag list on create", func() error {
			_, err := create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("x2"), Listeners: tcp, Tags: []elbtypes.Tag{}})
			return err
		}, "ValidationError", 400},
		{"name starting with a hyphen", func() error {
			_, err := create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("-x"), Listeners: tcp})
			return err
		}, "ValidationError", 400},
		{"name of 33 characters", func() error {
			_, err := create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("a23456789012345678901234567890123"), Listeners: tcp})
			return err
		}, "ValidationError", 400},
		{"subnet that does not exist", func() error {
			_, err := create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("x3"), Listeners: tcp, Subnets: []string{"subnet-00000000000000000"}})
			return err
		}, "SubnetNotFound", 400},
		{"security group that does not exist", func() error {
			_, err := create(&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("x4"), Listeners: tcp, SecurityGroups: []string{"sg-00000000000000000"}})
			return err
		}, "InvalidSecurityGroup", 400},
		{"add tags without tags", func() error {
			_, err := c.elb.AddTags(ctx, &elb.AddTagsInput{LoadBalancerNames: []string{"web"}, Tags: []elbtypes.Tag{}})
			return err
		}, "ValidationError", 400},
		{"add tags with a key twice", func() error {
			_, err := c.elb.AddTags(ctx, &elb.AddTagsInput{LoadBalancerNames: []string{"web"}, Tags: []elbtypes.Tag{tag("a"), tag("a")}})
			return err
		}, "DuplicateTagKeys", 400},
		{"add tags to two load balancers", func() error {
			_, err := c.elb.AddTags(ctx, &elb.AddTagsInput{LoadBalancerNames: []string{"web", "web"}, Tags: []elbtypes.Tag{tag("a")}})
			return err
		}, "ValidationError", 400},
		{"remove tags without keys", func() error {
			_, err := c.elb.RemoveTags(ctx, &elb.RemoveTagsInput{LoadBalancerNames: []string{"web"}, Tags: []elbtypes.TagKeyOnly{}})
			return err
		}, "ValidationError", 400},
		{"describe tags of a load balancer that does not exist", func() error {
			_, err := c.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: []string{"nope"}})
			return err
		}, "LoadBalancerNotFound", 400},
		{"describe tags of 21 load balancers", func() error {
			_, err := c.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: slices.Repeat([]string{"web"}, 21)})
			return err
		}, "ValidationError", 400},
		{"describe tags of 20 load balancers", func() error {
			_, err := c.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: slices.Repeat([]string{"web"}, 20)})
			return err
		}, "", 0},
		{"describe with page size 0", func() error {
			_, err := c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(0)})
			return err
		}, "ValidationError", 400},
		{"describe with page size 401", func() error {
			_, err := c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(401)})
			return err
		}, "ValidationError", 400},
		{"describe from a marker not handed out", func() error {
			_, err := c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Marker: aws.String("x")})
			return err
		}, "ValidationError", 400},
		{"describe a load balancer that does not exist", func() error {
			_, err := c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{"nope"}})
			return err
		}, "LoadBalancerNotFound", 400},
		{"identical listener again", func() error {
			_, err := c.elb.CreateLoadBalancerListeners(ctx, &elb.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String("web"), Listeners: tcp})
			return err
		}, "", 0},
		{"listener on a taken port", func() error {
			_, err := c.elb.CreateLoadBalancerListeners(ctx, &elb.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String("web"),
				Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstancePort: aws.Int32(30081)}}})
			return err
		}, "DuplicateListener", 400},
		{"delete listeners without ports", func() error {
			_, err := c.elb.DeleteLoadBalancerListeners(ctx, &elb.DeleteLoadBalancerListenersInput{LoadBalancerName: aws.String("web"), LoadBalancerPorts: []int32{}})
			return err
		}, "ValidationError", 400},
		{"health of an instance not registered", func() error {
			_, err := c.elb.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String("web"), Instances: []elbtypes.Instance{{InstanceId: aws.String(tp.instances[0])}}})
			return err
		}, "InvalidInstance", 400},
		{"detach the last subnet is a 409", func() error {
			_, err := c.elb.DetachLoadBalancerFromSubnets(ctx, &elb.DetachLoadBalancerFromSubnetsInput{LoadBalancerName: aws.String("web"), Subnets: []string{tp.public}})
			return err
		}, "InvalidConfigurationRequest", 409},
		{"health check port out of range", func() error {
			_, err := c.elb.ConfigureHealthCheck(ctx, &elb.ConfigureHealthCheckInput{LoadBalancerName: aws.String("web"), HealthCheck: &elbtypes.HealthCheck{
				Target: aws.String("TCP:70000"), Interval: aws.Int32(10), Timeout: aws.Int32(5), HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(2)}})
			return err
		}, "ValidationError", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantCode(t, err, tc.want)
			if tc.wantStatus != 0 && httpStatus(err) != tc.wantStatus {
				t.Fatalf("status of %v is not %d", err, tc.wantStatus)
			}
		})
	}
	if got := c.srv.Inventory().ClassicLoadBalancers; len(got) != 1 {
		t.Fatalf("classic load balancers = %v, want only web", got)
	}
}
