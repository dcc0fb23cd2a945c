package contract

import (
	"testing"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// Throttling are Services created and deleted while the fake injects faults.
type Throttling struct {
	// Faults are the fake's, from creation to deletion; they must throttle.
	Faults   fakecore.Faults
	Services []Expect
}

// ThrottlingTest creates the Services while the fake throttles calls (and whatever else the
// cloud's Faults inject) and deletes them again: everything converges, nothing is left
// behind, and the fake did throttle.
func ThrottlingTest(t *testing.T, c Cloud, th Throttling) {
	fake := requireFake(t, c, "injects faults")
	tn := NewTenant(t, c.Tenants())
	// Throttled calls slow every step down on purpose (the providers' shared limiters halve
	// their rate after a mostly throttled window, and retries back off), and the deletion runs under the faults too: a 2-core machine busy
	// with other packages needed more than WaitTimeout for it (55 s once).
	tn.Timeout = 3 * WaitTimeout
	fake.SetFaults(th.Faults)
	t.Cleanup(func() { fake.SetFaults(fakecore.Faults{}) })
	fake.ResetCalls()
	var keys []Expect
	for _, e := range th.Services {
		keys = append(keys, Expect{Service: tn.Create(e.Service), Holds: e.Holds})
	}
	for _, e := range keys {
		tn.WaitHolds(e.Service.Name, e.Holds)
	}
	tn.DeleteAll()
	calls := fake.Tally()
	fake.SetFaults(fakecore.Faults{})
	t.Logf("converged and deleted %d Services under faults: %d writes, %d reads, %d throttled, %d failed, %d answers lost\n%s",
		len(keys), calls.Writes, calls.Reads, calls.Throttled, calls.Failed, calls.Lost, calls)
	if calls.Throttled == 0 {
		t.Error("the fake throttled no call: the test throttled nothing")
	}
	for _, e := range keys {
		WaitNothingOwned(t, c, e.Service)
	}
}
