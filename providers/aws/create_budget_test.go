package aws_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/providers"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// onePort is a plain one-port Service of kind ("classic" or "nlb") whose UID (and so its load
// balancer's name) is distinct per i.
func onePort(kind string, i int) *v1.Service {
	svc := classicService()
	if kind == "nlb" {
		svc = nlbService(nil)
	}
	svc.Name = fmt.Sprintf("%s-%d", kind, i)
	svc.UID = types.UID(fmt.Sprintf("%s%02d3e1c2a-8b7d-4e6f-9a1b-2c3d4e5f6a00", kind[:1], i))
	svc.Spec.LoadBalancerSourceRanges = nil
	svc.Spec.Ports = []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: int32(30100 + i)}}
	return svc
}

// TestCreateCallBudget counts the calls of creating a one-port load balancer of each kind (issue
// 16's targets: at most 10 per Classic Load Balancer, 9 per NLB), after a first Service paid the
// one-off look-ups (instances, subnets, route tables). A first ensure (the controller added the
// finalizer, providers.WithFirstEnsure) skips the look-ups for a load balancer of the other kind
// and, for a Classic one, for its managed group; any other ensure makes them.
func TestCreateCallBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind      string
		first     bool
		want      int
		wantReads int
	}{
		{"classic", true, 8, 1},   // DescribeLoadBalancers; 7 writes
		{"classic", false, 10, 3}, // + the NLB of the same name, the managed group
		{"nlb", true, 9, 3},       // DescribeLoadBalancers, DescribeTargetGroups, the node group; 6 writes
		{"nlb", false, 10, 4},     // + the Classic Load Balancer of the same name
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/first=%v", tt.kind, tt.first), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ensure := func(svc *v1.Service) {
				t.Helper()
				c := ctx
				if tt.first {
					c = providers.WithFirstEnsure(ctx)
				}
				if _, err := e.cloud.EnsureLoadBalancer(c, cluster, svc, e.nodes); err != nil {
					t.Fatal(err)
				}
			}
			ensure(onePort(tt.kind, 0))
			e.srv.ResetCalls()
			svc := onePort(tt.kind, 1)
			ensure(svc)
			w, r, sum := e.counts()
			if w+r != tt.want || r != tt.wantReads {
				t.Errorf("create: %d calls (%d reads), want %d (%d reads): %s", w+r, r, tt.want, tt.wantReads, sum)
			}
			e.srv.ResetCalls()
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
				t.Fatal(err)
			}
			if w, r, sum := e.counts(); w != 0 || r > 2 {
				t.Errorf("the ensure after the create: %d writes, %d reads (%s); want none and at most 2", w, r, sum)
			}
		})
	}
}

// TestFirstEnsureCollision checks that the reads a first ensure skips never make it write to
// what is not its own: a group of another owner under the managed group's name makes the create
// fail (a user error) before any other write, and the next (unmarked) ensure reads it and reports it as not
// ours; the first ensure of an NLB leaves a Classic Load Balancer of another owner under the
// same name alone.
func TestFirstEnsureCollision(t *testing.T) {
	t.Parallel()
	t.Run("managed group name taken", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		svc := onePort("classic", 1)
		name := cloudaws.LoadBalancerName(svc)
		if _, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-elb-" + name),
			VpcId: aws.String(e.built.VPC), Description: aws.String("someone else's")}); err != nil {
			t.Fatal(err)
		}
		e.srv.ResetCalls()
		_, err := e.cloud.EnsureLoadBalancer(providers.WithFirstEnsure(ctx), cluster, svc, e.nodes)
		if !providers.IsUserError(err) || !strings.Contains(err.Error(), "not ours") {
			t.Fatalf("first ensure: got %v, want the user error for a group that is not ours", err)
		}
		if w, _, sum := e.counts(); w != 1 {
			t.Errorf("first ensure wrote %d times (%s), want only the failed CreateSecurityGroup", w, sum)
		}
		_, err = e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
		if !providers.IsUserError(err) || !strings.Contains(err.Error(), "not ours") {
			t.Fatalf("retry: got %v, want the user error for a group that is not ours", err)
		}
		out, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
		if err != nil || len(out.LoadBalancerDescriptions) != 0 {
			t.Fatalf("load balancers after the refusals: %v, %v; want none", out, err)
		}
	})
	t.Run("classic name taken", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		svc := onePort("nlb", 1)
		name := cloudaws.LoadBalancerName(svc)
		if _, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String(name),
			Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstanceProtocol: aws.String("TCP"), InstancePort: aws.Int32(30080)}},
			Subnets:   []string{e.built.Subnets["public-a"]}}); err != nil {
			t.Fatal(err)
		}
		before, _, _ := e.describeTags(t, name)
		if _, err := e.cloud.EnsureLoadBalancer(providers.WithFirstEnsure(ctx), cluster, svc, e.nodes); err != nil {
			t.Fatal(err)
		}
		after, _, _ := e.describeTags(t, name)
		if before != after {
			t.Errorf("the other owner's Classic Load Balancer changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// describeTags renders the Classic Load Balancer name's DNS name, listeners, instances and
// tags, for comparing.
func (e *env) describeTags(t *testing.T, name string) (string, int, error) {
	t.Helper()
	d, err := e.elb.DescribeLoadBalancers(context.Background(), &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	tags, err := e.elb.DescribeTags(context.Background(), &elb.DescribeTagsInput{LoadBalancerNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, lb := range d.LoadBalancerDescriptions {
		parts = append(parts, aws.ToString(lb.DNSName), fmt.Sprint(len(lb.ListenerDescriptions)), fmt.Sprint(lb.SecurityGroups))
		for _, i := range lb.Instances {
			parts = append(parts, aws.ToString(i.InstanceId))
		}
	}
	for _, td := range tags.TagDescriptions {
		for _, tag := range td.Tags {
			parts = append(parts, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " "), len(d.LoadBalancerDescriptions), nil
}
