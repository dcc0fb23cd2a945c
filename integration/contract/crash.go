package contract

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CrashCase is a change whose writes the controller may not finish.
type CrashCase struct {
	Name string
	// Prepare makes the Service to act on: a spec for a creation, or a Service the cloud
	// already holds (so that no write is in flight).
	Prepare func(tn *Tenant, name string) *v1.Service
	// Act makes the change and returns the Service as written.
	Act func(tn *Tenant, svc *v1.Service) *v1.Service
	// Check waits until the cloud holds exactly what the change leads to.
	Check func(tn *Tenant, svc *v1.Service)
	// Done reports, without waiting, whether the change is complete: with Crash.MinCuts a
	// run may finish without being cut off.
	Done func(tn *Tenant, svc *v1.Service) bool
}

// Crash are the changes the controller is killed in, after every prefix of their writes.
type Crash struct {
	Cases []CrashCase
	// PrivateGates: each GatedTenant has a gate of its own, so the cases run in parallel.
	PrivateGates bool
	// MinCuts, when set, lets a run finish without being cut off (shared objects the first
	// run made need no write later) as long as at least this many runs of a case were; 0
	// requires every run to be cut off.
	MinCuts int
}

// CreateCase is the creation of the Service spec makes; holds is what the cloud must hold,
// and then, checked once as soon as holds does, also once (when set): nothing duplicated.
func CreateCase(name string, spec func(name string) *v1.Service, holds, once Check) CrashCase {
	return CrashCase{
		Name:    "create-" + name,
		Prepare: func(_ *Tenant, n string) *v1.Service { return spec(n) },
		Act:     func(tn *Tenant, svc *v1.Service) *v1.Service { return tn.Create(svc) },
		Check: func(tn *Tenant, svc *v1.Service) {
			tn.T.Helper()
			svc = tn.WaitHolds(svc.Name, holds)
			if once == nil {
				return
			}
			if err := once(tn.T, svc); err != nil {
				tn.T.Errorf("%s: %v", Key(svc), err)
			}
		},
		Done: func(tn *Tenant, svc *v1.Service) bool { return tn.hasIngress(svc.Name) },
	}
}

// DeleteCase is the deletion of a converged Service spec makes: the cloud must hold nothing
// of it afterwards (owned).
func DeleteCase(c Cloud, name string, spec func(name string) *v1.Service, holds Check) CrashCase {
	return CrashCase{
		Name: "delete-" + name,
		Prepare: func(tn *Tenant, n string) *v1.Service {
			svc := tn.Create(spec(n))
			tn.WaitHolds(svc.Name, holds)
			return svc
		},
		Act: func(tn *Tenant, svc *v1.Service) *v1.Service { tn.Delete(svc.Name); return svc },
		Check: func(tn *Tenant, svc *v1.Service) {
			tn.WaitGone(svc.Name)
			WaitNothingOwned(tn.T, c, svc)
		},
		Done: func(tn *Tenant, svc *v1.Service) bool {
			_, err := tn.CS.CoreV1().Services(tn.NS).Get(tn.T.Context(), svc.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		},
	}
}

func (tn *Tenant) hasIngress(name string) bool {
	s, err := tn.CS.CoreV1().Services(tn.NS).Get(tn.T.Context(), name, metav1.GetOptions{})
	return err == nil && len(s.Status.LoadBalancer.Ingress) > 0
}

// CrashTest kills the controller after every prefix of the writes of each case, then starts
// a new one: each time the cloud converges to the same state, with nothing duplicated or
// left behind. A killed controller is one whose next write never arrives: the gate refuses
// it, and the controller is stopped before the gate lets writes through again.
func CrashTest(t *testing.T, c Cloud, cr Crash) {
	requireFake(t, c, "cuts the controller off between writes")
	for _, tc := range cr.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			if cr.PrivateGates {
				t.Parallel()
			}
			tn, gate := c.GatedTenant(t)
			// The writes of an uninterrupted change.
			probe := tc.Prepare(tn, tc.Name+"-all")
			gate.Settle(t)
			probe = tc.Act(tn, probe)
			tc.Check(tn, probe)
			writes := gate.Settle(t)
			t.Logf("%s: %d writes uninterrupted", tc.Name, writes)
			if writes < 2 {
				t.Fatalf("%s makes %d writes; nothing to cut", tc.Name, writes)
			}
			cuts := 0
			for k := 1; k < writes; k++ {
				svc := tc.Prepare(tn, fmt.Sprintf("%s-%d", tc.Name, k))
				tripped := gate.Arm(k)
				svc = tc.Act(tn, svc)
				if waitCut(tn, cr.MinCuts > 0, func() bool { return tc.Done(tn, svc) }, tripped) {
					cuts++
				}
				tn.Restart() // stops the cut-off controller before the gate lets writes through
				gate.Disarm()
				tc.Check(tn, svc)
			}
			if cr.MinCuts > 0 && cuts < cr.MinCuts {
				t.Errorf("the controller was cut off %d times in %d runs", cuts, writes-1)
			}
		})
	}
}

// waitCut waits until the gate refused a write or, when the run may finish uncut, until it
// is done without that.
func waitCut(tn *Tenant, mayFinish bool, done func() bool, tripped <-chan struct{}) (cut bool) {
	tn.T.Helper()
	WaitForWithin(tn.T, tn.timeout(), "a write to be refused", func() (bool, string) {
		select {
		case <-tripped:
			cut = true
			return true, ""
		default:
		}
		return mayFinish && done(), "not yet"
	})
	return cut
}
