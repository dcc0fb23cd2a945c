package gce

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/providers"
)

// firstEnsure is EnsureLoadBalancer as the controller calls it on the sync that added the
// finalizer.
func (e *env) firstEnsure(s *v1.Service) (*v1.LoadBalancerStatus, error) {
	return e.cloud.EnsureLoadBalancer(providers.WithFirstEnsure(e.ctx()), "ignored", s, e.nodes)
}

// TestFirstEnsureSkipsOwnReads: a first ensure makes the writes and leaves the cloud as an
// ensure without the mark, with fewer reads; the next ensure finds nothing to write.
func TestFirstEnsureSkipsOwnReads(t *testing.T) {
	t.Parallel()
	udp := func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053})
	}
	local := func(s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32000
	}
	tests := []struct {
		name    string
		svc     *v1.Service
		fewerBy int
	}{
		// <lb> again, <lb>-udp, the address, the target pool, the backend service <lb>, the
		// traffic firewall.
		{"external", svc("web", nil), 6},
		{"external tcp and udp", svc("web", nil, udp), 6},
		// The same, and the per-Service health-check firewall.
		{"external local", svc("web", nil, local), 7},
		// The same, and the backend service <lb> is read twice without the mark (the one
		// the model names and the one of the other kind).
		{"internal", svc("web", map[string]string{annType: "Internal"}), 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plain, first := newEnv(t), newEnv(t)
			plain.fake.ResetCalls()
			first.fake.ResetCalls()
			want := plain.ensure(tt.svc)
			got, err := first.firstEnsure(tt.svc)
			if err != nil {
				t.Fatalf("first ensure: %v", err)
			}
			if got.Ingress[0].IP != want.Ingress[0].IP {
				t.Errorf("IP %s, want %s as without the mark", got.Ingress[0].IP, want.Ingress[0].IP)
			}
			if p, f := plain.names(), first.names(); !slices.Equal(p, f) {
				t.Errorf("cloud after a first ensure %v, want %v as without the mark", f, p)
			}
			if p, f := plain.fake.Writes(), first.fake.Writes(); p != f {
				t.Errorf("%d writes, want %d as without the mark", f, p)
			}
			if p, f := plain.reads(), first.reads(); f != p-tt.fewerBy {
				t.Errorf("%d reads, want %d: %d fewer than without the mark\n%v", f, p-tt.fewerBy, tt.fewerBy, first.fake.Calls())
			}
			first.fake.ResetCalls()
			first.ensure(tt.svc)
			if n := first.fake.Writes(); n != 0 {
				t.Errorf("the ensure after a first ensure wrote %d times: %v", n, first.fake.Calls())
			}
		})
	}
}

