package aws_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"

	awsprovider "github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/providers"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

const lbName = "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"

// withCloudConfig rebuilds the provider on the same clients with extra [Global] lines.
func (e *env) withCloudConfig(t *testing.T, global string) {
	t.Helper()
	cc, err := cloudaws.ParseCloudConfig(strings.NewReader(fmt.Sprintf("[Global]\nZone = us-east-1a\nVPC = %s\n%s\n", e.built.VPC, global)))
	if err != nil {
		t.Fatal(err)
	}
	e.cloud = cloudaws.New(cloudaws.Options{Config: cc, ELB: e.elb, EC2: e.ec2, ELBv2: e.elbv2})
}

// nlbService is service() as an NLB with the given annotations only.
func nlbService(a map[string]string) *v1.Service {
	svc := service()
	svc.Annotations = map[string]string{prefix + "type": "nlb"}
	maps.Copy(svc.Annotations, a)
	return svc
}

// ensure reconciles svc, then checks that a second reconcile is a no-op (no write, at most
// the two reads of the spec-hash check).
func (e *env) ensure(t *testing.T, svc *v1.Service) {
	t.Helper()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w, r, sum := e.counts(); w != 0 || r > 2 {
		t.Fatalf("no-op reconcile: %d writes, %d reads (%s)", w, r, sum)
	}
	e.srv.ResetCalls()
}

// nlb describes the only NLB.
func (e *env) nlb(t *testing.T) v2types.LoadBalancer {
	t.Helper()
	out, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil || len(out.LoadBalancers) != 1 {
		t.Fatalf("DescribeLoadBalancers = %d, %v", len(out.LoadBalancers), err)
	}
	return out.LoadBalancers[0]
}

