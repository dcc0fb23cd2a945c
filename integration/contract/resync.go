package contract

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// quiet is how long a fake must see no call for the controllers to count as settled.
const quiet = time.Second

// WaitSettled waits until the fake has seen at least minReads reads since its counters
// were reset and then no call for quiet, and returns the counters.
func WaitSettled(t *testing.T, f Fake, minReads int) fakecore.Tally {
	t.Helper()
	last, changed := f.Tally(), time.Now()
	WaitFor(t, fmt.Sprintf("at least %d reads and then no call for %s", minReads, quiet), func() (bool, string) {
		cur := f.Tally()
		if !maps.Equal(cur.Calls, last.Calls) {
			last, changed = cur, time.Now()
		}
		return cur.Reads >= minReads && time.Since(changed) >= quiet, cur.String()
	})
	return last
}

// NoOpResync are converged Services whose resyncs must not write and must read within the
// cloud's budget.
type NoOpResync struct {
	Services []Expect
	// Start checks the calls of a restarted controller's first pass over the Services.
	Start func(calls fakecore.Tally, services int) error
	// Drift checks the calls of a controller started with a drift-repair period: its first
	// pass and at most passes more. Nil: writes are checked, reads are not bounded.
	Drift func(calls fakecore.Tally, services, passes int) error
}

// NoOpResyncTest converges the Services, then restarts the controller (its initial resync)
// and runs it with a short drift-repair period: neither may write, and each stays within
// the cloud's read budget.
func NoOpResyncTest(t *testing.T, c Cloud, r NoOpResync) {
	fake := requireFake(t, c, "counts calls")
	tn := NewTenant(t, c.Tenants())
	for _, e := range r.Services {
		tn.Create(e.Service)
	}
	for _, e := range r.Services {
		tn.WaitHolds(e.Service.Name, e.Holds)
	}
	WaitSettled(t, fake, 0)
	services := len(r.Services)

	fake.ResetCalls()
	tn.Restart()
	// At least one read: a provider that lists (providers.Lister) reads once for all the
	// Services, whose first syncs then make no call of their own; one that does not reads per
	// Service. r.Start bounds the reads.
	calls := WaitSettled(t, fake, 1)
	t.Logf("restart resync of %d Services: %d writes, %d reads\n%s", services, calls.Writes, calls.Reads, calls)
	if err := FirstErr(Want("restart resync writes", calls.Writes, 0), r.Start(calls, services)); err != nil {
		t.Errorf("%v\n%s", err, calls)
	}

	const period, passes = 400 * time.Millisecond, 3
	fake.ResetCalls()
	began := time.Now()
	tn.Restart(func(o *servicecontroller.Options) { o.DriftRepairPeriod = period })
	WaitFor(t, fmt.Sprintf("%d drift-repair passes", passes), func() (bool, string) { return time.Since(began) >= passes*period, "" })
	tn.Stop()
	elapsed := time.Since(began)
	calls = fake.Tally()
	// One pass per period started, after the initial one.
	maxPasses := int(elapsed/period) + 1
	t.Logf("drift repair every %s for %s (<= %d passes after the first): %d writes, %d reads\n%s", period, elapsed.Round(time.Millisecond), maxPasses, calls.Writes, calls.Reads, calls)
	err := Want("drift repair writes", calls.Writes, 0)
	if r.Drift != nil {
		err = FirstErr(err, r.Drift(calls, services, maxPasses))
	}
	if err != nil {
		t.Errorf("%v\n%s", err, calls)
	}
	tn.Restart() // for the cleanup's deletions
}
