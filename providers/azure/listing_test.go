package azure_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/cloudlb/cloudlb/providers"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// listingCalls is what one listing costs with at most one page of public IPs: both load
// balancers, the page and the NSG.
const listingCalls = 4

// converged creates n Services (every third internal) and restarts the provider (a new
// Cloud, which knows nothing of where it put them); it returns them with their statuses.
func converged(t *testing.T, e *env, n int) ([]*v1.Service, []*v1.LoadBalancerStatus) {
	t.Helper()
	var svcs []*v1.Service
	var sts []*v1.LoadBalancerStatus
	for i := range n {
		var ann map[string]string
		if i%3 == 2 {
			ann = map[string]string{prefix + "azure-load-balancer-internal": "true"}
		}
		s := service(fmt.Sprintf("svc-%02d", i), uid(2000+i), ann)
		svcs = append(svcs, s)
		sts = append(sts, e.ensure(s))
	}
	e.cloud = e.newCloud()
	return svcs, sts
}

// list takes the provider's Listing and returns a context carrying it, with the calls made.
func (e *env) list(t *testing.T) (context.Context, int) {
	t.Helper()
	e.srv.ResetCalls()
	l, err := e.cloud.ListLoadBalancers(testCtx(t), cluster)
	if err != nil {
		t.Fatalf("ListLoadBalancers: %v", err)
	}
	_, reads, _ := e.counts()
	return providers.WithListing(testCtx(t), l), reads
}

// TestListingMakesRestartFree: after a restart, one listing of a constant number of calls
// stands for every converged Service's reads; each Ensure with it makes no call and reports
// the status the full reconcile did.
func TestListingMakesRestartFree(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 12} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			svcs, sts := converged(t, e, n)
			ctx, reads := e.list(t)
			t.Logf("listing %d Services: %d calls", n, reads)
			if reads != listingCalls {
				t.Errorf("listing made %d calls, want %d", reads, listingCalls)
			}
			for i, s := range svcs {
				e.srv.ResetCalls()
				st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, s, e.nodes)
				if err != nil {
					t.Fatalf("EnsureLoadBalancer(%s) with the listing: %v", s.Name, err)
				}
				if calls := e.srv.Calls(); len(calls) != 0 {
					t.Errorf("EnsureLoadBalancer(%s) with the listing made calls %v, want none", s.Name, calls)
				}
				if !equality.Semantic.DeepEqual(st, sts[i]) {
					t.Errorf("EnsureLoadBalancer(%s) with the listing = %v, want %v as created", s.Name, st, sts[i])
				}
			}
			// The listing also told the Cloud where each Service is: a sync without it reads
			// what a sync of a known Service reads.
			e.srv.ResetCalls()
			e.ensure(svcs[0])
			if w, r, calls := e.counts(); w != 0 || r > 3 {
				t.Errorf("a later sync made %d writes and %d reads, want 0 and <= 3: %v", w, r, calls)
			}
		})
	}
}

// TestStaleListingNeverSkipsWrite: whatever this process writes between the listing and a
// Service's turn, Ensure with the old listing reads again and writes what the Service needs.
func TestStaleListingNeverSkipsWrite(t *testing.T) {
	t.Parallel()
	extra := node("node-4", "10.240.0.20")
	ips := func(nodes []*v1.Node) []string {
		var out []string
		for _, n := range nodes {
			out = append(out, n.Status.Addresses[0].Address)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		name string
		// change runs between the listing and b's turn, with b's node set nodes.
		change func(t *testing.T, e *env, a, b *v1.Service, nodes []*v1.Node)
		// bNodes are the nodes b's Ensure is given.
		bNodes func(nodes []*v1.Node) []*v1.Node
		// wantWrite is whether b's Ensure must write.
		wantWrite bool
	}{
		{
			name: "node change via UpdateLoadBalancer, b's sync still has the old nodes",
			change: func(t *testing.T, e *env, a, _ *v1.Service, nodes []*v1.Node) {
				if err := e.cloud.UpdateLoadBalancer(testCtx(t), cluster, a, append(slices.Clone(nodes), extra)); err != nil {
					t.Fatal(err)
				}
			},
			wantWrite: true,
		},
		{
			name: "another Service's Ensure on the same load balancer wrote the pool",
			change: func(t *testing.T, e *env, a, _ *v1.Service, nodes []*v1.Node) {
				if _, err := e.cloud.EnsureLoadBalancer(testCtx(t), cluster, a, append(slices.Clone(nodes), extra)); err != nil {
					t.Fatal(err)
				}
			},
			wantWrite: true,
		},
		{
			name: "another Service's change on the same load balancer",
			change: func(t *testing.T, e *env, a, _ *v1.Service, nodes []*v1.Node) {
				a = a.DeepCopy()
				a.Spec.Ports = append(a.Spec.Ports, v1.ServicePort{Name: "alt", Protocol: v1.ProtocolTCP, Port: 8080, NodePort: 30999})
				if _, err := e.cloud.EnsureLoadBalancer(testCtx(t), cluster, a, nodes); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "the Service was deleted",
			change: func(t *testing.T, e *env, _, b *v1.Service, _ []*v1.Node) {
				e.remove(b)
			},
			wantWrite: true,
		},
		{
			name:      "a node added since the listing, nothing written yet",
			change:    func(*testing.T, *env, *v1.Service, *v1.Service, []*v1.Node) {},
			bNodes:    func(nodes []*v1.Node) []*v1.Node { return append(slices.Clone(nodes), extra) },
			wantWrite: true,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			svcs, sts := converged(t, e, 2)
			a, b := svcs[0], svcs[1]
			ctx, _ := e.list(t)
			c.change(t, e, a, b, e.nodes)
			nodes := e.nodes
			if c.bNodes != nil {
				nodes = c.bNodes(nodes)
			}
			e.srv.ResetCalls()
			st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, b, nodes)
			if err != nil {
				t.Fatalf("EnsureLoadBalancer(%s) with the old listing: %v", b.Name, err)
			}
			w, r, calls := e.counts()
			if r == 0 || (c.wantWrite && w == 0) || (!c.wantWrite && w != 0) {
				t.Errorf("EnsureLoadBalancer with the old listing made %d reads and %d writes, want > 0 reads and writes: %v (%v)", r, w, c.wantWrite, calls)
			}
			// The outcome: b is served as asked, on the nodes it was given.
			if len(st.Ingress) != 1 || (c.name != "the Service was deleted" && !equality.Semantic.DeepEqual(st, sts[1])) {
				t.Errorf("status %v, want one address (as created: %v)", st, sts[1])
			}
			lb := e.lb(cluster)
			if !slices.ContainsFunc(frontendNames(lb), func(n string) bool { return n == azure.ServicePrefix(b) }) {
				t.Errorf("frontends %v lack %s's", frontendNames(lb), b.Name)
			}
			if got, want := sorted(poolIPs(lb)), ips(nodes); !slices.Equal(got, want) {
				t.Errorf("pool %v, want %v", got, want)
			}
		})
	}
}