// rulesFrom are the ingress lines of the node group whose source or description mention s.
func (e *env) nodeRulesWith(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for _, r := range e.group(t, "nodes").Ingress {
		if strings.Contains(r, s) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// deleteAndCheckClean deletes svc's load balancer and checks nothing of it is left.
func (e *env) deleteAndCheckClean(t *testing.T, svc *v1.Service) {
	t.Helper()
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
		t.Fatal(err)
	}
	inv := e.srv.Inventory()
	if len(inv.LoadBalancers)+len(inv.TargetGroups)+len(inv.Listeners)+len(inv.ClassicLoadBalancers) != 0 {
		t.Errorf("left behind: %+v", inv)
	}
	for _, g := range inv.SecurityGroups {
		if strings.HasPrefix(g.Name, "k8s-") || g.Name == "nodes" && len(g.Ingress) > 0 {
			t.Errorf("security group or rules left: %+v", g)
		}
	}
}

func TestNLBManagedSecurityGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed")
	svc := nlbService(map[string]string{
		prefix + "security-group-prefix-lists":              "pl-0a0a0a0a",
		prefix + "inbound-sg-rules-on-private-link-traffic": "off",
	})
	e.ensure(t, svc)
	lb := e.nlb(t)
	g := e.group(t, "k8s-elb-"+lbName)
	b := e.group(t, "k8s-cloudlb-backend-"+cluster)
	if g == nil || b == nil || !sameIDs(lb.SecurityGroups, g.ID, b.ID) || aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic) != "off" {
		t.Fatalf("NLB groups %v (enforce %q), managed group %+v", lb.SecurityGroups, aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic), g)
	}
	want := []string{
		"icmp 3-4 10.0.0.0/8 cloudlb shop/web: path MTU discovery",
		"icmp 3-4 192.168.0.0/16 cloudlb shop/web: path MTU discovery",
		"tcp 443-443 10.0.0.0/8 cloudlb shop/web: listener 443",
		"tcp 443-443 192.168.0.0/16 cloudlb shop/web: listener 443",
		"tcp 443-443 pl-0a0a0a0a cloudlb shop/web: listener 443",
		"tcp 80-80 10.0.0.0/8 cloudlb shop/web: listener 80",
		"tcp 80-80 192.168.0.0/16 cloudlb shop/web: listener 80",
		"tcp 80-80 pl-0a0a0a0a cloudlb shop/web: listener 80",
	}
	if got := slices.Sorted(slices.Values(g.Ingress)); !slices.Equal(got, want) {
		t.Errorf("managed group rules =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Node rules let the cluster's backend group in, on the NodePort range only; no CIDR
	// rule and no per-Service rule for this NLB.
	wantNode := []string{"tcp 30000-32767 " + b.ID + " cloudlb: NLB backend group: NodePorts"}
	if got := e.group(t, "nodes").Ingress; !slices.Equal(got, wantNode) {
		t.Errorf("node rules =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantNode, "\n"))
	}

	// A changed source range and prefix list, PrivateLink back to the default.
	svc.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
	svc.Annotations[prefix+"security-group-prefix-lists"] = "pl-0b0b0b0b"
	delete(svc.Annotations, prefix+"inbound-sg-rules-on-private-link-traffic")
	e.ensure(t, svc)
	lb = e.nlb(t)
	g = e.group(t, "k8s-elb-"+lbName)
	want = []string{
		"icmp 3-4 10.0.0.0/8 cloudlb shop/web: path MTU discovery",
		"tcp 443-443 10.0.0.0/8 cloudlb shop/web: listener 443",
		"tcp 443-443 pl-0b0b0b0b cloudlb shop/web: listener 443",
		"tcp 80-80 10.0.0.0/8 cloudlb shop/web: listener 80",
		"tcp 80-80 pl-0b0b0b0b cloudlb shop/web: listener 80",
	}
	if got := slices.Sorted(slices.Values(g.Ingress)); !slices.Equal(got, want) || aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic) != "on" {
		t.Errorf("after change: rules %v, enforce %q", got, aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic))
	}

	// Bring-your-own groups: set in place, the managed group goes, no node rule is managed.
	user := e.otherGroup(t)
	svc.Annotations[prefix+"security-groups"] = user
	delete(svc.Annotations, prefix+"security-group-prefix-lists")
	arn := aws.ToString(lb.LoadBalancerArn)
	e.ensure(t, svc)
	lb = e.nlb(t)
	if aws.ToString(lb.LoadBalancerArn) != arn || !slices.Equal(lb.SecurityGroups, []string{user}) {
		t.Errorf("after BYO: arn changed %v, groups %v", aws.ToString(lb.LoadBalancerArn) != arn, lb.SecurityGroups)
	}
	if e.group(t, "k8s-elb-"+lbName) != nil || len(e.nodeRulesWith(t, "nlb/")) != 0 {
		t.Errorf("after BYO: managed group %+v, node rules %v", e.group(t, "k8s-elb-"+lbName), e.nodeRulesWith(t, "nlb/"))
	}
	if got := e.group(t, "other"); got == nil || len(got.Ingress) != 0 {
		t.Errorf("the user's group was modified: %+v", got)
	}
	// A group AWS does not know is the Service author's problem.
	svc.Annotations[prefix+"security-groups"] = "sg-0123456789abcdef0"
	_, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
	var ue *providers.UserError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "security-groups") {
		t.Errorf("unknown group: err = %v, want a user error naming the key", err)
	}
	svc.Annotations[prefix+"security-groups"] = user

	// No groups at all: AWS cannot remove the last one, so the NLB is replaced; node rules
	// are CIDR rules again.
	delete(svc.Annotations, prefix+"security-groups")
	svc.Annotations[prefix+"disable-nlb-sg"] = "true"
	e.ensure(t, svc)
	lb = e.nlb(t)
	if aws.ToString(lb.LoadBalancerArn) == arn || len(lb.SecurityGroups) != 0 {
		t.Errorf("after disable-nlb-sg: replaced %v, groups %v", aws.ToString(lb.LoadBalancerArn) != arn, lb.SecurityGroups)
	}
	if got := e.nodeRulesWith(t, "nlb/client="); len(got) != 2 || !strings.Contains(got[0], "10.0.0.0/8") {
		t.Errorf("after disable-nlb-sg: node rules %v", got)
	}

	// And back to the managed group: replaced again, created with it.
	delete(svc.Annotations, prefix+"disable-nlb-sg")
	e.ensure(t, svc)
	if g := e.group(t, "k8s-elb-"+lbName); g == nil || !sameIDs(e.nlb(t).SecurityGroups, g.ID, b.ID) {
		t.Errorf("back to managed: group %+v, NLB groups %v", g, e.nlb(t).SecurityGroups)
	}
	e.deleteAndCheckClean(t, svc)
}

