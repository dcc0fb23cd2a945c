package gcecontract_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// writeGate stands between one tenant's providers and the shared fake. It counts the writes
// and, when armed, lets a set number through and refuses every later one, as if the
// controller's process had died after them: from the cloud's side a killed controller is one
// whose next write never arrives.
type writeGate struct {
	mu      sync.Mutex
	armed   bool
	limit   int
	served  int // writes let through since the last arm or count reset
	tripped chan struct{}
}

// arm lets n more writes through and refuses the rest until disarm; the returned channel
// is closed at the first refused write.
func (g *writeGate) arm(n int) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.limit, g.served, g.tripped = true, n, 0, make(chan struct{})
	return g.tripped
}

func (g *writeGate) disarm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = false
}

// writes returns the writes let through since the last arm or writes call, and zeroes it.
func (g *writeGate) writes() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.served
	g.served = 0
	return n
}

// isWrite: every Compute call but GET, and operation waits and polls.
func isWrite(r *http.Request) bool {
	return r.Method != http.MethodGet && !strings.Contains(r.URL.Path, "/operations/")
}

func (g *writeGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWrite(r) && g.refuse() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"code":503,"message":"writeGate: the controller is considered dead","errors":[{"reason":"backendError","domain":"global","message":"writeGate"}]}}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *writeGate) refuse() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.armed && g.served >= g.limit {
		select {
		case <-g.tripped:
		default:
			close(g.tripped)
		}
		return true
	}
	g.served++
	return false
}

// newGatedTenant is a tenant whose providers reach the fake through their own writeGate.
func newGatedTenant(t *testing.T) (*tenant, *writeGate) {
	t.Helper()
	g := &writeGate{}
	srv := httptest.NewServer(g.wrap(shared.fake))
	t.Cleanup(srv.Close) // after the tenant's cleanup, which deletes through the gate
	return newTenantAt(t, srv.URL), g
}

// ownedExactly waits until the cloud holds exactly want (kind name, with <lb> standing for
// the load balancer name) among the objects whose description names the Service.
func ownedExactly(t *testing.T, svc *v1.Service, want []string) {
	t.Helper()
	lb := cloudgce.LoadBalancerName(svc)
	var exp []string
	for _, w := range want {
		exp = append(exp, strings.ReplaceAll(w, "<lb>", lb))
	}
	slices.Sort(exp)
	waitFor(t, "the resources of "+key(svc), func() (bool, string) {
		got := slices.Sorted(maps.Keys(resources(key(svc))))
		return slices.Equal(got, exp), fmt.Sprintf("have %v, want %v", got, exp)
	})
}

// crashCases are Services whose creation or deletion the crash tests cut short.
var crashCases = []struct {
	name  string
	svc   func(name string) *v1.Service
	owned []string
}{
	{"external-local", func(name string) *v1.Service {
		return newService(name, nil, localPolicy, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.3.0.0/16"} })
	}, []string{"address <lb>", "forwardingRule <lb>", "targetPool <lb>", "httpHealthCheck <lb>", "firewall k8s-fw-<lb>", "firewall k8s-<lb>-http-hc"}},
	{"internal-mixed", func(name string) *v1.Service {
		return newService(name, map[string]string{internal: "Internal"}, func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53})
		})
	}, []string{"address <lb>", "forwardingRule <lb>", "forwardingRule <lb>-udp", "backendService <lb>", "firewall k8s-fw-<lb>"}},
	{"rbs", func(name string) *v1.Service {
		return newService(name, map[string]string{"cloud.google.com/l4-rbs": "enabled"})
	}, []string{"address <lb>", "forwardingRule <lb>", "backendService <lb>", "firewall k8s-fw-<lb>"}},
}

// TestKilledBetweenWrites kills the controller after every prefix of the writes that create
// a load balancer, then starts a new one: each time the cloud converges to the Service's
// exact set of objects. Shared objects left half-made are checked by TestMain, which
// requires an empty cloud at the end.
func TestKilledBetweenWrites(t *testing.T) {
	t.Parallel()
	for _, tc := range crashCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn, gate := newGatedTenant(t)
			probe := tn.create(tc.svc(tc.name + "-all"))
			tn.waitIngress(probe.Name)
			ownedExactly(t, probe, tc.owned)
			writes := gate.writes()
			t.Logf("%s: %d writes to create", tc.name, writes)
			cuts := 0
			for k := 1; k < writes; k++ {
				tripped := gate.arm(k)
				svc := tn.create(tc.svc(fmt.Sprintf("%s-%d", tc.name, k)))
				if waitCut(t, tn, svc.Name, false, tripped) {
					cuts++
				}
				tn.restart() // stops the cut-off controller before the gate opens
				gate.disarm()
				ownedExactly(t, tn.waitIngress(svc.Name), tc.owned)
			}
			// Shared objects made by the probe make later creations shorter, never all of them.
			if cuts < 3 {
				t.Errorf("the controller was cut off %d times in %d creations", cuts, writes-1)
			}
		})
	}
}

// TestKilledBetweenDeleteWrites cuts the controller off during the deletion of a load
// balancer after every prefix of its writes: the next controller finishes it and the
// Service's objects are all gone.
func TestKilledBetweenDeleteWrites(t *testing.T) {
	t.Parallel()
	for _, tc := range crashCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn, gate := newGatedTenant(t)
			probe := tn.waitIngress(tn.create(tc.svc(tc.name + "-all")).Name)
			ownedExactly(t, probe, tc.owned)
			gate.writes()
			tn.deleteService(probe.Name)
			tn.waitGone(probe.Name)
			ownedExactly(t, probe, nil)
			writes := gate.writes()
			t.Logf("%s: %d writes to delete", tc.name, writes)
			cuts := 0
			for k := 1; k < writes; k++ {
				svc := tn.waitIngress(tn.create(tc.svc(fmt.Sprintf("%s-%d", tc.name, k))).Name)
				ownedExactly(t, svc, tc.owned)
				tripped := gate.arm(k)
				tn.deleteService(svc.Name)
				if waitCut(t, tn, svc.Name, true, tripped) {
					cuts++
				}
				tn.restart()
				gate.disarm()
				tn.waitGone(svc.Name)
				ownedExactly(t, svc, nil)
			}
			if cuts < 3 {
				t.Errorf("the controller was cut off %d times in %d deletions", cuts, writes-1)
			}
		})
	}
}

// waitCut waits until the gate refused a write, or until the Service is done without it
// (fewer writes were needed this time, as shared objects already existed or were already
// gone): it has its ingress, or (deleting) it is gone.
func waitCut(t *testing.T, tn *tenant, name string, deleting bool, tripped <-chan struct{}) (cut bool) {
	t.Helper()
	waitFor(t, "a write to be refused", func() (bool, string) {
		select {
		case <-tripped:
			cut = true
			return true, ""
		default:
		}
		s, err := tn.cs.CoreV1().Services(tn.ns).Get(context.Background(), name, metav1.GetOptions{})
		if deleting {
			return apierrors.IsNotFound(err), "not yet"
		}
		return err == nil && len(s.Status.LoadBalancer.Ingress) > 0, "not yet"
	})
	return cut
}

func (tn *tenant) deleteService(name string) {
	tn.t.Helper()
	if err := tn.cs.CoreV1().Services(tn.ns).Delete(tn.t.Context(), name, metav1.DeleteOptions{}); err != nil {
		tn.t.Fatalf("delete %s: %v", name, err)
	}
}
