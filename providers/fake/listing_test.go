package fake

import (
	"context"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// The first pass's listing replaces the per-Service read only where it cannot hide a write:
// each step changes the cloud (or the Service) between the listing and the Service's turn.
func TestListingNeverSkipsAWrite(t *testing.T) {
	const cluster = "c1"
	ctx := context.Background()
	steps := []struct {
		name string
		// between runs after the listing and before the Service's Ensure with it; it returns
		// the nodes that Ensure is given.
		between               func(c *Cloud, svc *v1.Service) []*v1.Node
		wantReads, wantWrites int
		wantNodes             []string
	}{
		{"unchanged: no call", func(*Cloud, *v1.Service) []*v1.Node { return nodes("a", "b") }, 0, 0, []string{"a", "b"}},
		{"the nodes changed: the hash differs, read and write", func(*Cloud, *v1.Service) []*v1.Node { return nodes("a", "b", "c") }, 1, 1, []string{"a", "b", "c"}},
		{"this process wrote the load balancer since the listing: read, and write it back", func(c *Cloud, svc *v1.Service) []*v1.Node {
			if err := c.UpdateLoadBalancer(ctx, cluster, svc, nodes("a")); err != nil {
				t.Fatal(err)
			}
			c.ResetCalls()
			return nodes("a", "b")
		}, 1, 1, []string{"a", "b"}},
		{"deleted by this process since the listing: read, and create", func(c *Cloud, svc *v1.Service) []*v1.Node {
			if err := c.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
				t.Fatal(err)
			}
			c.ResetCalls()
			return nodes("a", "b")
		}, 1, 1, []string{"a", "b"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c := newCloud(t, Config{})
			svc := newService("web")
			mustEnsure(t, c, cluster, svc, nodes("a", "b"))
			l, err := c.ListLoadBalancers(ctx, cluster)
			if err != nil {
				t.Fatal(err)
			}
			c.ResetCalls()
			ns := s.between(c, svc)
			st, err := c.EnsureLoadBalancer(providers.WithListing(ctx, l), cluster, svc, ns)
			if err != nil || len(st.Ingress) != 1 {
				t.Fatalf("Ensure: %v, %+v", err, st)
			}
			wantCalls(t, c, s.wantReads, s.wantWrites, nil)
			if got := mustGet(t, c, LoadBalancerName(svc)).Nodes; !slices.Equal(got, s.wantNodes) {
				t.Errorf("nodes %v, want %v", got, s.wantNodes)
			}
		})
	}
}

// The listing is one read for any number of load balancers and holds only the cluster's.
func TestListLoadBalancers(t *testing.T) {
	c := newCloud(t, Config{})
	for _, name := range []string{"a", "b", "c"} {
		mustEnsure(t, c, "c1", newService(name), nodes("n1"))
	}
	mustEnsure(t, c, "other", newService("d"), nodes("n1"))
	c.ResetCalls()
	l, err := c.ListLoadBalancers(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, c, 1, 0, map[Op]int{OpList: 1})
	if len(l.Entries) != 3 {
		t.Errorf("%d entries, want the cluster's 3: %v", len(l.Entries), l.Entries)
	}
	for name, e := range l.Entries {
		if e.SpecHash == "" || e.Status == nil || len(e.Status.Ingress) != 1 {
			t.Errorf("entry %s = %+v, want a hash and the address", name, e)
		}
	}
}
