package aws

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
)

// perService is cloudlb's cloud config line that moves NLBs off the shared backend group
// (step 0 of handing them back, docs/migrating.md).
const perService = "NLBBackendSecurityGroup = PerService\n"

// TestBackendGroupRollBack: cloud-provider-aws makes three NLBs in the Managed mode;
// cloudlb (Shared) takes them over onto its backend group; cloudlb with PerService moves
// them off it, one reconcile each, and deletes it with the last; then cloud-provider-aws
// takes them back one by one. After every reconcile of every phase the nodes' group holds,
// for each NLB, a rule admitting its groups' traffic on its NodePort (upstream v1.37, had it
// found the backend group, would have revoked the rules from it while other NLBs needed
// them), no backend was emptied, and each NLB kept its DNS name, scheme, subnets and own
// groups.
func TestBackendGroupRollBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, managedGroups)
	up := e.upstream(t)
	tc := migrationCase{name: "nlb managed security group", nlb: true, globals: managedGroups}
	nodes := e.nodes(1, 2, 3)
	var svcs []*v1.Service
	states := map[string]lbState{}
	for i := range 3 {
		svc := tc.service(e, i)
		svc.Spec.Ports[0].NodePort = int32(30080 + i)
		status, err := up.EnsureLoadBalancer(ctx, cluster, svc, nodes)
		if err != nil {
			t.Fatalf("cloud-provider-aws creates %s: %v", svc.Name, err)
		}
		svc.Status.LoadBalancer = *status
		if states[svc.Name], err = e.state(ctx, svc, true); err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	e.checkAdmitted(ctx, t, "cloud-provider-aws created the NLBs", svcs)

	for _, ph := range []struct {
		name       string
		lb         func() cloudprovider.LoadBalancer
		keepGroups bool
	}{
		{"cloudlb takes over (Shared)", func() cloudprovider.LoadBalancer {
			return e.cloudlb(t)
		}, true},
		{"cloudlb with NLBBackendSecurityGroup = PerService", func() cloudprovider.LoadBalancer {
			return e.cloudlbWith(t, perService)
		}, true},
		{"cloud-provider-aws takes back", func() cloudprovider.LoadBalancer {
			return up
		}, false},
	} {
		lb := ph.lb() // a new provider: nothing cached, as after a restart
		for _, svc := range svcs {
			name := fmt.Sprintf("%s: %s", ph.name, svc.Name)
			p := e.begin(name)
			status, err := lb.EnsureLoadBalancer(ctx, cluster, svc, nodes)
			p.noError(err)
			states[svc.Name] = p.end(ctx, t, svc, true, states[svc.Name], status, instances(nodes), ph.keepGroups)
			e.checkAdmitted(ctx, t, name, svcs)
		}
		if ph.name == "cloudlb takes over (Shared)" && len(e.backendIDs()) != 1 {
			t.Fatalf("after the takeover: backend groups %v, want one", e.backendIDs())
		}
		if ph.name == "cloudlb with NLBBackendSecurityGroup = PerService" && len(e.backendIDs()) != 0 {
			t.Errorf("after PerService: backend groups %v left", e.backendIDs())
		}
	}
}

// backendIDs are the IDs of cloudlb's NLB backend groups the fake holds.
func (e *env) backendIDs() []string {
	var out []string
	for _, g := range e.srv.Inventory().SecurityGroups {
		if strings.HasPrefix(g.Name, "k8s-cloudlb-backend-") {
			out = append(out, g.ID)
		}
	}
	return out
}

// checkAdmitted reports each NLB of svcs whose NodePorts no rule of the nodes' group opens
// to one of the NLB's security groups: the nodes would refuse its traffic.
func (e *env) checkAdmitted(ctx context.Context, t *testing.T, when string, svcs []*v1.Service) {
	t.Helper()
	out, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	groups := map[string][]string{}
	for _, lb := range out.LoadBalancers {
		groups[aws.ToString(lb.LoadBalancerName)] = lb.SecurityGroups
	}
	var rules []string
	for _, g := range e.srv.Inventory().SecurityGroups {
		if g.Name == "nodes" {
			rules = g.Ingress
		}
	}
	for _, svc := range svcs {
		gs := groups[lbName(svc)]
		for _, port := range svc.Spec.Ports {
			if !slices.ContainsFunc(rules, func(r string) bool { return admits(r, port.NodePort, gs) }) {
				t.Errorf("%s: NLB %s (groups %v): no rule of the nodes' group admits NodePort %d: %v", when, svc.Name, gs, port.NodePort, rules)
			}
		}
	}
}

// admits reports whether rule ("proto from-to source description") lets TCP on port in
// from one of groups, or from a CIDR (upstream's rules from the source ranges).
func admits(rule string, port int32, groups []string) bool {
	f := strings.Fields(rule)
	if len(f) < 3 || (f[0] != "tcp" && f[0] != "-1") || !slices.Contains(groups, f[2]) && !strings.Contains(f[2], "/") {
		return false
	}
	a, b, _ := strings.Cut(f[1], "-")
	from, err1 := strconv.Atoi(a)
	to, err2 := strconv.Atoi(b)
	return f[0] == "-1" || err1 == nil && err2 == nil && int32(from) <= port && port <= int32(to)
}
