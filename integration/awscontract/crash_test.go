package awscontract_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
)

// writeGate lets a set number of write calls through to the fake and refuses every later
// one, as if the controller's process had died after them: from the cloud's side a killed
// controller is one whose next write never arrives.
type writeGate struct {
	mu sync.Mutex
	// armed is false outside TestKilledBetweenWrites: everything goes through.
	armed   bool
	limit   int // writes let through while armed
	served  int
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

func (g *writeGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The fake reads the already parsed form.
		if err := r.ParseForm(); err == nil && g.refuse(r.Form.Get("Action")) {
			http.Error(w, "writeGate: the controller is considered dead", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *writeGate) refuse(action string) bool {
	if fakeaws.NewCall("", action).IsRead() {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.armed {
		return false
	}
	if g.served < g.limit {
		g.served++
		return false
	}
	select {
	case <-g.tripped:
	default:
		close(g.tripped)
	}
	return true
}

// TestKilledBetweenWrites kills the controller after every prefix of the writes that create
// a Classic ELB (with a managed security group) and an NLB, then starts a new one: each
// time the cloud converges to the same state with no duplicate resource.
func TestKilledBetweenWrites(t *testing.T) {
	fake := requireFake(t, "cuts the controller off between writes")
	cases := []struct {
		name  string
		svc   func(name string) *v1.Service
		check func(t *testing.T, svc string)
	}{
		{"clb", func(name string) *v1.Service {
			return newService(name, map[string]string{prefix + "connection-idle-timeout": "75", prefix + "additional-resource-tags": "k=v"},
				func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.3.0.0/16"} })
		}, func(t *testing.T, svc string) {
			waitClassic(t, svc, func(lb *classicLB) error {
				return firstErr(
					want("idle", aws.ToInt32(lb.attrs.ConnectionSettings.IdleTimeout), int32(75)),
					want("tag", lb.tags["k"], "v"),
					want("instances", len(lb.registered()), 3),
					want("listeners", len(lb.desc.ListenerDescriptions), 1),
					sourceRanges(t, lb, "10.3.0.0/16"))
			})
			expectOwned(t, svc, map[string]int{"Classic ELB": 1, "security group": 1})
		}},
		{"nlb", func(name string) *v1.Service {
			return newService(name, map[string]string{prefix + "type": "nlb", prefix + "healthcheck-interval": "20"})
		}, func(t *testing.T, svc string) {
			waitNLB(t, svc, func(lb *networkLB) error {
				if len(lb.groups) != 1 {
					return fmt.Errorf("%d target groups, want 1", len(lb.groups))
				}
				return firstErr(
					want("targets", len(lb.groups[0].targets), 3),
					want("interval", aws.ToInt32(lb.groups[0].tg.HealthCheckIntervalSeconds), int32(20)),
					want("listeners", len(lb.listeners), 1))
			})
			expectOwned(t, svc, map[string]int{"NLB": 1, "listener": 1, "target group": 1})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenant(t)
			// The writes of an uninterrupted creation.
			waitSettled(t, fake, 0)
			fake.ResetCalls()
			probe := tn.Create(tc.svc(tc.name + "-all"))
			tn.WaitIngress(probe.Name, nil)
			tc.check(t, key(probe))
			writes := waitSettled(t, fake, 1).writes
			t.Logf("%s: %d writes to create", tc.name, writes)
			for k := 1; k < writes; k++ {
				tripped := shared.gate.arm(k)
				svc := tn.Create(tc.svc(fmt.Sprintf("%s-%d", tc.name, k)))
				waitFor(t, fmt.Sprintf("write %d of %s to be refused", k+1, svc.Name), func() (bool, string) {
					select {
					case <-tripped:
						return true, ""
					default:
						return false, "not yet"
					}
				})
				tn.Restart() // stops the cut-off controller before the gate opens
				shared.gate.disarm()
				tn.WaitIngress(svc.Name, nil)
				tc.check(t, key(svc))
			}
		})
	}
}

// expectOwned checks how many resources of each kind the cloud holds for the service.
func expectOwned(t *testing.T, svc string, kinds map[string]int) {
	t.Helper()
	owned, err := ownedResources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	var all []string
	for _, r := range owned {
		if r.service == svc {
			got[r.kind]++
			all = append(all, r.String())
		}
	}
	for kind, n := range kinds {
		if got[kind] != n {
			t.Errorf("%s: %d %s, want %d; the service's resources:\n  %s", svc, got[kind], kind, n, strings.Join(all, "\n  "))
		}
	}
}
