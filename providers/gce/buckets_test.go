package gce

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/googleapi"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// kinds are the two buckets of a limiter, by the method a call runs under.
var kinds = []struct {
	name       string
	run        func(lm *limiter, ctx context.Context, f func(context.Context) error) error
	own, other func(lm *limiter) statsSource
}{
	{"read", func(lm *limiter, ctx context.Context, f func(context.Context) error) error {
		return lm.read(ctx, "X.Get", f)
	},
		func(lm *limiter) statsSource { return lm.reads }, func(lm *limiter) statsSource { return lm.writes }},
	{"write", func(lm *limiter, ctx context.Context, f func(context.Context) error) error {
		return lm.write(ctx, "X.Insert", f)
	},
		func(lm *limiter) statsSource { return lm.writes }, func(lm *limiter) statsSource { return lm.reads }},
}

// statsSource is a bucket's Stats, for the tests to pick one of the two.
type statsSource interface{ Stats() APIStats }

func succeed(context.Context) error { return nil }

// TestBucketsAreSeparate: with one token in each bucket (and a refill of one a quarter of an
// hour), a call of either kind takes its token after the other kind spent its own, and a
// second call of the same kind waits: its deadline is shorter than the refill.
func TestBucketsAreSeparate(t *testing.T) {
	t.Parallel()
	for i, k := range kinds {
		other := kinds[1-i]
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			lm := newLimiter(Limits{QPS: 1e-3, Burst: 1, ReadQPS: 1e-3, ReadBurst: 1})
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := other.run(lm, ctx, succeed); err != nil {
				t.Fatalf("first %s: %v", other.name, err)
			}
			if err := k.run(lm, ctx, succeed); err != nil {
				t.Fatalf("%s after a %s emptied its bucket: %v, want its own token", k.name, other.name, err)
			}
			if err := k.run(lm, ctx, succeed); err == nil || !strings.Contains(err.Error(), "client-side rate limit") {
				t.Errorf("second %s: %v, want a wait for its bucket longer than the deadline", k.name, err)
			}
			if got := k.own(lm).Stats().Attempts; got != 1 {
				t.Errorf("%s bucket counted %d attempts, want 1", k.name, got)
			}
		})
	}
}

// TestThrottlingMovesOnlyItsBucket: windows of throttled answers of one kind halve that
// bucket's rate; the other bucket keeps its ceiling and serves at once.
func TestThrottlingMovesOnlyItsBucket(t *testing.T) {
	t.Parallel()
	throttled := func(context.Context) error { return &googleapi.Error{Code: 429} }
	for i, k := range kinds {
		other := kinds[1-i]
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			now := time.Unix(0, 0)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			lm := newLimiterAt(Limits{QPS: 1000, Burst: 1000, MaxAttempts: 1}, clock)
			ceiling := k.own(lm).Stats().Rate
			for range 30 {
				if err := k.run(lm, t.Context(), throttled); !isThrottle(err) {
					t.Fatalf("%s: %v, want the throttling", k.name, err)
				}
				mu.Lock()
				now = now.Add(200 * time.Millisecond)
				mu.Unlock()
			}
			own, oth := k.own(lm).Stats(), k.other(lm).Stats()
			if own.Decreases == 0 || own.Rate >= ceiling {
				t.Errorf("%s bucket after throttling: %+v, want its rate below %v", k.name, own, ceiling)
			}
			if oth.Decreases != 0 || oth.Attempts != 0 || oth.Throttled != 0 {
				t.Errorf("%s bucket moved by the %s throttling: %+v", other.name, k.name, oth)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := other.run(lm, ctx, succeed); err != nil {
				t.Errorf("%s after %s throttling: %v", other.name, k.name, err)
			}
		})
	}
}

// TestLimitsDefaults: zero read limits follow the write limits at the default ratio, so a
// caller raising QPS and Burst (tests, benchmarks) raises both buckets.
func TestLimitsDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in               Limits
		qps, readQPS     float64
		burst, readBurst int
	}{
		{Limits{}, DefaultQPS, DefaultReadQPS, DefaultBurst, DefaultReadBurst},
		{Limits{QPS: 2000, Burst: 2000}, 2000, 4000, 2000, 4000},
		{Limits{ReadQPS: 5, ReadBurst: 7}, DefaultQPS, 5, DefaultBurst, 7},
		{Limits{QPS: 3, Burst: 4, ReadQPS: 50, ReadBurst: 60}, 3, 50, 4, 60},
	}
	for _, tt := range tests {
		got := tt.in.withDefaults()
		if got.QPS != tt.qps || got.ReadQPS != tt.readQPS || got.Burst != tt.burst || got.ReadBurst != tt.readBurst {
			t.Errorf("%+v.withDefaults() = %+v, want writes %v/%d, reads %v/%d", tt.in, got, tt.qps, tt.burst, tt.readQPS, tt.readBurst)
		}
	}
}

// TestCallsTakeTheirKindsTokens: over the fake, every read the provider sends (gets, lists)
// is an attempt of the reads' bucket and every write one of the writes' bucket; a throttled
// read is counted by the reads' bucket only, a throttled write by the writes' only.
func TestCallsTakeTheirKindsTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.ResetCalls()
	e.fake.FailNext("ForwardingRules.Get", 2, fakecore.ErrThrottled)
	e.fake.FailNext("Firewalls.Insert", 3, fakecore.ErrThrottled)
	ext, ilb := svc("ext", nil), svc("ilb", map[string]string{annType: "Internal"})
	for _, s := range []*v1.Service{ext, ilb} {
		e.ensure(s)
	}
	for _, s := range []*v1.Service{ext, ilb} {
		e.delete(s)
	}
	r, w, all := e.cloud.ReadStats(), e.cloud.WriteStats(), e.cloud.APIStats()
	if want := int64(e.reads()); r.Attempts != want {
		t.Errorf("reads' bucket counted %d attempts, the fake served %d reads", r.Attempts, want)
	}
	if want := int64(e.fake.Writes()); w.Attempts != want {
		t.Errorf("writes' bucket counted %d attempts, the fake served %d writes", w.Attempts, want)
	}
	if r.Throttled != 2 || w.Throttled != 3 {
		t.Errorf("throttled: reads %d, writes %d; want 2 and 3", r.Throttled, w.Throttled)
	}
	if all.Attempts != r.Attempts+w.Attempts || all.Throttled != 5 {
		t.Errorf("APIStats %+v, want the sum of reads %+v and writes %+v", all, r, w)
	}
}
