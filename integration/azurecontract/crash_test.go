package azurecontract_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cloudlb/cloudlb/integration/contract"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// crashCase is a change whose writes the controller may not finish.
type crashCase struct {
	name string
	// prepare creates the Service and waits until the cloud has it, nothing cut off.
	prepare func(tn *contract.Tenant, name string) *v1.Service
	// act makes the change and returns the Service as written.
	act func(tn *contract.Tenant, svc *v1.Service) *v1.Service
	// check waits for the cloud to hold exactly what the change leads to.
	check func(tn *contract.Tenant, svc *v1.Service)
}

func crashCases() []crashCase {
	// spec is the Service every case uses: a managed public IP with a tag, an NSG rule
	// from a source range.
	spec := func(name string) *v1.Service {
		return newService(name, with("azure-pip-tags", "team=a"), func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"} })
	}
	converged := func(tn *contract.Tenant, svc *v1.Service, kinds map[string]int) {
		tn.T.Helper()
		waitIngress(tn, svc.Name, anyIP)
		waitCheck(tn, svc.Name, "the cloud to converge", has(kinds))
	}
	return []crashCase{
		{
			name:    "create-public",
			prepare: func(_ *contract.Tenant, name string) *v1.Service { return spec(name) }, // act creates it
			act:     func(tn *contract.Tenant, svc *v1.Service) *v1.Service { return tn.Create(svc) },
			check: func(tn *contract.Tenant, svc *v1.Service) {
				converged(tn, svc, public(1))
				waitCheck(tn, svc.Name, "the public IP's tags and the NSG rule", all(
					pipIs(func(p *armPIP) error { return want("team", deref(p.Tags["team"]), "a") }),
					nsgIs("-TCP-SourceRanges Allow Tcp 203.0.113.0/24 -> $IP:443,80")))
			},
		},
		{
			name: "move-to-internal",
			prepare: func(tn *contract.Tenant, name string) *v1.Service {
				svc := tn.Create(spec(name))
				converged(tn, svc, public(1))
				return svc
			},
			act: func(tn *contract.Tenant, svc *v1.Service) *v1.Service {
				return tn.Update(svc.Name, func(s *v1.Service) { s.Annotations[prefix+"azure-load-balancer-internal"] = "true" })
			},
			check: func(tn *contract.Tenant, svc *v1.Service) {
				// Source ranges on an internal Service keep an NSG rule.
				waitCheck(tn, svc.Name, "the Service on the internal load balancer only", all(
					has(map[string]int{"frontend@" + internalLB: 1, "rule@" + internalLB: 2, "probe@" + internalLB: 2, "nsg rule": 1}),
					func(s *v1.Service) error {
						return want("ingress is private", strings.HasPrefix(ingress(s), "10.240."), true)
					},
				))
			},
		},
		{
			name: "delete",
			prepare: func(tn *contract.Tenant, name string) *v1.Service {
				svc := tn.Create(spec(name))
				converged(tn, svc, public(1))
				return svc
			},
			act: func(tn *contract.Tenant, svc *v1.Service) *v1.Service {
				if err := tn.CS.CoreV1().Services(tn.NS).Delete(tn.T.Context(), svc.Name, metav1.DeleteOptions{}); err != nil {
					tn.T.Fatal(err)
				}
				return svc
			},
			check: func(tn *contract.Tenant, svc *v1.Service) {
				tn.WaitGone(svc.Name)
				if err := ownedIs(svc, map[string]int{}); err != nil {
					tn.T.Error(err)
				}
			},
		},
	}
}

// TestKilledBetweenWrites kills the controller after every prefix of the ARM writes that
// create a public Service, move one to the internal load balancer and delete one, then
// starts a new controller: each time the cloud converges to the same state, with nothing
// duplicated or left behind. From the cloud's side a killed controller is one whose next
// write never arrives: the suite's wire refuses it, and the controller is stopped before
// the wire lets writes through again.
func TestKilledBetweenWrites(t *testing.T) {
	for _, tc := range crashCases() {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenant(t)
			// The writes of an uninterrupted change.
			probe := tc.prepare(tn, tc.name+"-all")
			waitSettled(t, 0)
			shared.fake.ResetCalls()
			probe = tc.act(tn, probe)
			tc.check(tn, probe)
			c := waitSettled(t, 1)
			t.Logf("%s: %d writes uninterrupted: %s", tc.name, c.writes, c.summary)
			if c.writes < 2 {
				t.Fatalf("%s makes %d writes; nothing to cut", tc.name, c.writes)
			}
			for k := 1; k < c.writes; k++ {
				// prepare waits until the cloud holds the Service: no write is in flight.
				svc := tc.prepare(tn, fmt.Sprintf("%s-%d", tc.name, k))
				tripped := shared.wire.arm(k)
				svc = tc.act(tn, svc)
				waitFor(t, fmt.Sprintf("write %d of %s to be refused", k+1, svc.Name), func() (bool, string) {
					select {
					case <-tripped:
						return true, ""
					default:
						return false, "not yet"
					}
				})
				tn.Restart() // stops the cut-off controller before the wire lets writes through
				shared.wire.disarm()
				tc.check(tn, svc)
			}
		})
	}
}
