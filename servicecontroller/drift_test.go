package servicecontroller

import (
	"fmt"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func testUIDs(n int) []types.UID {
	uids := make([]types.UID, n)
	for i := range uids {
		uids[i] = types.UID(fmt.Sprintf("6f1c2a3e-%04x-4b5c-9d8e-%012x", i, i*7919))
	}
	return uids
}

func TestDriftOffsetsSpread(t *testing.T) {
	t.Parallel()
	const period, buckets, n = 10 * time.Minute, 20, 4000
	counts := make([]int, buckets)
	for _, uid := range testUIDs(n) {
		off := driftOffset(uid, period)
		if off < 0 || off >= period {
			t.Fatalf("offset %s outside [0, %s)", off, period)
		}
		if again := driftOffset(uid, period); again != off {
			t.Fatalf("offset of %s not deterministic: %s then %s", uid, off, again)
		}
		counts[off*buckets/period]++
	}
	// Even spreading puts n/buckets = 200 in each bucket; allow +-30%.
	for i, c := range counts {
		if c < 140 || c > 260 {
			t.Errorf("bucket %d of %d holds %d Services, want about %d: %v", i, buckets, c, n/buckets, counts)
			break
		}
	}
}

// Ticking through one period, from any start, enqueues every Service exactly once, and each
// tick only a small share of them.
func TestDriftDueOncePerPeriod(t *testing.T) {
	t.Parallel()
	const period, n = 10 * time.Minute, 1000
	tick := period / driftTicks
	for _, start := range []time.Time{time.Unix(1700000000, 0), time.Unix(1700000000, 0).Add(period/3 + 17*time.Millisecond)} {
		uids := testUIDs(n)
		due := make(map[types.UID]int, n)
		maxPerTick := 0
		for from := start; from.Before(start.Add(period)); from = from.Add(tick) {
			perTick := 0
			for _, uid := range uids {
				if driftDue(driftOffset(uid, period), period, from, from.Add(tick)) {
					due[uid]++
					perTick++
				}
			}
			maxPerTick = max(maxPerTick, perTick)
		}
		for _, uid := range uids {
			if due[uid] != 1 {
				t.Fatalf("start %s: %s due %d times in one period, want 1", start, uid, due[uid])
			}
		}
		if limit := 2 * n / driftTicks; maxPerTick > limit {
			t.Errorf("start %s: up to %d Services in one tick, want at most %d (spread, not all at once)", start, maxPerTick, limit)
		}
	}
}

func TestDriftDueEdges(t *testing.T) {
	t.Parallel()
	const period = time.Minute
	t0 := time.Unix(1700000040, 0) // phase 0 of a one-minute period
	tests := []struct {
		name     string
		offset   time.Duration
		from, to time.Time
		want     bool
	}{
		{"inside", 10 * time.Second, t0.Add(5 * time.Second), t0.Add(15 * time.Second), true},
		{"upper bound included", 15 * time.Second, t0.Add(5 * time.Second), t0.Add(15 * time.Second), true},
		{"lower bound excluded", 5 * time.Second, t0.Add(5 * time.Second), t0.Add(15 * time.Second), false},
		{"wrapping interval, end of period", 58 * time.Second, t0.Add(55 * time.Second), t0.Add(65 * time.Second), true},
		{"wrapping interval, start of period", 2 * time.Second, t0.Add(55 * time.Second), t0.Add(65 * time.Second), true},
		{"wrapping interval, outside", 30 * time.Second, t0.Add(55 * time.Second), t0.Add(65 * time.Second), false},
		{"a whole period or more: everything", 30 * time.Second, t0, t0.Add(2 * period), true},
		{"empty interval", 0, t0, t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := driftDue(tt.offset, period, tt.from, tt.to); got != tt.want {
				t.Errorf("driftDue = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDriftKeysOnlyManagedServices(t *testing.T) {
	t.Parallel()
	svcs := []*v1.Service{
		lbService("lb"),
		lbService("cleanup", withFinalizer, withType(v1.ServiceTypeClusterIP)),
		lbService("cluster-ip", withType(v1.ServiceTypeClusterIP)),
		lbService("other-class", withClass("example.com/lb")),
	}
	now := time.Unix(1700000000, 0)
	got := driftKeys(svcs, "", time.Minute, now, now.Add(time.Minute))
	if want := []string{"default/lb", "default/cleanup"}; !slices.Equal(got, want) {
		t.Errorf("driftKeys = %v, want %v", got, want)
	}
}
