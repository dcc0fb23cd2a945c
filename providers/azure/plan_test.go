package azure_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// plan is PlanLoadBalancer of svc on c; the fake must see no write meanwhile.
func (e *env) plan(c *azure.Cloud, svc *v1.Service) (*providers.Plan, error) {
	e.t.Helper()
	cfg, err := providers.Parse(svc, annotations.Azure)
	if err != nil {
		e.t.Fatal(err)
	}
	before := e.srv.Writes()
	p, err := c.PlanLoadBalancer(testCtx(e.t), cluster, svc, cfg, e.nodes)
	if n := e.srv.Writes() - before; n != 0 {
		e.t.Errorf("planning %s made %d writes: %v", svc.Name, n, e.srv.Calls())
	}
	return p, err
}

// audited ensures svc and returns its writes as the audit trail reported them.
func (e *env) audited(svc *v1.Service) []providers.Write {
	e.t.Helper()
	var mu sync.Mutex
	var writes []providers.Write
	ctx := providers.WithAuditor(testCtx(e.t), func(_ context.Context, w providers.Write, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			e.t.Errorf("write %+v failed: %v", w, err)
		}
		writes = append(writes, w)
	})
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		e.t.Fatalf("EnsureLoadBalancer(%s): %v", svc.Name, err)
	}
	return writes
}

// short renders writes as "METHOD type[ created|deleted]" lines.
func short(ws []providers.Write) []string {
	out := []string{}
	for _, w := range ws {
		s := w.Operation
		if w.Change != providers.ChangeNone {
			s += " " + strings.ToLower(string(w.Change))
		}
		out = append(out, s)
	}
	return out
}

// TestPlanLoadBalancer plans each change of a live Service before it is applied: the plan
// lists exactly the writes the next EnsureLoadBalancer makes (operation, object, change and
// reason as the audit trail reports them), the fake sees no write while planning, and a
// plan of an applied Service, from this Cloud or a restarted one, is empty.
func TestPlanLoadBalancer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	svc := service("web", uid(1), map[string]string{})
	set := func(k, v string) func() { return func() { svc.Annotations[prefix+k] = v } }
	for _, step := range []struct {
		name   string
		change func()
		want   []string
	}{
		{"create", func() {}, []string{"PUT publicIPAddresses created", "PUT loadBalancers created", "PUT networkSecurityGroups"}},
		{"node added", func() { e.nodes = append(e.nodes, node("node-4", "10.240.0.20")) }, []string{"PUT loadBalancers"}},
		{"node removed", func() { e.nodes = e.nodes[1:] }, []string{"PUT loadBalancers"}},
		{"idle timeout", set("azure-load-balancer-tcp-idle-timeout", "20"), []string{"PUT loadBalancers"}},
		{"source ranges", func() { svc.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"} }, []string{"PUT networkSecurityGroups"}},
		{"public IP tags", set("azure-pip-tags", "team=shop"), []string{"PUT publicIPAddresses"}},
		// The internal frontend's address is Azure's choice: the plan's NSG rule allows
		// azure.Unresolved, the reconcile's the address Azure gave.
		{"internal", set("azure-load-balancer-internal", "true"),
			[]string{"PUT loadBalancers created", "PUT networkSecurityGroups", "DELETE loadBalancers deleted", "DELETE publicIPAddresses deleted"}},
		{"private link service", set("azure-pls-create", "true"), []string{"PUT privateLinkServices created"}},
		{"floating IP off", set("azure-disable-load-balancer-floating-ip", "true"), []string{"PUT loadBalancers", "PUT networkSecurityGroups"}},
		{"no private link service", set("azure-pls-create", "false"), []string{"DELETE privateLinkServices deleted"}},
	} {
		step.change()
		p, err := e.plan(e.cloud, svc)
		if err != nil {
			t.Fatalf("%s: PlanLoadBalancer: %v", step.name, err)
		}
		t.Logf("%s:\n%s", step.name, p)
		if got := short(p.Writes); !slices.Equal(got, step.want) {
			t.Errorf("%s: plan %q, want %q", step.name, got, step.want)
		}
		if got := e.audited(svc); !slices.Equal(got, p.Writes) {
			t.Errorf("%s: the reconcile wrote\n%s\nthe plan said\n%s", step.name, render(got), render(p.Writes))
		}
		for _, c := range []*azure.Cloud{e.cloud, e.newCloud()} {
			if p, err := e.plan(c, svc); err != nil || len(p.Writes) != 0 {
				t.Errorf("%s: the plan of the applied Service: %v, %v", step.name, p, err)
			}
		}
	}
}

func render(ws []providers.Write) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "  %s %s (%s) %s\n", w.Operation, w.Object, w.Change, w.Reason)
	}
	return b.String()
}

// TestPlanLoadBalancerRefusals: what EnsureLoadBalancer refuses is refused by the plan with
// the same UserError, and nothing is written.
func TestPlanLoadBalancerRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	svc := service("nopip", uid(2), map[string]string{prefix + "azure-pip-name": "does-not-exist"})
	_, err := e.plan(e.cloud, svc)
	if !providers.IsUserError(err) || !strings.Contains(err.Error(), "does-not-exist") {
		t.Errorf("plan: err = %v, want the UserError naming the public IP", err)
	}
	if _, ensureErr := e.cloud.EnsureLoadBalancer(testCtx(t), cluster, svc, e.nodes); ensureErr == nil || ensureErr.Error() != err.Error() {
		t.Errorf("EnsureLoadBalancer: %v, want the plan's error %v", ensureErr, err)
	}
}
