package aws_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"

	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// TestNLBBackendGroupRollBack starts from three NLBs on the shared backend group, switches
// the cloud config to NLBBackendSecurityGroup = PerService and reconciles each once: every
// NLB's per-Service rules (from its own group, with the descriptions cloud-provider-aws
// looks for) are authorized before its SetSecurityGroups drops the backend group, no rule an
// NLB still needs is revoked, the last NLB deletes the backend group, and the nodes' group
// ends with exactly the per-Service rules. The NLBs are kept (same ARN).
func TestNLBBackendGroupRollBack(t *testing.T) {
	t.Parallel()
	log := &actionLog{}
	e := newEnv(t, func(c *aws.Config) { c.HTTPClient = log })
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed")
	const n = 3
	var svcs []*v1.Service
	for i := range n {
		svc := managedNLB(i)
		e.ensure(t, svc)
		svcs = append(svcs, svc)
	}
	b := e.group(t, backendName).ID
	nodes := e.group(t, "nodes").ID
	out, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	names, carrying, own := map[string]string{}, map[string]bool{}, map[string]string{}
	for _, lb := range out.LoadBalancers {
		arn, name := aws.ToString(lb.LoadBalancerArn), aws.ToString(lb.LoadBalancerName)
		names[arn], carrying[arn], own[arn] = name, slices.Contains(lb.SecurityGroups, b), e.group(t, "k8s-elb-"+name).ID
		if !carrying[arn] {
			t.Fatalf("NLB %s without the backend group: %v", name, lb.SecurityGroups)
		}
	}
	e.withCloudConfig(t, "NLBSecurityGroupMode = Managed\nNLBBackendSecurityGroup = PerService")

	// Before each write, the state the earlier ones left must admit every NLB's traffic.
	var bad []string
	admitted := func(arn string) bool {
		if carrying[arn] {
			return len(e.rulesFrom(t, backendName)) > 0
		}
		return len(e.nodeRulesWith(t, own[arn]+" kubernetes.io/rule/nlb/client="+names[arn])) > 0
	}
	log.mu.Lock()
	log.actions = nil
	log.check = func(action string, form url.Values) {
		switch action {
		case "SetSecurityGroups":
			arn := form.Get("LoadBalancerArn")
			var groups []string
			for k, v := range form {
				if strings.HasPrefix(k, "SecurityGroups.member.") {
					groups = append(groups, v...)
				}
			}
			carrying[arn] = slices.Contains(groups, b)
			if !admitted(arn) {
				bad = append(bad, "SetSecurityGroups of "+names[arn]+" before its per-Service rules were authorized")
			}
		case "RevokeSecurityGroupIngress", "DeleteSecurityGroup":
			for arn := range names {
				if !admitted(arn) {
					bad = append(bad, fmt.Sprintf("%s %s with NLB %s not admitted", action, form.Get("GroupId"), names[arn]))
				}
			}
			still := false
			for arn := range names {
				still = still || carrying[arn]
			}
			if still && form.Get("GroupId") == nodes && strings.Contains(form.Encode(), b) {
				bad = append(bad, "the backend group's rule revoked while an NLB still carries it")
			}
		}
	}
	log.mu.Unlock()
	for _, svc := range svcs {
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
			t.Fatal(err)
		}
		for arn := range names {
			if !admitted(arn) {
				t.Errorf("after reconciling %s: NLB %s not admitted by the nodes' group", svc.Name, names[arn])
			}
		}
	}
	log.mu.Lock()
	log.check = nil
	actions := slices.Clone(log.actions)
	log.mu.Unlock()
	for _, s := range bad {
		t.Error(s)
	}
	var order []string
	for _, a := range actions {
		switch op, _, _ := strings.Cut(a, " "); op {
		case "CreateSecurityGroup", "DeleteSecurityGroup", "SetSecurityGroups", "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress":
			order = append(order, op)
		}
	}
	t.Logf("security group writes: %v", order)
	want := []string{"AuthorizeSecurityGroupIngress", "SetSecurityGroups", "AuthorizeSecurityGroupIngress", "SetSecurityGroups",
		"AuthorizeSecurityGroupIngress", "SetSecurityGroups", "RevokeSecurityGroupIngress", "DeleteSecurityGroup"}
	if !slices.Equal(order, want) {
		t.Errorf("security group writes:\n%s\nwant\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	if g := e.group(t, backendName); g != nil {
		t.Errorf("backend group left: %+v", g)
	}
	var wantRules []string
	for arn, name := range names {
		var i int
		if _, err := fmt.Sscanf(name, "a%08d", &i); err != nil {
			t.Fatalf("NLB name %s: %v", name, err)
		}
		wantRules = append(wantRules, fmt.Sprintf("tcp %d-%d %s kubernetes.io/rule/nlb/client=%s", 30100+i, 30100+i, own[arn], name))
	}
	slices.Sort(wantRules)
	if got := slices.Sorted(slices.Values(e.group(t, "nodes").Ingress)); !slices.Equal(got, wantRules) {
		t.Errorf("nodes' group:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRules, "\n"))
	}
	out, err = e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, lb := range out.LoadBalancers {
		arn := aws.ToString(lb.LoadBalancerArn)
		if names[arn] == "" || !slices.Equal(lb.SecurityGroups, []string{own[arn]}) {
			t.Errorf("NLB %s: replaced, or groups %v, want %s only", aws.ToString(lb.LoadBalancerName), lb.SecurityGroups, own[arn])
		}
	}
	for _, svc := range svcs { // a second pass writes nothing
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
			t.Fatal(err)
		}
	}
	for _, svc := range svcs[:n-1] {
		if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
			t.Fatal(err)
		}
	}
	e.deleteAndCheckClean(t, svcs[n-1])
}

// TestNLBBackendSecurityGroupConfig checks the values of NLBBackendSecurityGroup.
func TestNLBBackendSecurityGroupConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value   string
		wantErr bool
	}{{"Shared", false}, {"PerService", false}, {"perservice", false}, {"Separate", true}} {
		_, err := cloudaws.ParseCloudConfig(strings.NewReader("[Global]\nNLBBackendSecurityGroup = " + tc.value + "\n"))
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", tc.value, err, tc.wantErr)
		}
		if err != nil && (!strings.Contains(err.Error(), "Shared") || !strings.Contains(err.Error(), "PerService")) {
			t.Errorf("%s: error %q does not name the allowed values", tc.value, err)
		}
	}
}
