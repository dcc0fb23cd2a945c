package azure_test

import (
	"encoding/json"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers/azure"
)

// othersParts is the JSON of every load balancer part and NSG rule in the fake not named
// with prefix: what a Service's reconcile must leave as it is.
func (e *env) othersParts(prefix string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	add := func(kind, name string, v any) {
		if len(name) >= len(prefix) && name[:len(prefix)] == prefix {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			e.t.Fatal(err)
		}
		out[kind+" "+name] = string(b)
	}
	p := e.lb(cluster).Properties
	for _, f := range p.FrontendIPConfigurations {
		add("frontend", *f.Name, f.Properties)
	}
	for _, r := range p.LoadBalancingRules {
		add("rule", *r.Name, r.Properties)
	}
	for _, r := range p.Probes {
		add("probe", *r.Name, r.Properties)
	}
	for _, r := range e.nsg().Properties.SecurityRules {
		add("security rule", *r.Name, r.Properties)
	}
	return out
}

// TestOneServiceChangedAmongMany: among Services sharing the load balancer and the NSG, a
// restart's pass writes nothing for the unchanged ones, and a change of one Service's rules
// and NSG rules is written (with the listing, and without it), the others' parts kept.
func TestOneServiceChangedAmongMany(t *testing.T) {
	t.Parallel()
	const n, k = 8, 3
	for _, withListing := range []bool{true, false} {
		t.Run(fmt.Sprintf("listing=%v", withListing), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			var svcs []*v1.Service
			for i := range n {
				s := service(fmt.Sprintf("svc-%02d", i), uid(3000+i), map[string]string{})
				svcs = append(svcs, s)
				e.ensure(s)
			}
			e.cloud = e.newCloud()
			ctx := testCtx(t)
			if withListing {
				ctx, _ = e.list(t)
			}
			changed := svcs[k].DeepCopy()
			changed.Annotations[prefix+"azure-load-balancer-tcp-idle-timeout"] = "10"
			changed.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"}
			p := azure.ServicePrefix(changed)
			others := e.othersParts(p)
			for i, s := range svcs {
				if i == k {
					s = changed
				}
				e.srv.ResetCalls()
				if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, s, e.nodes); err != nil {
					t.Fatalf("EnsureLoadBalancer(%s): %v", s.Name, err)
				}
				w, _, calls := e.counts()
				switch {
				case i != k && w != 0:
					t.Errorf("unchanged %s: %d writes, want none: %v", s.Name, w, calls)
				case i == k && (calls["LoadBalancers.CreateOrUpdate"] != 1 || calls["SecurityGroups.CreateOrUpdate"] != 1):
					t.Errorf("changed %s: want one load balancer and one NSG write: %v", s.Name, calls)
				}
			}
			lb := e.lb(cluster)
			for _, port := range []string{"-TCP-443", "-TCP-80"} {
				if r := ruleByName(lb, p+port); r == nil || *r.IdleTimeoutInMinutes != 10 {
					t.Errorf("rule %s%s: %+v, want idle timeout 10", p, port, r)
				}
			}
			if r := e.securityRules()[p+"-TCP-SourceRanges"]; r == nil {
				t.Errorf("no rule %s-TCP-SourceRanges in the NSG", p)
			}
			after := e.othersParts(p)
			for name, want := range others {
				if got := after[name]; got != want {
					t.Errorf("%s changed:\n got %s\nwant %s", name, got, want)
				}
			}
			if len(after) != len(others) {
				t.Errorf("%d parts of others after, %d before", len(after), len(others))
			}
		})
	}
}
