package aws_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	awsprovider "github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/providers"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// The replacement guard on aws-load-balancer-type (loadbalancer_kind.go).

// createUpstreamClassic makes svc's Classic Load Balancer as cloud-provider-aws does: TCP
// listeners, its k8s-elb group, the ownership tags, the two nodes registered. It returns
// the DNS name.
func (e *env) createUpstreamClassic(t *testing.T, svc *v1.Service) string {
	t.Helper()
	name := cloudaws.LoadBalancerName(svc)
	g, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-elb-" + name), VpcId: aws.String(e.built.VPC),
		Description: aws.String(fmt.Sprintf("Security group for Kubernetes ELB %s (shop/web)", name)),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags: []ec2types.Tag{{Key: aws.String("kubernetes.io/cluster/" + cluster), Value: aws.String("owned")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var tags []elbtypes.Tag
	for k, v := range upstreamTags() {
		tags = append(tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	var listeners []elbtypes.Listener
	for _, p := range svc.Spec.Ports {
		listeners = append(listeners, elbtypes.Listener{Protocol: aws.String("TCP"), LoadBalancerPort: p.Port, InstanceProtocol: aws.String("TCP"), InstancePort: aws.Int32(p.NodePort)})
	}
	lb, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String(name), Listeners: listeners,
		Subnets: []string{e.built.Subnets["public-a"], e.built.Subnets["public-b"]}, SecurityGroups: []string{aws.ToString(g.GroupId)}, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	var inst []elbtypes.Instance
	for _, n := range []string{"node-a-1", "node-a-2"} {
		inst = append(inst, elbtypes.Instance{InstanceId: aws.String(e.built.Instances[n])})
	}
	if _, err := e.elb.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String(name), Instances: inst}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(lb.DNSName)
}

// kindNow is the DNS name of svc's load balancer of each kind ("" for none) and the
// instances each serves (a Classic Load Balancer's registered instances; the targets of
// every target group of the NLB's listeners).
func (e *env) kindNow(t *testing.T, svc *v1.Service) (classicDNS, nlbDNS string, classicInst, nlbInst []string) {
	t.Helper()
	name := cloudaws.LoadBalancerName(svc)
	if d, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}}); err == nil && len(d.LoadBalancerDescriptions) == 1 {
		classicDNS = aws.ToString(d.LoadBalancerDescriptions[0].DNSName)
		for _, i := range d.LoadBalancerDescriptions[0].Instances {
			classicInst = append(classicInst, aws.ToString(i.InstanceId))
		}
		slices.Sort(classicInst)
	}
	out, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil || len(out.LoadBalancers) != 1 {
		return classicDNS, "", classicInst, nil
	}
	nlbDNS = aws.ToString(out.LoadBalancers[0].DNSName)
	_, _, fwd := e.nlbNow(t, aws.ToString(out.LoadBalancers[0].LoadBalancerArn))
	for _, arns := range fwd {
		for _, arn := range arns {
			h, err := e.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range h.TargetHealthDescriptions {
				nlbInst = append(nlbInst, aws.ToString(d.Target.Id))
			}
		}
	}
	slices.Sort(nlbInst)
	nlbInst = slices.Compact(nlbInst)
	return classicDNS, nlbDNS, classicInst, nlbInst
}

// lbCreatesAndDeletes counts the calls that create or delete a load balancer of either kind.
func (e *env) lbCreatesAndDeletes() int {
	n := 0
	for _, svc := range []string{awsprovider.ServiceELB, awsprovider.ServiceELBv2} {
		for _, op := range []string{"CreateLoadBalancer", "DeleteLoadBalancer"} {
			n += e.srv.CallCount(awsprovider.NewCall(svc, op))
		}
	}
	return n
}

// typed is a plain Service asking for a Classic Load Balancer or, with nlb, an NLB.
func typed(nlb bool) *v1.Service {
	svc := service()
	svc.Annotations = map[string]string{}
	if nlb {
		svc.Annotations[prefix+"type"] = "nlb"
	}
	return svc
}

