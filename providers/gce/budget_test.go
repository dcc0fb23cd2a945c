package gce

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cloudlb/cloudlb/internal/callbudget"
	v1 "k8s.io/api/core/v1"
)

// budgetServices is how many Services the call budget measures: half external (target
// pool), half internal (backend service).
const budgetServices = 50

// callKind classifies a fakegce call key: "poll" (operation status), "read" or "write".
func callKind(call string) string {
	api, method, _ := strings.Cut(call, ".")
	switch {
	case strings.HasSuffix(api, "Operations"):
		return "poll"
	case method == "Get", method == "List", method == "AggregatedList", method == "ListInstances":
		return "read"
	}
	return "write"
}

// measureBudget runs, against fakegce, what the service controller asks of the provider for
// budgetServices Services (one TCP port, externalTrafficPolicy Cluster): create them one by
// one (EnsureLoadBalancer), sync them again unchanged, the same after a restart (a new Cloud,
// empty caches), add a node in a zone that has nodes (UpdateLoadBalancer for each), and
// delete them (EnsureLoadBalancerDeleted).
func measureBudget(tb testing.TB) []callbudget.Phase {
	e := newEnv(tb)
	var svcs []*v1.Service
	for i := range budgetServices {
		var ann map[string]string
		if i%2 == 1 {
			ann = map[string]string{annType: "Internal"}
		}
		svcs = append(svcs, svc(fmt.Sprintf("svc-%02d", i), ann, func(s *v1.Service) { s.Spec.Ports[0].NodePort = int32(30000 + i) }))
	}
	var out []callbudget.Phase
	run := func(name string, each func(*v1.Service)) {
		e.fake.ResetCalls()
		for _, s := range svcs {
			each(s)
		}
		out = append(out, callbudget.Phase{Name: name, Calls: e.fake.Calls()})
	}
	ensure := func(s *v1.Service) { e.ensure(s) }
	run("create", ensure)
	run("no-op sync", ensure)
	e.cloud = e.newCloud()
	run("no-op after restart", ensure)
	e.addNode("n4", "us-central1-b")
	run("node add", func(s *v1.Service) {
		if err := e.cloud.UpdateLoadBalancer(e.ctx(), "ignored", s, e.nodes); err != nil {
			tb.Fatalf("UpdateLoadBalancer(%s): %v", s.Name, err)
		}
	})
	run("delete", e.delete)
	if n := e.names(); len(n) != 0 {
		tb.Errorf("after deleting every Service the fake holds %v", n)
	}
	return out
}

// TestCallBudget prints the Compute calls by operation for 50 Services (go test -run
// TestCallBudget -v ./providers/gce/) and holds the provider to its budget.
func TestCallBudget(t *testing.T) {
	t.Parallel()
	phases := measureBudget(t)
	t.Logf("Compute calls for %d Services (25 external, 25 internal) against fakegce:\n%s", budgetServices, callbudget.Table(phases, callKind, budgetServices))
	by := map[string]callbudget.Phase{}
	for _, p := range phases {
		by[p.Name] = p
	}
	half := budgetServices / 2
	for _, c := range []struct {
		phase               string
		maxReads, maxWrites int
	}{
		// Per Service: the address, the traffic firewall, the target pool or backend service,
		// the rule and its label; the shared checks, their firewalls and the groups once.
		// Reads: each object before its write, the address and rule again after theirs.
		{"create", 12 * budgetServices, 5*budgetServices + 10},
		// One forwarding rule read each (the spec label matches, the members are cached).
		{"no-op sync", budgetServices, 0},
		// A fresh process reads each rule and each target pool; the shared instance groups
		// once (two zones: a Get and a ListInstances each) for all internal Services.
		{"no-op after restart", budgetServices + half + 4, 0},
		// The rule and pool of each external Service, one AddInstance each; one AddInstances
		// to the zone's shared group for all internal Services.
		{"node add", budgetServices + half + 4, half + 1},
		// Every candidate object is read; the own objects are deleted, and the shared ones are
		// tried by each Service (GCE refuses while another Service uses them).
		{"delete", 12 * budgetServices, 6*budgetServices + 2},
	} {
		p := by[c.phase]
		if r, w := p.Total(callKind, "read"), p.Total(callKind, "write"); r > c.maxReads || w > c.maxWrites {
			t.Errorf("%s: %d reads and %d writes for %d Services, want <= %d and <= %d", c.phase, r, w, budgetServices, c.maxReads, c.maxWrites)
		}
	}
}

// BenchmarkCallBudget reports the Compute calls per Service of each phase as custom metrics
// (reads/svc and writes/svc per phase), so make bench records them.
func BenchmarkCallBudget(b *testing.B) {
	var phases []callbudget.Phase
	for b.Loop() {
		phases = measureBudget(b)
	}
	for _, p := range phases {
		name := strings.ReplaceAll(p.Name, " ", "-")
		b.ReportMetric(float64(p.Total(callKind, "read"))/budgetServices, name+"-reads/svc")
		b.ReportMetric(float64(p.Total(callKind, "write"))/budgetServices, name+"-writes/svc")
	}
}
