package aws

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	cloudproviderapi "k8s.io/cloud-provider/api"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/providers"
)

// planService is a two-port Service of the planner tests with the given annotations.
func planService(a map[string]string) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: types.UID("7c1d2e3f-8b7d-4e6f-9a1b-2c3d4e5f6a7b"), Annotations: a},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: []v1.ServicePort{
			{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
			{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443},
		}},
	}
}

// planStep is one change of a planner test: the Service and nodes to plan for, and the
// writes the plan must hold (in any order; "operation object", objects by planNames).
type planStep struct {
	name   string
	change func(*v1.Service)
	nodes  int
	want   []string
}

// TestPlanLoadBalancerNLB plans an NLB Service the fake already holds: unchanged, one node
// added, the health-check interval changed, the health-check protocol changed (new target
// groups, named in the plan by their model names). Planning makes no write; applying the
// Service then writes exactly what the plan said, in its order, for its reasons.
func TestPlanLoadBalancerNLB(t *testing.T) {
	t.Parallel()
	c, srv, nodes := fakeEnv(t, fakeaws.Options{}, 3)
	svc := planService(map[string]string{ann + "type": "nlb", ann + "healthcheck-interval": "10"})
	if _, err := c.EnsureLoadBalancer(context.Background(), fakeCluster, svc, nodes[:2]); err != nil {
		t.Fatal(err)
	}
	differs := " — " + whyNLBDiffers
	steps := []planStep{
		{"unchanged", nil, 2, nil},
		{"one node added", nil, 3, []string{"elbv2.RegisterTargets tg:30080" + differs, "elbv2.RegisterTargets tg:30443" + differs, "elbv2.AddTags nlb" + differs}},
		{"health-check interval", func(s *v1.Service) { s.Annotations[ann+"healthcheck-interval"] = "30" }, 3,
			[]string{"elbv2.ModifyTargetGroup tg:30080" + differs, "elbv2.ModifyTargetGroup tg:30443" + differs, "elbv2.AddTags nlb" + differs}},
		// New target groups: the listeners keep the old ones until the new ones' targets are
		// healthy, then move and the old ones go.
		{"health-check protocol", func(s *v1.Service) { s.Annotations[ann+"healthcheck-protocol"] = "HTTP" }, 3, []string{
			"elbv2.CreateTargetGroup new:30080 (created)" + differs, "elbv2.RegisterTargets new:30080" + differs,
			"elbv2.CreateTargetGroup new:30443 (created)" + differs, "elbv2.RegisterTargets new:30443" + differs,
			"elbv2.ModifyListener listener:80 — " + whyWarmTG, "elbv2.ModifyListener listener:443 — " + whyWarmTG,
			"elbv2.AddTags nlb" + differs}},
		{"new targets healthy", nil, 3, []string{
			"elbv2.ModifyListener listener:80" + differs, "elbv2.ModifyListener listener:443" + differs,
			"elbv2.DeleteTargetGroup tg:30080 (deleted) — " + whyStaleTG, "elbv2.DeleteTargetGroup tg:30443 (deleted) — " + whyStaleTG,
			"elbv2.AddTags nlb" + differs}},
	}
	for _, s := range steps {
		names := nlbNames(t, c, svc)
		if s.change != nil {
			s.change(svc)
		}
		p := planWithoutWrites(t, c, srv, svc, nodes[:s.nodes])
		t.Logf("%s:\n%s", s.name, p)
		if got := briefPlan(p, names); !sameWrites(got, s.want) {
			t.Errorf("%s: plan\n%s\nwant (in any order)\n%s", s.name, strings.Join(got, "\n"), strings.Join(s.want, "\n"))
		}
		applyAsPlanned(t, c, svc, nodes[:s.nodes], p)
	}
}