// TestTypeChangeOfAdoptedKept: a load balancer cloud-provider-aws made (no replacement key)
// whose Service now names the other type is kept, with its DNS name, converged as its own
// kind, and its targets follow the nodes; the Service's author asks for the replacement with
// cloudlb.io/replace-load-balancer, and then the other kind is made and the old retired.
func TestTypeChangeOfAdoptedKept(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		upstream   string // the kind upstream made
		want       string // the kind the Service names
		createKept func(*env, *testing.T, *v1.Service) string
	}{
		{"classic kept for an nlb Service", "classic", "nlb", func(e *env, t *testing.T, svc *v1.Service) string { return e.createUpstreamClassic(t, svc) }},
		{"nlb kept for a classic Service", "nlb", "classic", func(e *env, t *testing.T, svc *v1.Service) string { return e.createUpstreamNLB(t, svc, false).dns }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			svc := typed(tt.want == "nlb")
			dns := tt.createKept(e, t, svc)
			keptDNS := func() (string, []string) {
				cd, nd, ci, ni := e.kindNow(t, svc)
				if tt.upstream == "classic" {
					if nd != "" {
						t.Fatalf("an NLB %s was made", nd)
					}
					return cd, ci
				}
				if cd != "" {
					t.Fatalf("a Classic Load Balancer %s was made", cd)
				}
				return nd, ni
			}

			e.srv.ResetCalls()
			_, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
			rr := providers.AsReplacementRefused(err)
			if rr == nil || len(rr.Changes) != 1 || rr.Changes[0] != (providers.FieldChange{Field: prefix + "type", Have: tt.upstream, Want: tt.want}) ||
				rr.Status == nil || rr.Status.Ingress[0].Hostname != dns || rr.LoadBalancer != cloudaws.LoadBalancerName(svc) || rr.Service != "shop/web" {
				t.Fatalf("err = %v (%+v), want a ReplacementRefused for the type with the kept DNS name %s", err, rr, dns)
			}
			if n := e.lbCreatesAndDeletes(); n != 0 {
				t.Errorf("%d load balancers created or deleted: %s", n, awsprovider.CallsSummary(e.srv.Calls()))
			}
			if got, _ := keptDNS(); got != dns {
				t.Errorf("DNS name %q, want the kept %q", got, dns)
			}
			svc.Status.LoadBalancer = *rr.Status

			// Converged and recorded: the next reconcile refuses again and writes nothing.
			e.srv.ResetCalls()
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); providers.AsReplacementRefused(err) == nil {
				t.Fatalf("second reconcile: err = %v, want the refusal again", err)
			}
			if w, _, sum := e.counts(); w != 0 {
				t.Errorf("second reconcile wrote: %s", sum)
			}
			if st, ok, err := e.cloud.GetLoadBalancer(ctx, cluster, svc); err != nil || !ok || st.Ingress[0].Hostname != dns {
				t.Errorf("GetLoadBalancer = %v, %v, %v; want the kept %s", st, ok, err, dns)
			}

			// A node change reaches the kept load balancer.
			nodes := append(slices.Clone(e.nodes), e.node("node-b", "us-east-1b"))
			e.srv.ResetCalls()
			if err := e.cloud.UpdateLoadBalancer(ctx, cluster, svc, nodes); err != nil {
				t.Fatalf("UpdateLoadBalancer: %v", err)
			}
			if n := e.lbCreatesAndDeletes(); n != 0 {
				t.Errorf("node change: %d load balancers created or deleted", n)
			}
			var want []string
			for _, n := range []string{"node-a-1", "node-a-2", "node-b"} {
				want = append(want, e.built.Instances[n])
			}
			slices.Sort(want)
			if got, inst := keptDNS(); got != dns || !slices.Equal(inst, want) {
				t.Errorf("after the node change: %s serves %v, want %s serving %v", got, inst, dns, want)
			}

			// Asked for: the Service's kind is made, the kept one retired.
			svc.Annotations[annotations.CoreReplaceLoadBalancer.Key] = "1"
			e.srv.ResetCalls()
			st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, nodes)
			if err != nil {
				t.Fatalf("asked replacement: %v", err)
			}
			cd, nd, _, _ := e.kindNow(t, svc)
			now := cd
			if tt.want == "classic" {
				if nd != "" {
					t.Errorf("the NLB %s is still there", nd)
				}
			} else {
				now = nd
				if cd != "" {
					t.Errorf("the Classic Load Balancer %s is still there", cd)
				}
			}
			// (The emulator's DNS names do not tell the kinds apart: the kinds are checked.)
			if now == "" || st.Ingress[0].Hostname != now {
				t.Errorf("after the asked replacement: status %v, the Service's kind %q, want a new one in the status", st, now)
			}
			svc.Status.LoadBalancer = *st
			e.srv.ResetCalls()
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
				t.Fatalf("after the replacement: %v", err)
			}
			if w, _, sum := e.counts(); w != 0 {
				t.Errorf("reconcile after the replacement wrote: %s", sum)
			}
			e.deleteAndCheckClean(t, svc)
		})
	}
}

// TestTypeChangeOfOwnReplaces: a load balancer cloudlb made for the Service (its key
// recorded) is replaced by the other kind as soon as the Service's type changes.
func TestTypeChangeOfOwnReplaces(t *testing.T) {
	t.Parallel()
	for _, toNLB := range []bool{true, false} {
		t.Run(fmt.Sprintf("to nlb %v", toNLB), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			svc := typed(!toNLB)
			st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
			if err != nil {
				t.Fatal(err)
			}
			old := st.Ingress[0].Hostname
			svc.Status.LoadBalancer = *st
			svc = typed(toNLB)
			svc.Status.LoadBalancer = v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{Hostname: old}}}
			st, err = e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
			if err != nil {
				t.Fatalf("type change: %v", err)
			}
			cd, nd, _, _ := e.kindNow(t, svc)
			if toNLB && (cd != "" || nd == "" || st.Ingress[0].Hostname != nd) || !toNLB && (nd != "" || cd == "" || st.Ingress[0].Hostname != cd) {
				t.Errorf("classic %q, nlb %q, status %v: want only the Service's kind, in the status", cd, nd, st)
			}
			e.deleteAndCheckClean(t, svc)
		})
	}
}