// TestFirstEnsureCollision: an object of another Service under one of the names whose read a
// first ensure skips is never written to nor deleted: the insert's 409 sends the ensure down
// the full path, which refuses the object as without the mark.
func TestFirstEnsureCollision(t *testing.T) {
	t.Parallel()
	internal := map[string]string{annType: "Internal"}
	tests := []struct {
		name string
		ann  map[string]string
		// kind and prefix+<lb> are the foreign object's fakegce kind and name; make
		// creates it from the other Service's model.
		kind, prefix string
		make         func(ctx context.Context, c *Cloud, fm *Model) error
	}{
		{"address", nil, "address", "", func(ctx context.Context, c *Cloud, fm *Model) error {
			return c.applyAddress(ctx, fm, &Plan{CreateAddress: true})
		}},
		{"traffic firewall", nil, "firewall", "k8s-fw-", func(ctx context.Context, c *Cloud, fm *Model) error {
			for _, f := range fm.Firewalls {
				if f.Name == trafficFirewallName(fm.Name) {
					return c.applyFirewall(ctx, fm, FirewallChange{Firewall: f, Create: true})
				}
			}
			return nil
		}},
		{"target pool", nil, "targetPool", "", func(ctx context.Context, c *Cloud, fm *Model) error {
			return c.applyTargetPool(ctx, fm, &Plan{CreateTargetPool: true})
		}},
		{"backend service", internal, "backendService", "", func(ctx context.Context, c *Cloud, fm *Model) error {
			return c.applyBackendService(ctx, fm, &BackendServiceChange{BackendService: *fm.BackendService, Create: true})
		}},
		{"everything but the rule", nil, "targetPool", "", func(ctx context.Context, c *Cloud, fm *Model) error {
			return c.applyTargetPool(ctx, fm, &Plan{CreateTargetPool: true})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			// A Service of ours makes the cluster's shared objects the foreign ones refer to.
			e.ensure(svc("bystander", tt.ann))
			// Another Service whose UID maps to the same name (a copied manifest, another
			// cluster).
			other := svc("web", tt.ann)
			other.Namespace = "other"
			fm, err := e.build(other)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "everything but the rule" {
				e.ensure(other)
				for _, r := range fm.ForwardingRules {
					if err := e.cloud.deleteRule(e.ctx(), fm, r.Name); err != nil {
						t.Fatal(err)
					}
				}
			} else if err := tt.make(e.ctx(), e.cloud, fm); err != nil {
				t.Fatal(err)
			}
			name := tt.prefix + fm.Name
			foreign := e.resource(tt.kind, name)
			if foreign == nil {
				t.Fatalf("no foreign %s %s: %v", tt.kind, name, e.names())
			}
			e.fake.ResetCalls()
			if _, err := e.firstEnsure(svc("web", tt.ann)); !providers.IsUserError(err) {
				t.Fatalf("first ensure: err = %v, want the UserError of an object not ours", err)
			}
			if got := e.resource(tt.kind, name); got == nil || *got != *foreign {
				t.Errorf("foreign %s %s is now %+v, want it untouched: %+v", tt.kind, name, got, *foreign)
			}
			for op, n := range e.fake.Calls() {
				if callKind(op) == "write" && !strings.HasSuffix(op, ".Insert") {
					t.Errorf("the first ensure made %d %s (only inserts, which never overwrite, are safe)", n, op)
				}
			}
		})
	}
}

// TestFirstEnsureAfterAPartialCreate: objects of the Service's own under the names (a crash
// after some of the inserts, against the first ensure's premise) make it converge as without
// the mark.
func TestFirstEnsureAfterAPartialCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("web", nil)
	want := e.ensure(s)
	before := e.names()
	m, err := e.build(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.ForwardingRules {
		if err := e.cloud.deleteRule(e.ctx(), m, r.Name); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.firstEnsure(s)
	if err != nil {
		t.Fatalf("first ensure: %v", err)
	}
	if got.Ingress[0].IP != want.Ingress[0].IP {
		t.Errorf("IP %s, want the address's %s", got.Ingress[0].IP, want.Ingress[0].IP)
	}
	if after := e.names(); !slices.Equal(after, before) {
		t.Errorf("cloud %v, want %v", after, before)
	}
}

// resource is the fake's object of the kind ("address", "targetPool", ...) and name, nil
// when none.
func (e *env) resource(kind, name string) *fakeResource {
	for _, r := range e.fake.Resources() {
		if strings.TrimPrefix(r.Kind, "compute#") == kind && r.Name == name {
			return &fakeResource{Kind: r.Kind, Name: r.Name, Scope: r.Scope, Description: r.Description}
		}
	}
	return nil
}

// fakeResource is what the collision test compares of a foreign object.
type fakeResource struct{ Kind, Name, Scope, Description string }

// TestFirstEnsureFaults: answers that make an insert's 409 ours on a first ensure end as on
// the full path: a lost answer (the retry is answered 409) converges, and a 409 that reserved
// no address is the error the full path returns.
func TestFirstEnsureFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		op      string
		err     error
		wantErr string
	}{
		{"lost insert answer", "TargetPools.Insert", fakecore.ErrLost, ""},
		{"lost address answer", "Addresses.Insert", fakecore.ErrLost, ""},
		{"409 that reserved nothing", "Addresses.Insert", &fakecore.APIError{Status: http.StatusConflict, Code: "alreadyExists"}, "not found after its creation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plain, e := newEnv(t), newEnv(t)
			s := svc("web", nil)
			plain.ensure(s)
			e.fake.FailNext(tt.op, 1, tt.err)
			_, err := e.firstEnsure(s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("first ensure: err = %v, want %q", err, tt.wantErr)
				}
				e.ensure(s) // the controller's retry
			} else if err != nil {
				t.Fatalf("first ensure: %v", err)
			}
			if p, f := plain.names(), e.names(); !slices.Equal(p, f) {
				t.Errorf("cloud %v, want %v", f, p)
			}
		})
	}
}
