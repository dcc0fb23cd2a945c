package gce

import (
	"context"
	"fmt"
	"maps"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// converged creates n Services (every third one internal) and returns them.
func (e *env) converged(n int) []*v1.Service {
	e.t.Helper()
	var svcs []*v1.Service
	for i := range n {
		var ann map[string]string
		if i%3 == 2 {
			ann = map[string]string{annType: "Internal"}
		}
		s := svc(fmt.Sprintf("svc-%04d", i), ann, func(s *v1.Service) { s.Spec.Ports[0].NodePort = int32(30000 + i) })
		e.ensure(s)
		svcs = append(svcs, s)
	}
	return svcs
}

// listing restarts the provider (empty caches) and lists, with the calls reset first.
func (e *env) listing() (context.Context, map[string]int) {
	e.t.Helper()
	e.cloud = e.newCloud()
	e.fake.ResetCalls()
	l, err := e.cloud.ListLoadBalancers(e.ctx(), "ignored")
	if err != nil {
		e.t.Fatalf("ListLoadBalancers: %v", err)
	}
	calls := maps.Clone(e.fake.Calls())
	e.fake.ResetCalls()
	return providers.WithListing(e.ctx(), l), calls
}

// ensureWith runs EnsureLoadBalancer with ctx (carrying a Listing) and returns the calls it
// made.
func (e *env) ensureWith(ctx context.Context, s *v1.Service) map[string]int {
	e.t.Helper()
	e.fake.ResetCalls()
	st, err := e.cloud.EnsureLoadBalancer(ctx, "ignored", s, e.nodes)
	if err != nil {
		e.t.Fatalf("EnsureLoadBalancer(%s): %v", s.Name, err)
	}
	if len(st.Ingress) != 1 || st.Ingress[0].IP == "" {
		e.t.Fatalf("EnsureLoadBalancer(%s): status %+v", s.Name, st)
	}
	return maps.Clone(e.fake.Calls())
}

// TestListingSkipsConvergedServices: after a restart, one ForwardingRules.List and one
// TargetPools.List stand for the reads of every converged Service; an external Service's
// first sync makes no call, the internal ones read the shared groups once per zone.
func TestListingSkipsConvergedServices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svcs := e.converged(9)
	ctx, calls := e.listing()
	if want := map[string]int{"ForwardingRules.List": 1, "TargetPools.List": 1}; !maps.Equal(calls, want) {
		t.Errorf("listing calls %v, want %v", calls, want)
	}
	ips := map[string]string{}
	groupReads := 0
	for i, s := range svcs {
		got := e.ensureWith(ctx, s)
		if i%3 != 2 && len(got) != 0 {
			t.Errorf("%s (external): calls %v with the listing, want none", s.Name, got)
		}
		for k, v := range got {
			if k != "InstanceGroups.Get" && k != "InstanceGroups.ListInstances" {
				t.Errorf("%s: call %s x%d with the listing, want only the shared groups' reads", s.Name, k, v)
			}
			groupReads += v
		}
		ips[s.Name] = e.ensure(s).Ingress[0].IP // the full path's status, for comparison
	}
	// Two zones: a Get and a ListInstances each, for all internal Services.
	if groupReads > 4 {
		t.Errorf("the internal Services read the groups %d times, want <= 4 (once per zone)", groupReads)
	}
	// The listed status is the one ensure reports.
	ctx, _ = e.listing()
	for _, s := range svcs {
		st, err := e.cloud.EnsureLoadBalancer(ctx, "ignored", s, e.nodes)
		if err != nil || st.Ingress[0].IP != ips[s.Name] {
			t.Errorf("%s: listed status %+v (%v), want IP %s", s.Name, st, err, ips[s.Name])
		}
	}
}

