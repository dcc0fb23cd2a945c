package fake

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

func TestEnsureLoadBalancer(t *testing.T) {
	t.Parallel()
	external := newService("web")
	internal := newService("web", withAnnotation(awsInternalKey, "true"))
	twoPorts := newService("web", withPorts(
		v1.ServicePort{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
		v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443},
	))
	tests := []struct {
		name string
		// before is ensured first (with nodes n1, n2), then the counters are reset.
		before *v1.Service
		svc    *v1.Service
		nodes  []string
		reads  int
		byOp   map[Op]int // the writes
		wantIP string
		check  func(t *testing.T, lb LoadBalancer)
	}{
		{
			name: "create", svc: external, nodes: []string{"n1", "n2"},
			reads: 1, byOp: map[Op]int{OpCreate: 1}, wantIP: "203.0.113.2",
		},
		{
			name: "unchanged is one read and no write", before: external, svc: external, nodes: []string{"n2", "n1"},
			reads: 1, byOp: map[Op]int{}, wantIP: "203.0.113.2",
		},
		{
			name: "port added: update in place keeps the address", before: external, svc: twoPorts, nodes: []string{"n1", "n2"},
			reads: 1, byOp: map[Op]int{OpUpdate: 1}, wantIP: "203.0.113.2",
			check: func(t *testing.T, lb LoadBalancer) {
				if len(lb.Ports) != 2 {
					t.Errorf("ports = %+v, want 2", lb.Ports)
				}
			},
		},
		{
			name: "node removed: update in place", before: external, svc: external, nodes: []string{"n1"},
			reads: 1, byOp: map[Op]int{OpUpdate: 1}, wantIP: "203.0.113.2",
			check: func(t *testing.T, lb LoadBalancer) {
				if !reflect.DeepEqual(lb.Nodes, []string{"n1"}) {
					t.Errorf("nodes = %q, want [n1]", lb.Nodes)
				}
			},
		},
		{
			name: "external to internal: replaced with an internal address", before: external, svc: internal, nodes: []string{"n1", "n2"},
			reads: 1, byOp: map[Op]int{OpDelete: 1, OpCreate: 1}, wantIP: "10.255.0.1",
			check: wantInternalLB(true),
		},
		{
			name: "internal to external: replaced with an external address", before: internal, svc: external, nodes: []string{"n1", "n2"},
			reads: 1, byOp: map[Op]int{OpDelete: 1, OpCreate: 1}, wantIP: "203.0.113.2",
			check: wantInternalLB(false),
		},
		{
			name: "internal unchanged", before: internal, svc: internal, nodes: []string{"n1", "n2"},
			reads: 1, byOp: map[Op]int{}, wantIP: "10.255.0.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCloud(t, Config{})
			// Another Service holds the first external address, so "keeps the address" and
			// "first free address" are told apart.
			mustEnsure(t, c, testCluster, newService("first"), nil)
			if tt.before != nil {
				mustEnsure(t, c, testCluster, tt.before, nodes("n1", "n2"))
			}
			c.ResetCalls()
			if got := mustEnsure(t, c, testCluster, tt.svc, nodes(tt.nodes...)); got != tt.wantIP {
				t.Errorf("ingress IP = %s, want %s", got, tt.wantIP)
			}
			writes := 0
			for _, n := range tt.byOp {
				writes += n
			}
			wantCalls(t, c, tt.reads, writes, tt.byOp)
			lb := mustGet(t, c, LoadBalancerName(tt.svc))
			if lb.IP != tt.wantIP || lb.ClusterName != testCluster || lb.Service != "default/web" {
				t.Errorf("state %+v: want IP %s owned by %s for default/web", lb, tt.wantIP, testCluster)
			}
			if tt.check != nil {
				tt.check(t, lb)
			}
			// Whatever happened, the next Ensure of the same Service is a no-op.
			c.ResetCalls()
			mustEnsure(t, c, testCluster, tt.svc, nodes(tt.nodes...))
			wantCalls(t, c, 1, 0, nil)
		})
	}
}

func wantInternalLB(want bool) func(*testing.T, LoadBalancer) {
	return func(t *testing.T, lb LoadBalancer) {
		t.Helper()
		if lb.Internal != want {
			t.Errorf("internal = %v, want %v", lb.Internal, want)
		}
	}
}

