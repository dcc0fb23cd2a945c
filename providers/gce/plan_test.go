package gce

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// plan is PlanLoadBalancer of s on c; the fake must see no write meanwhile.
func (e *env) plan(c *Cloud, s *v1.Service) *providers.Plan {
	e.t.Helper()
	cfg, _, err := config(s)
	if err != nil {
		e.t.Fatal(err)
	}
	before := e.fake.Writes()
	p, err := c.PlanLoadBalancer(e.ctx(), "ignored", s, cfg, e.nodes)
	if err != nil {
		e.t.Fatalf("PlanLoadBalancer(%s): %v", s.Name, err)
	}
	if n := e.fake.Writes() - before; n != 0 {
		e.t.Errorf("planning %s made %d writes: %v", s.Name, n, e.fake.Calls())
	}
	return p
}

// audited ensures s and returns its writes as the audit trail reported them.
func (e *env) audited(s *v1.Service) []providers.Write {
	e.t.Helper()
	var mu sync.Mutex
	var writes []providers.Write
	ctx := providers.WithAuditor(e.ctx(), func(_ context.Context, w providers.Write, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			e.t.Errorf("write %+v failed: %v", w, err)
		}
		writes = append(writes, w)
	})
	if _, err := e.cloud.EnsureLoadBalancer(ctx, "ignored", s, e.nodes); err != nil {
		e.t.Fatalf("EnsureLoadBalancer(%s): %v", s.Name, err)
	}
	return writes
}

func operations(ws []providers.Write) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.Operation)
	}
	return out
}

// TestPlanLoadBalancer plans each change of a live Service before it is applied: the plan
// lists exactly the writes the next EnsureLoadBalancer makes, as the audit trail reports
// them; the fake sees no write while planning; the plan of an applied Service is empty, from
// this Cloud or a restarted one.
func TestPlanLoadBalancer(t *testing.T) {
	t.Parallel()
	type step struct {
		name   string
		change func(e *env, s *v1.Service)
		// want are the operations; nil: only compared with the audit trail.
		want []string
	}
	local := func(_ *env, s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 31000
	}
	for _, tc := range []struct {
		name  string
		ann   map[string]string
		steps []step
	}{
		{"target pool", nil, []step{
			{"create", func(*env, *v1.Service) {}, nil},
			{"node added", func(e *env, _ *v1.Service) { e.addNode("n4", "us-central1-b") }, []string{"targetPools.addInstance"}},
			{"source ranges", func(_ *env, s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} },
				[]string{"patch firewalls", "forwardingRules.setLabels"}},
			{"session affinity", func(_ *env, s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP },
				[]string{"delete forwardingRules", "delete targetPools", "insert targetPools", "insert forwardingRules", "forwardingRules.setLabels"}},
			{"local", local, nil},
		}},
		{"internal", map[string]string{annType: "Internal"}, []step{
			{"create", func(*env, *v1.Service) {}, nil},
			{"node added", func(e *env, _ *v1.Service) { e.addNode("n4", "us-central1-b") }, []string{"instanceGroups.addInstances"}},
			{"global access", func(_ *env, s *v1.Service) {
				s.Annotations["networking.gke.io/internal-load-balancer-allow-global-access"] = "true"
			}, []string{"patch forwardingRules", "forwardingRules.setLabels"}},
			{"local", local, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			s := svc("web", tc.ann)
			for _, step := range tc.steps {
				step.change(e, s)
				p := e.plan(e.cloud, s)
				t.Logf("%s:\n%s", step.name, p)
				if step.want != nil && !slices.Equal(operations(p.Writes), step.want) {
					t.Errorf("%s: plan %q, want %q", step.name, operations(p.Writes), step.want)
				}
				if len(p.Writes) == 0 {
					t.Errorf("%s: an empty plan", step.name)
				}
				if got := e.audited(s); !slices.Equal(got, p.Writes) {
					t.Errorf("%s: the reconcile wrote\n%s\nthe plan said\n%s", step.name, render(got), render(p.Writes))
				}
				for _, c := range []*Cloud{e.cloud, e.newCloud()} {
					if p := e.plan(c, s); len(p.Writes) != 0 {
						t.Errorf("%s: the plan of the applied Service:\n%s", step.name, p)
					}
				}
			}
		})
	}
}

func render(ws []providers.Write) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "  %s %s (%s) %s\n", w.Operation, w.Object, w.Change, w.Reason)
	}
	return b.String()
}