// TestListingPages: more than 500 rules take two ForwardingRules.List calls.
func TestListingPages(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 501 load balancers")
	}
	t.Parallel()
	e := newEnv(t)
	for i := range 501 {
		e.ensure(svc(fmt.Sprintf("p-%04d", i), nil, func(s *v1.Service) { s.Spec.Ports[0].NodePort = int32(30000 + i%2000) }))
	}
	ctx, calls := e.listing()
	if calls["ForwardingRules.List"] != 2 || calls["TargetPools.List"] != 2 {
		t.Errorf("listing 501 rules and pools: %v, want 2 ForwardingRules.List and 2 TargetPools.List", calls)
	}
	if l := providers.ListingFrom(ctx); len(l.Entries) != 501 {
		t.Errorf("listing holds %d entries, want 501", len(l.Entries))
	}
}

// TestListingNeverSkipsAWrite: a Listing that no longer shows the cloud never stands for a
// read where a write is due: the members changed before the listing (they are not in the
// spec hash), this process wrote the load balancer after the listing (a node change, a
// delete), or the Service changed.
func TestListingNeverSkipsAWrite(t *testing.T) {
	t.Parallel()
	writes := func(calls map[string]int) int {
		n := 0
		for k, v := range calls {
			if callKind(k) == "write" {
				n += v
			}
		}
		return n
	}
	for _, tc := range []struct {
		name string
		// change runs between the listing and the Service's sync; it returns the Service
		// to sync.
		change func(e *env, s *v1.Service) *v1.Service
		// before runs before the listing.
		before func(e *env, s *v1.Service)
	}{
		{name: "node joined while the controller was down", before: func(e *env, _ *v1.Service) {
			e.addNode("n4", "us-central1-b")
		}},
		{name: "this process added a node, the sync has the old set", change: func(e *env, s *v1.Service) *v1.Service {
			old := e.nodes
			e.addNode("n4", "us-central1-b")
			if err := e.cloud.UpdateLoadBalancer(e.ctx(), "ignored", s, e.nodes); err != nil {
				e.t.Fatal(err)
			}
			e.nodes = old
			return s
		}},
		{name: "this process deleted the load balancer", change: func(e *env, s *v1.Service) *v1.Service {
			e.delete(s)
			return s
		}},
		{name: "the Service changed", change: func(e *env, s *v1.Service) *v1.Service {
			s = s.DeepCopy()
			s.Spec.Ports[0].Port = 8443
			return s
		}},
	} {
		for _, internal := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/internal=%v", tc.name, internal), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				var ann map[string]string
				if internal {
					ann = map[string]string{annType: "Internal"}
				}
				s := svc("stale", ann)
				e.ensure(s)
				if tc.before != nil {
					tc.before(e, s)
				}
				ctx, _ := e.listing()
				if tc.change != nil {
					s = tc.change(e, s)
				}
				got := e.ensureWith(ctx, s)
				if got["ForwardingRules.Get"] == 0 || writes(got) == 0 {
					t.Errorf("sync with a stale listing: calls %v, want the rule read and a write", got)
				}
				// Converged again: the full path agrees with the cloud.
				e.fake.ResetCalls()
				e.ensure(s)
				if n := writes(e.fake.Calls()); n != 0 {
					t.Errorf("sync after the repair wrote %d times: %v", n, e.fake.Calls())
				}
			})
		}
	}
}

// BenchmarkRestartResync reports the Compute calls per Service of a restarted controller's
// first pass over 1,000 and 5,000 converged Services (one in three internal) with the
// listing: the listing's calls, plus the shared groups' reads.
func BenchmarkRestartResync(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) { benchmarkRestartResync(b, n) })
	}
}

func benchmarkRestartResync(b *testing.B, n int) {
	e := newEnv(b)
	svcs := e.converged(n)
	var total int
	for b.Loop() {
		ctx, calls := e.listing()
		total = 0
		for _, v := range calls {
			total += v
		}
		for _, s := range svcs {
			for _, v := range e.ensureWith(ctx, s) {
				total += v
			}
		}
	}
	b.ReportMetric(float64(total)/float64(n), "calls/service")
}