func TestInvalidAnnotationMakesNoCall(t *testing.T) {
	t.Parallel()
	const badKey = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval"
	bad := newService("web", withAnnotation(badKey, "3")) // AWS's minimum is 5
	ctx := context.Background()
	tests := []struct {
		name string
		call func(c *Cloud) error
	}{
		{"EnsureLoadBalancer", func(c *Cloud) error {
			_, err := c.EnsureLoadBalancer(ctx, testCluster, bad, nodes("n1"))
			return err
		}},
		{"UpdateLoadBalancer", func(c *Cloud) error { return c.UpdateLoadBalancer(ctx, testCluster, bad, nodes("n1")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCloud(t, Config{})
			err := tt.call(c)
			var invalid *annotations.InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %v, want an *annotations.InvalidError", err)
			}
			if len(invalid.Problems) == 0 || invalid.Problems[0].Key != badKey {
				t.Errorf("problems %+v, want one about %s", invalid.Problems, badKey)
			}
			wantCalls(t, c, 0, 0, nil)
			if lbs, _ := c.LoadBalancers(); len(lbs) != 0 {
				t.Errorf("load balancers %+v, want none", lbs)
			}
		})
	}
}

func TestForeignLoadBalancerIsNeverTouched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := newService("web")
	changed := newService("web", withAnnotation(awsInternalKey, "true"))
	tests := []struct {
		name     string
		call     func(c *Cloud) error
		userErr  bool
		wantRead int
	}{
		{"Ensure unchanged", func(c *Cloud) error {
			_, err := c.EnsureLoadBalancer(ctx, testCluster, svc, nodes("n1"))
			return err
		}, true, 1},
		{"Ensure with a replacing change", func(c *Cloud) error {
			_, err := c.EnsureLoadBalancer(ctx, testCluster, changed, nodes("n9"))
			return err
		}, true, 1},
		{"Update nodes", func(c *Cloud) error { return c.UpdateLoadBalancer(ctx, testCluster, svc, nodes("n9")) }, true, 1},
		{"Delete", func(c *Cloud) error { return c.EnsureLoadBalancerDeleted(ctx, testCluster, svc) }, false, 1},
		{"Get", func(c *Cloud) error {
			st, exists, err := c.GetLoadBalancer(ctx, testCluster, svc)
			if err == nil && (exists || st != nil) {
				return errors.New("another cluster's load balancer reported as existing")
			}
			return err
		}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCloud(t, Config{})
			mustEnsure(t, c, otherCluster, svc, nodes("n1"))
			before := mustGet(t, c, LoadBalancerName(svc))
			c.ResetCalls()
			err := tt.call(c)
			if tt.userErr {
				if !providers.IsUserError(err) {
					t.Fatalf("error %v, want a providers.UserError", err)
				}
				if want := LoadBalancerName(svc); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), otherCluster) {
					t.Errorf("error %q does not name %s and its owner %s", err, want, otherCluster)
				}
			} else if err != nil {
				t.Fatalf("error %v, want nil", err)
			}
			wantCalls(t, c, tt.wantRead, 0, nil)
			if after := mustGet(t, c, before.Name); !reflect.DeepEqual(after, before) {
				t.Errorf("foreign load balancer changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}

func TestGetLoadBalancerAndStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		hostnames bool
		want      func(lb LoadBalancer) v1.LoadBalancerIngress
	}{
		{"ip with mode VIP", false, func(lb LoadBalancer) v1.LoadBalancerIngress {
			vip := v1.LoadBalancerIPModeVIP
			return v1.LoadBalancerIngress{IP: lb.IP, IPMode: &vip}
		}},
		{"hostname", true, func(lb LoadBalancer) v1.LoadBalancerIngress {
			return v1.LoadBalancerIngress{Hostname: lb.Name + ".lb.fake.cloudlb.invalid"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := newCloud(t, Config{Hostnames: tt.hostnames})
			svc := newService("web")
			if _, exists, err := c.GetLoadBalancer(ctx, testCluster, svc); err != nil || exists {
				t.Fatalf("GetLoadBalancer before create: exists %v, err %v", exists, err)
			}
			ensured, err := c.EnsureLoadBalancer(ctx, testCluster, svc, nodes("n1"))
			if err != nil {
				t.Fatal(err)
			}
			want := []v1.LoadBalancerIngress{tt.want(mustGet(t, c, LoadBalancerName(svc)))}
			if !reflect.DeepEqual(ensured.Ingress, want) {
				t.Errorf("Ensure ingress %+v, want %+v", ensured.Ingress, want)
			}
			c.ResetCalls()
			got, exists, err := c.GetLoadBalancer(ctx, testCluster, svc)
			if err != nil || !exists || !reflect.DeepEqual(got.Ingress, want) {
				t.Errorf("GetLoadBalancer = %+v, %v, %v; want %+v, true, nil", got, exists, err, want)
			}
			wantCalls(t, c, 1, 0, nil)
			if name := c.GetLoadBalancerName(ctx, testCluster, svc); name != LoadBalancerName(svc) {
				t.Errorf("GetLoadBalancerName = %q, want %q", name, LoadBalancerName(svc))
			}
		})
	}
}

func TestUpdateLoadBalancer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := newService("web")
	selective := newService("web", withAnnotation(awsNodeLabelsKey, "role=lb"))
	tests := []struct {
		name      string
		svc       *v1.Service
		nodes     []*v1.Node
		wantErr   error
		wantWrite int
		wantNodes []string
	}{
		{"same nodes in another order: no write", svc, nodes("n2", "n1"), nil, 0, []string{"n1", "n2"}},
		{"node added", svc, nodes("n1", "n2", "n3"), nil, 1, []string{"n1", "n2", "n3"}},
		{"every node removed", svc, nil, nil, 1, nil},
		{"label selector applies", selective, []*v1.Node{
			newNode("n1", map[string]string{"role": "lb"}), newNode("n2", nil), newNode("n3", map[string]string{"role": "lb"}),
		}, nil, 1, []string{"n1", "n3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCloud(t, Config{})
			mustEnsure(t, c, testCluster, svc, nodes("n1", "n2"))
			before := mustGet(t, c, LoadBalancerName(svc))
			c.ResetCalls()
			if err := c.UpdateLoadBalancer(ctx, testCluster, tt.svc, tt.nodes); err != nil {
				t.Fatalf("UpdateLoadBalancer: %v", err)
			}
			wantCalls(t, c, 1, tt.wantWrite, map[Op]int{OpUpdateNodes: tt.wantWrite})
			after := mustGet(t, c, before.Name)
			if !reflect.DeepEqual(after.Nodes, tt.wantNodes) {
				t.Errorf("nodes = %q, want %q", after.Nodes, tt.wantNodes)
			}
			after.Nodes = before.Nodes
			if !reflect.DeepEqual(after, before) {
				t.Errorf("UpdateLoadBalancer changed more than the nodes:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
	t.Run("missing load balancer", func(t *testing.T) {
		t.Parallel()
		c := newCloud(t, Config{})
		err := c.UpdateLoadBalancer(ctx, testCluster, svc, nodes("n1"))
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("error %v, want ErrNotFound", err)
		}
		wantCalls(t, c, 1, 0, nil)
	})
}

func TestEnsureLoadBalancerDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCloud(t, Config{})
	svc, keep := newService("web"), newService("keep")
	mustEnsure(t, c, testCluster, keep, nil)
	steps := []struct {
		name        string
		create      bool
		wantWrites  int
		wantDeleted bool
	}{
		{"absent: nothing to do", false, 0, true},
		{"present: deleted", true, 1, true},
		{"deleted again: nothing to do", false, 0, true},
	}
	for _, st := range steps {
		if st.create {
			mustEnsure(t, c, testCluster, svc, nil)
		}
		c.ResetCalls()
		if err := c.EnsureLoadBalancerDeleted(ctx, testCluster, svc); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		wantCalls(t, c, 1, st.wantWrites, map[Op]int{OpDelete: st.wantWrites})
		lbs, err := c.LoadBalancers()
		if err != nil {
			t.Fatal(err)
		}
		if len(lbs) != 1 || lbs[0].Name != LoadBalancerName(keep) {
			t.Errorf("%s: load balancers %+v, want only %s", st.name, lbs, LoadBalancerName(keep))
		}
	}
}
