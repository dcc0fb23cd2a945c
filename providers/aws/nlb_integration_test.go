package aws_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"
)

func TestNLBLifecycle(t *testing.T) {
	e := newEnv(t)
	svc := service()
	svc.Annotations = map[string]string{
		prefix + "type":                 "nlb",
		prefix + "ssl-cert":             cert,
		prefix + "ssl-ports":            "443",
		prefix + "healthcheck-interval": "10",
		prefix + "proxy-protocol":       "*",
	}
	st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
	if err != nil {
		t.Fatal(err)
	}
	w, r, sum := e.counts()
	t.Logf("NLB create: %d writes, %d reads: %s", w, r, sum)
	if !strings.Contains(st.Ingress[0].Hostname, ".elb.") {
		t.Errorf("status = %+v", st)
	}
	inv := e.srv.Inventory()
	if len(inv.LoadBalancers) != 1 || len(inv.TargetGroups) != 2 || len(inv.Listeners) != 2 {
		t.Fatalf("inventory = %+v", inv)
	}
	lbs, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := e.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	var protos []string
	for _, l := range ls.Listeners {
		protos = append(protos, string(l.Protocol)+":0"+func() string {
			if len(l.Certificates) > 0 {
				return aws.ToString(l.Certificates[0].CertificateArn)
			}
			return ""
		}())
	}
	slices.Sort(protos)
	if !slices.Equal(protos, []string{"TCP:0", "TLS:0" + cert}) {
		t.Errorf("listeners = %v", protos)
	}
	tgs, err := e.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range tgs.TargetGroups {
		h, err := e.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.elbv2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(a.Attributes, func(x v2types.TargetGroupAttribute) bool {
			return *x.Key == "proxy_protocol_v2.enabled" && *x.Value == "true"
		}) {
			t.Errorf("target group %s: no proxy protocol v2", *tg.TargetGroupName)
		}
		if len(h.TargetHealthDescriptions) != 2 || aws.ToInt32(tg.HealthCheckIntervalSeconds) != 10 {
			t.Errorf("target group %s: %d targets, interval %d", *tg.TargetGroupName, len(h.TargetHealthDescriptions), aws.ToInt32(tg.HealthCheckIntervalSeconds))
		}
	}

	nodeRules := slices.Sorted(slices.Values(e.group(t, "nodes").Ingress))
	// The docs' table: client traffic from the source ranges, health checks from the NLB's
	// subnets (the client rules do not cover them), ICMP from the client ranges.
	lb := "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"
	wantRules := []string{
		"icmp 3-4 10.0.0.0/8 kubernetes.io/rule/nlb/mtu",
		"icmp 3-4 192.168.0.0/16 kubernetes.io/rule/nlb/mtu",
		"tcp 30080-30080 10.0.0.0/8 kubernetes.io/rule/nlb/client=" + lb,
		"tcp 30080-30080 10.0.1.0/24 kubernetes.io/rule/nlb/health=" + lb,
		"tcp 30080-30080 10.0.2.0/24 kubernetes.io/rule/nlb/health=" + lb,
		"tcp 30080-30080 192.168.0.0/16 kubernetes.io/rule/nlb/client=" + lb,
		"tcp 30443-30443 10.0.0.0/8 kubernetes.io/rule/nlb/client=" + lb,
		"tcp 30443-30443 10.0.1.0/24 kubernetes.io/rule/nlb/health=" + lb,
		"tcp 30443-30443 10.0.2.0/24 kubernetes.io/rule/nlb/health=" + lb,
		"tcp 30443-30443 192.168.0.0/16 kubernetes.io/rule/nlb/client=" + lb,
	}
	if !slices.Equal(nodeRules, wantRules) {
		t.Errorf("node rules =\n%s\nwant\n%s", strings.Join(nodeRules, "\n"), strings.Join(wantRules, "\n"))
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w, r, sum := e.counts(); w != 0 || r > 2 {
		t.Errorf("NLB no-op: %d writes, %d reads (%s)", w, r, sum)
	}

	e.srv.ResetCalls()
	nodes := append(slices.Clone(e.nodes), e.node("node-b", "us-east-1b"))
	if err := e.cloud.UpdateLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatal(err)
	}
	w, r, sum = e.counts()
	t.Logf("NLB node added: %d writes, %d reads: %s", w, r, sum)
	if n := e.srv.CallCount("elasticloadbalancingv2:RegisterTargets"); n != 2 {
		t.Errorf("RegisterTargets = %d, want 2", n)
	}

	// Type change NLB -> CLB: the CLB is created, the NLB and its target groups go.
	delete(svc.Annotations, prefix+"type")
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatal(err)
	}
	inv = e.srv.Inventory()
	if len(inv.LoadBalancers) != 0 || len(inv.TargetGroups) != 0 || len(inv.ClassicLoadBalancers) != 1 {
		t.Errorf("after migration to CLB: %+v", inv)
	}
	// And back: CLB -> NLB.
	svc.Annotations[prefix+"type"] = "nlb"
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatal(err)
	}
	inv = e.srv.Inventory()
	if len(inv.LoadBalancers) != 1 || len(inv.ClassicLoadBalancers) != 0 {
		t.Errorf("after migration to NLB: %+v", inv)
	}

	e.srv.ResetCalls()
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
		t.Fatal(err)
	}
	w, r, sum = e.counts()
	t.Logf("NLB delete: %d writes, %d reads: %s", w, r, sum)
	inv = e.srv.Inventory()
	if len(inv.LoadBalancers)+len(inv.TargetGroups)+len(inv.Listeners)+len(inv.ClassicLoadBalancers) != 0 {
		t.Errorf("left behind: %+v", inv)
	}
	for _, g := range inv.SecurityGroups {
		if strings.HasPrefix(g.Name, "k8s-") || len(g.Ingress) > 0 {
			t.Errorf("security group or rules left: %+v", g)
		}
	}
}

