package azure_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/internal/callbudget"
	"github.com/cloudlb/cloudlb/providers"
)

// budgetServices is how many Services the call budget measures.
const budgetServices = 50

// kind classifies a fakeazure call key: "poll" (async operation status), "read" or "write".
func kind(call string) string {
	switch {
	case strings.HasPrefix(call, "AsyncOperation."):
		return "poll"
	case strings.HasSuffix(call, ".Get"), strings.HasSuffix(call, ".List"), strings.HasSuffix(call, ".ListAll"):
		return "read"
	}
	return "write"
}

// measureBudget runs, against fakeazure, what the service controller asks of the provider
// for budgetServices public Services (ports 80 and 443): create them one by one
// (EnsureLoadBalancer), sync them again unchanged (EnsureLoadBalancer, the periodic drift
// repair), the same after a controller restart (a new Cloud), add a node (UpdateLoadBalancer
// for each), and delete them (EnsureLoadBalancerDeleted).
func measureBudget(tb testing.TB) []callbudget.Phase {
	e := newEnv(tb, "")
	var svcs []*v1.Service
	for i := range budgetServices {
		svcs = append(svcs, service(fmt.Sprintf("svc-%02d", i), uid(1000+i), nil))
	}
	var out []callbudget.Phase
	run := func(name string, each func(*v1.Service)) {
		e.srv.ResetCalls()
		for _, s := range svcs {
			each(s)
		}
		out = append(out, callbudget.Phase{Name: name, Calls: e.srv.Calls()})
	}
	ensure := func(s *v1.Service) { e.ensure(s) }
	run("create", ensure)
	run("no-op sync", ensure)
	e.cloud = e.newCloud()
	run("no-op after restart", ensure)
	e.cloud = e.newCloud()
	var listed context.Context
	run("restart with a listing", func(s *v1.Service) {
		if listed == nil {
			l, err := e.cloud.ListLoadBalancers(testCtx(tb), cluster)
			if err != nil {
				tb.Fatalf("ListLoadBalancers: %v", err)
			}
			listed = providers.WithListing(testCtx(tb), l)
		}
		if _, err := e.cloud.EnsureLoadBalancer(listed, cluster, s, e.nodes); err != nil {
			tb.Fatalf("EnsureLoadBalancer(%s) with the listing: %v", s.Name, err)
		}
	})
	e.nodes = append(e.nodes, node("node-4", "10.240.0.20"))
	run("node add", func(s *v1.Service) {
		if err := e.cloud.UpdateLoadBalancer(testCtx(tb), cluster, s, e.nodes); err != nil {
			tb.Fatalf("UpdateLoadBalancer(%s): %v", s.Name, err)
		}
	})
	run("delete", e.remove)
	if got := e.srv.Resources(); len(got) != 3 {
		tb.Errorf("after deleting every Service the fake holds %d resources, want the vnet, the NSG and the user's public IP: %v", len(got), got)
	}
	return out
}

// TestCallBudget prints the calls by operation for 50 Services (go test -run TestCallBudget
// -v ./providers/azure/) and holds the provider to its budget.
func TestCallBudget(t *testing.T) {
	t.Parallel()
	phases := measureBudget(t)
	t.Logf("ARM calls for %d public Services against fakeazure:\n%s", budgetServices, callbudget.Table(phases, kind, budgetServices))
	by := map[string]callbudget.Phase{}
	for _, p := range phases {
		by[p.Name] = p
	}
	for _, c := range []struct {
		phase               string
		maxReads, maxWrites int // for all Services
	}{
		// A public IP, the load balancer and the NSG: one write each per Service. Reads:
		// each of the three before its write and once more after it (the SDK's final GET of
		// a long-running PUT), the other load balancer and the public IP list (where the
		// Service was before is not known yet).
		{"create", 8 * budgetServices, 3 * budgetServices},
		// The public IP, the load balancer and the NSG read, nothing written.
		{"no-op sync", 3 * budgetServices, 0},
		// Also the other load balancer and the public IP list, once per Service.
		{"no-op after restart", 5 * budgetServices, 0},
		// The controller's first pass lists once (providers.Lister): both load balancers, a
		// page of public IPs and the NSG; the Services' syncs make no call.
		{"restart with a listing", listingCalls, 0},
		// One pool write for all Services (and its final GET), one read each.
		{"node add", budgetServices + 1, 1},
		// The NSG, the load balancer (the last one deletes it) and the public IP.
		{"delete", 6 * budgetServices, 3 * budgetServices},
	} {
		p := by[c.phase]
		if r, w := p.Total(kind, "read"), p.Total(kind, "write"); r > c.maxReads || w > c.maxWrites {
			t.Errorf("%s: %d reads and %d writes for %d Services, want <= %d and <= %d", c.phase, r, w, budgetServices, c.maxReads, c.maxWrites)
		}
	}
}

// BenchmarkCallBudget reports the ARM calls per Service of each phase as custom metrics
// (reads/svc and writes/svc per phase), so make bench records them.
func BenchmarkCallBudget(b *testing.B) {
	var phases []callbudget.Phase
	for b.Loop() {
		phases = measureBudget(b)
	}
	for _, p := range phases {
		name := strings.ReplaceAll(p.Name, " ", "-")
		b.ReportMetric(float64(p.Total(kind, "read"))/budgetServices, name+"-reads/svc")
		b.ReportMetric(float64(p.Total(kind, "write"))/budgetServices, name+"-writes/svc")
	}
}