// TestNLBManagedGroupDeleteRetried checks that a DependencyViolation while the NLB's
// interfaces let go of its group is a transient error, and that the next attempt deletes
// the group although the NLB is already gone.
func TestNLBManagedGroupDeleteRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed")
	svc := nlbService(nil)
	e.ensure(t, svc)
	e.srv.FailNext(awsprovider.NewCall("ec2", "DeleteSecurityGroup"), 1, &fakecore.APIError{Code: "DependencyViolation", Status: 400})
	err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc)
	var ue *providers.UserError
	if err == nil || errors.As(err, &ue) {
		t.Fatalf("first delete: err = %v, want a transient error", err)
	}
	if e.group(t, "k8s-elb-"+lbName) == nil || len(e.srv.Inventory().LoadBalancers) != 0 {
		t.Fatalf("after the failed attempt: %+v", e.srv.Inventory())
	}
	e.deleteAndCheckClean(t, svc)
}

// TestNLBSecurityGroupKeysNeedGroups checks that without NLBSecurityGroupMode the keys that
// act on the NLB's groups are user errors naming the key, and that the NLB stays without
// groups by default (as it always was).
func TestNLBSecurityGroupKeysNeedGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(map[string]string{prefix + "security-group-prefix-lists": "pl-0a0a0a0a"})
	_, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
	var ue *providers.UserError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "security-group-prefix-lists") {
		t.Fatalf("err = %v, want a user error naming the key", err)
	}
	if inv := e.srv.Inventory(); len(inv.LoadBalancers) != 0 {
		t.Errorf("created despite the error: %+v", inv)
	}
	delete(svc.Annotations, prefix+"security-group-prefix-lists")
	e.ensure(t, svc)
	if lb := e.nlb(t); len(lb.SecurityGroups) != 0 {
		t.Errorf("default NLB has groups %v", lb.SecurityGroups)
	}
}

// TestNLBClassicMigrationKeepsManagedGroup moves a Classic Load Balancer to a managed-group
// NLB and back: the group k8s-elb-<name> passes from one to the other and is deleted last.
func TestNLBClassicMigrationKeepsManagedGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed")
	svc := nlbService(nil)
	delete(svc.Annotations, prefix+"type")
	e.ensure(t, svc)
	g := e.group(t, "k8s-elb-"+lbName)
	if g == nil {
		t.Fatal("no Classic managed group")
	}
	svc.Annotations[prefix+"type"] = "nlb"
	e.ensure(t, svc)
	b := e.group(t, "k8s-cloudlb-backend-"+cluster)
	if now := e.group(t, "k8s-elb-"+lbName); now == nil || b == nil || now.ID != g.ID || !sameIDs(e.nlb(t).SecurityGroups, g.ID, b.ID) {
		t.Fatalf("NLB groups %v, managed group %+v (was %s)", e.nlb(t).SecurityGroups, now, g.ID)
	}
	if inv := e.srv.Inventory(); len(inv.ClassicLoadBalancers) != 0 {
		t.Errorf("Classic Load Balancer left: %+v", inv)
	}
	// No rule lets the group in any more (the Classic all-traffic rule went; the NLB's
	// traffic is let in through the backend group).
	if got := e.nodeRulesWith(t, g.ID); len(got) != 0 || len(e.nodeRulesWith(t, b.ID)) != 1 {
		t.Errorf("node rules from the group: %v, from the backend group %v", got, e.nodeRulesWith(t, b.ID))
	}
	delete(svc.Annotations, prefix+"type")
	e.ensure(t, svc)
	if inv := e.srv.Inventory(); len(inv.LoadBalancers) != 0 || len(inv.ClassicLoadBalancers) != 1 {
		t.Errorf("back to Classic: %+v", inv)
	}
	e.deleteAndCheckClean(t, svc)
}