// TestPlanLoadBalancerClassic plans a Classic Service: its creation (the managed group named
// by its model name until created), then unchanged, then a changed health check and idle
// timeout (an attribute: the spec hash changes too).
func TestPlanLoadBalancerClassic(t *testing.T) {
	t.Parallel()
	c, srv, nodes := fakeEnv(t, fakeaws.Options{}, 2)
	svc := planService(map[string]string{})
	p := planWithoutWrites(t, c, srv, svc, nodes)
	name := LoadBalancerName(svc)
	if len(p.Writes) == 0 || p.Writes[0].Operation != "ec2.CreateSecurityGroup" || p.Writes[0].Object != securityGroupName(name) ||
		p.Writes[1].Operation != "ec2.AuthorizeSecurityGroupIngress" || p.Writes[1].Object != securityGroupName(name) {
		t.Errorf("creation plan does not start with the managed group and its rules, named by the model:\n%s", p)
	}
	applyAsPlanned(t, c, svc, nodes, p)
	if p := planWithoutWrites(t, c, srv, svc, nodes); len(p.Writes) != 0 {
		t.Errorf("unchanged Service: %s", p)
	}
	svc.Annotations[ann+"healthcheck-interval"] = "30"
	svc.Annotations[ann+"connection-idle-timeout"] = "120"
	p = planWithoutWrites(t, c, srv, svc, nodes)
	t.Logf("health check and idle timeout:\n%s", p)
	want := []string{"elb.ConfigureHealthCheck " + name + " — " + whyCLBDiffers, "elb.ModifyLoadBalancerAttributes " + name + " — " + whyCLBDiffers,
		"elb.AddTags " + name + " — " + whyCLBDiffers}
	if got := briefPlan(p, nil); !slices.Equal(got, want) {
		t.Errorf("health-check plan\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	applyAsPlanned(t, c, svc, nodes, p)
}

// planWithoutWrites plans svc and fails unless the fake saw reads and no write meanwhile.
func planWithoutWrites(t *testing.T, c *Cloud, srv *fakeaws.Server, svc *v1.Service, nodes []*v1.Node) *providers.Plan {
	t.Helper()
	cfg, err := config(svc)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	p, err := c.PlanLoadBalancer(context.Background(), fakeCluster, svc, cfg, nodes)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	for call, n := range srv.Calls() {
		if !call.IsRead() {
			t.Errorf("planning wrote: %s", fakeaws.CallsSummary(srv.Calls()))
		}
		reads += n
	}
	if reads == 0 {
		t.Error("planning read nothing")
	}
	return p
}

// applyAsPlanned ensures svc and fails unless the audit trail holds the plan's writes: the
// same operations and reasons in the same order, on the same objects (an object the plan
// names by its model name because it creates it first is audited by its ID).
func applyAsPlanned(t *testing.T, c *Cloud, svc *v1.Service, nodes []*v1.Node, p *providers.Plan) {
	t.Helper()
	var mu sync.Mutex
	var audited []providers.Write
	ctx := providers.WithAuditor(context.Background(), func(_ context.Context, w providers.Write, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("write failed: %+v: %v", w, err)
		}
		audited = append(audited, w)
	})
	if _, err := c.EnsureLoadBalancer(ctx, fakeCluster, svc, nodes); err != nil && !isRetry(err) {
		t.Fatal(err)
	}
	created := map[string]bool{}
	for _, w := range p.Writes {
		if w.Change == providers.ChangeCreated {
			created[w.Object] = true
		}
	}
	if len(audited) != len(p.Writes) {
		t.Fatalf("applied %d writes, planned %d:\n%+v\nplan:\n%s", len(audited), len(p.Writes), audited, p)
	}
	for i, w := range p.Writes {
		a := audited[i]
		if a.Operation != w.Operation || a.Reason != w.Reason || a.Change != w.Change || a.Object != w.Object && !(created[w.Object] && a.Change != providers.ChangeCreated) {
			t.Errorf("write %d: applied %+v, planned %+v", i+1, a, w)
		}
	}
}

// nlbNames names the NLB's objects for briefPlan: "nlb", its target groups "tg:<nodePort>"
// and listeners "listener:<port>", and the names the model gives target groups not created
// yet "new:<nodePort>".
func nlbNames(t *testing.T, c *Cloud, svc *v1.Service) map[string]string {
	t.Helper()
	ctx := context.Background()
	lbs, err := c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{LoadBalancerName(svc)}})
	if err != nil {
		t.Fatal(err)
	}
	arn := lbs.LoadBalancers[0].LoadBalancerArn
	names := map[string]string{aws.ToString(arn): "nlb"}
	tgs, err := c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range tgs.TargetGroups {
		names[aws.ToString(tg.TargetGroupArn)] = "tg:" + itoa(aws.ToInt32(tg.Port))
	}
	ls, err := c.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls.Listeners {
		names[aws.ToString(l.ListenerArn)] = "listener:" + itoa(aws.ToInt32(l.Port))
	}
	for _, port := range []int32{30080, 30443} {
		tg := TargetGroup{Protocol: "TCP", Port: port, HealthCheck: NLBHealthCheck{Protocol: "HTTP"}}
		names[targetGroupName(svc, fakeCluster, tg)] = "new:" + itoa(port)
	}
	return names
}

// briefPlan is the plan's writes as "operation object (change) — reason", objects renamed
// by names.
func briefPlan(p *providers.Plan, names map[string]string) []string {
	var out []string
	for _, w := range p.Writes {
		s := w.Operation + " " + w.Object
		if n, ok := names[w.Object]; ok {
			s = w.Operation + " " + n
		}
		if w.Change != providers.ChangeNone {
			s += " (" + strings.ToLower(string(w.Change)) + ")"
		}
		out = append(out, s+" — "+w.Reason)
	}
	return out
}

func sameWrites(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// isRetry reports whether err asks to be retried soon (a cloudprovider RetryError).
func isRetry(err error) bool {
	var re *cloudproviderapi.RetryError
	return errors.As(err, &re)
}
