package contract

import (
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// Scenario creates a Service and changes it step by step; after each step the cloud must
// hold what the step says. Then the Service is deleted and the cloud must hold nothing of it.
type Scenario struct {
	Name    string
	Service *v1.Service
	// AtIngress is checked once, as soon as the created Service reports its ingress: the
	// status comes only after the cloud holds what it needs.
	AtIngress Check
	Steps     []Step
}

// Step is one change of a Scenario's Service and what the cloud holds after it.
type Step struct {
	What string
	// Change edits the Service; nil for the first step, the creation.
	Change func(*v1.Service)
	Holds  Check
}

// LifecycleTest runs each scenario in a tenant of its own, in parallel.
func LifecycleTest(t *testing.T, c Cloud, scenarios []Scenario) {
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			tn := NewTenant(t, c.Tenants())
			svc := tn.Create(sc.Service)
			if sc.AtIngress != nil {
				if err := sc.AtIngress(t, tn.WaitIngress(svc.Name, nil)); err != nil {
					t.Errorf("when the ingress was reported: %v", err)
				}
			}
			for i, st := range sc.Steps {
				if st.Change != nil {
					tn.Update(svc.Name, st.Change)
				} else if i > 0 {
					t.Fatalf("step %d (%s) changes nothing", i, st.What)
				}
				tn.WaitIngress(svc.Name, nil)
				tn.WaitCheck(svc.Name, st.What, st.Holds)
			}
			tn.Delete(svc.Name)
			tn.WaitGone(svc.Name)
			WaitNothingOwned(t, c, svc)
		})
	}
}

// DeletionTest creates the Services, waits for what the cloud holds for them and deletes
// them: nothing of them is left.
func DeletionTest(t *testing.T, c Cloud, services []Expect) {
	tn := NewTenant(t, c.Tenants())
	var created []*v1.Service
	for _, e := range services {
		created = append(created, tn.Create(e.Service))
	}
	for _, e := range services {
		tn.WaitHolds(e.Service.Name, e.Holds)
	}
	tn.DeleteAll()
	for _, svc := range created {
		WaitNothingOwned(t, c, svc)
	}
}

// WaitNothingOwned waits until the cloud holds nothing for the Service.
func WaitNothingOwned(t *testing.T, c Cloud, svc *v1.Service) {
	t.Helper()
	WaitFor(t, "nothing left of "+Key(svc), func() (bool, string) {
		left, err := c.Owned(t, svc)
		if err != nil {
			return false, err.Error()
		}
		return len(left) == 0, fmt.Sprint(left)
	})
}

// OwnedCounts checks what the cloud holds for the Service by kind: exactly kinds, or, when
// only is false, at least the kinds listed with their counts.
func OwnedCounts(c Cloud, kinds map[string]int, only bool) Check {
	return func(t *testing.T, svc *v1.Service) error {
		owned, err := c.Owned(t, svc)
		if err != nil {
			return err
		}
		got := map[string]int{}
		var all []string
		for _, r := range owned {
			got[r.Kind]++
			all = append(all, r.String())
		}
		for k, n := range got {
			if only && kinds[k] != n {
				return fmt.Errorf("the cloud holds %v for %s, want %v:\n  %s", got, Key(svc), kinds, strings.Join(all, "\n  "))
			}
		}
		for k, n := range kinds {
			if got[k] != n {
				return fmt.Errorf("the cloud holds %v for %s, want %v:\n  %s", got, Key(svc), kinds, strings.Join(all, "\n  "))
			}
		}
		return nil
	}
}