// TestNLBManagedToClassicWithOwnGroups moves a managed-group NLB to a Classic Load Balancer
// with the Service's own groups: the NLB must go before its group can be deleted.
func TestNLBManagedToClassicWithOwnGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed")
	svc := nlbService(nil)
	e.ensure(t, svc)
	delete(svc.Annotations, prefix+"type")
	svc.Annotations[prefix+"security-groups"] = e.otherGroup(t)
	e.ensure(t, svc)
	inv := e.srv.Inventory()
	if len(inv.LoadBalancers) != 0 || len(inv.TargetGroups) != 0 || len(inv.ClassicLoadBalancers) != 1 || e.group(t, "k8s-elb-"+lbName) != nil {
		t.Errorf("after the move: %+v", inv)
	}
	// The NLB's node rules are gone; the Classic one lets the Service's group in.
	if got := e.nodeRulesWith(t, "nlb/"); len(got) != 0 {
		t.Errorf("NLB node rules left: %v", got)
	}
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
		t.Fatal(err)
	}
	if inv := e.srv.Inventory(); len(inv.ClassicLoadBalancers) != 0 {
		t.Errorf("after delete: %+v", inv)
	}
}

// TestNLBOwnGroupsWithBackendRules checks that with the Service's own groups and
// manage-backend-security-group-rules: true the node groups let the first group in, and
// that dropping the key removes those rules.
func TestNLBOwnGroupsWithBackendRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := e.otherGroup(t)
	svc := nlbService(map[string]string{prefix + "security-groups": user, prefix + "manage-backend-security-group-rules": "true"})
	e.ensure(t, svc)
	// The rules come from the cluster's backend group, attached next to the user's.
	b := e.group(t, "k8s-cloudlb-backend-"+cluster)
	if b == nil {
		t.Fatal("no backend group")
	}
	want := []string{"tcp 30000-32767 " + b.ID + " cloudlb: NLB backend group: NodePorts"}
	if got := e.group(t, "nodes").Ingress; !slices.Equal(got, want) || !sameIDs(e.nlb(t).SecurityGroups, user, b.ID) {
		t.Errorf("node rules %v, NLB groups %v", got, e.nlb(t).SecurityGroups)
	}
	delete(svc.Annotations, prefix+"manage-backend-security-group-rules")
	e.ensure(t, svc)
	if got := e.nodeRulesWith(t, "nlb/"); len(got) != 0 || !slices.Equal(e.nlb(t).SecurityGroups, []string{user}) {
		t.Errorf("node rules after dropping the key: %v, NLB groups %v", got, e.nlb(t).SecurityGroups)
	}
	e.deleteAndCheckClean(t, svc)
	if g := e.group(t, "other"); g == nil {
		t.Error("the Service's own group was deleted")
	}
}

// TestClassicNoICMP checks enable-icmp-for-path-mtu-discovery: off on a Classic Load
// Balancer's managed group.
func TestClassicNoICMP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(map[string]string{prefix + "enable-icmp-for-path-mtu-discovery": "off"})
	delete(svc.Annotations, prefix+"type")
	e.ensure(t, svc)
	g := e.group(t, "k8s-elb-"+lbName)
	if g == nil || len(g.Ingress) != 4 || slices.ContainsFunc(g.Ingress, func(r string) bool { return strings.HasPrefix(r, "icmp") }) {
		t.Errorf("managed group = %+v, want the four listener rules and no ICMP", g)
	}
	delete(svc.Annotations, prefix+"enable-icmp-for-path-mtu-discovery")
	e.ensure(t, svc)
	if g := e.group(t, "k8s-elb-"+lbName); len(g.Ingress) != 6 {
		t.Errorf("managed group with ICMP = %+v", g)
	}
	e.deleteAndCheckClean(t, svc)
}

// sameIDs reports whether got holds exactly the IDs want, in any order.
func sameIDs(got []string, want ...string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}