// TestNLBPinnedAddresses creates an NLB with EIPs, checks a no-op, and checks that changing
// them replaces the NLB (they are fixed at creation).
func TestNLBPinnedAddresses(t *testing.T) {
	e := newEnv(t)
	svc := service()
	svc.Annotations = map[string]string{
		prefix + "type":            "nlb",
		prefix + "eip-allocations": "eipalloc-0a0a0a0a0a0a0a0a0,eipalloc-0b0b0b0b0b0b0b0b0",
	}
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	allocs := func() []string {
		lbs, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, az := range lbs.LoadBalancers[0].AvailabilityZones {
			for _, a := range az.LoadBalancerAddresses {
				out = append(out, aws.ToString(a.AllocationId))
			}
		}
		slices.Sort(out)
		return out
	}
	if got := allocs(); !slices.Equal(got, []string{"eipalloc-0a0a0a0a0a0a0a0a0", "eipalloc-0b0b0b0b0b0b0b0b0"}) {
		t.Errorf("allocations = %v", got)
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w, r, sum := e.counts(); w != 0 || r > 2 {
		t.Errorf("no-op: %d writes %d reads (%s)", w, r, sum)
	}
	svc.Annotations[prefix+"eip-allocations"] = "eipalloc-0c0c0c0c0c0c0c0c0,eipalloc-0b0b0b0b0b0b0b0b0"
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if got := allocs(); !slices.Contains(got, "eipalloc-0c0c0c0c0c0c0c0c0") {
		t.Errorf("allocations after change = %v", got)
	}
	if inv := e.srv.Inventory(); len(inv.LoadBalancers) != 1 || len(inv.TargetGroups) != 2 {
		t.Errorf("inventory after replacement: %+v", inv)
	}
}

// TestNLBNodeRuleAlreadyPresent checks that an NLB whose client rule equals a rule the user
// already has in the node group (same port and source, another description: AWS says
// InvalidPermission.Duplicate) is created, and that deleting it leaves the user's rule.
func TestNLBNodeRuleAlreadyPresent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	group := e.built.SecurityGroups["nodes"]
	user := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(30080), ToPort: aws.Int32(30080),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("user: open 30080")}}}
	if _, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: []ec2types.IpPermission{user}}); err != nil {
		t.Fatal(err)
	}
	// Two NLBs on the same node port: the second's only new rule is the first's client rule
	// under its own description, so its single-rule authorize meets the duplicate.
	var svcs []*v1.Service
	for i := 7; i < 9; i++ {
		svc := plain(i)
		svc.Annotations = map[string]string{prefix + "type": "nlb"}
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
			t.Fatalf("create %s with the rule already present: %v", svc.Name, err)
		}
		svcs = append(svcs, svc)
	}
	for _, svc := range svcs {
		if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{group}})
	if err != nil {
		t.Fatal(err)
	}
	var kept bool
	for _, p := range out.SecurityGroups[0].IpPermissions {
		for _, r := range p.IpRanges {
			kept = kept || aws.ToInt32(p.FromPort) == 30080 && aws.ToString(r.Description) == "user: open 30080"
		}
	}
	if !kept {
		t.Errorf("the user's rule is gone: %+v", out.SecurityGroups[0].IpPermissions)
	}
}
