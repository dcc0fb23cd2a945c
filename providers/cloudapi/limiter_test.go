package cloudapi

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the Limiter's windows.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// answers is one window: ok successes and throttled throttling answers.
type answers struct{ ok, throttled int }

// feed answers w within one window: all but the last answer at the window's start, the last
// once the window has elapsed, so the window decides on all of them at once.
func feed(l *Limiter, c *fakeClock, w answers) {
	last := w.ok > 0
	ok, thr := w.ok, w.throttled
	if last {
		ok--
	} else {
		thr--
	}
	for range thr {
		l.Attempted(true)
	}
	for range ok {
		l.Attempted(false)
	}
	c.advance(l.aimd.Window)
	l.Attempted(!last)
}

// testAIMD is a ceiling of 20/s, a floor of 2/s, +2/s per success window, halved after a
// window more than half throttled.
var testAIMD = DefaultAIMD(20)

func TestAIMDRate(t *testing.T) {
	t.Parallel()
	throttled, success := answers{ok: 4, throttled: 6}, answers{ok: 10}
	tests := []struct {
		name    string
		windows []answers
		want    float64
		// wantDecreases and wantIncreases are the windows that moved the rate.
		wantDecreases, wantIncreases int64
	}{
		{name: "starts at the ceiling", want: 20},
		{name: "success windows stay at the ceiling", windows: []answers{success, success}, want: 20},
		{name: "a window more than half throttled halves", windows: []answers{throttled}, want: 10, wantDecreases: 1},
		{name: "each throttled window halves again", windows: []answers{throttled, throttled}, want: 5, wantDecreases: 2},
		{name: "success windows add the increase", windows: []answers{throttled, throttled, success, success}, want: 9, wantDecreases: 2, wantIncreases: 2},
		{name: "the rate rises back to the ceiling, not above", windows: []answers{throttled, success, success, success, success, success, success, success},
			want: 20, wantDecreases: 1, wantIncreases: 5},
		{name: "never below the floor", windows: []answers{throttled, throttled, throttled, throttled, throttled, throttled}, want: 2, wantDecreases: 6},
		// The 30% of throttled answers is the cloud's background, not this client's
		// rate: the window counts as a success.
		{name: "30% throttled is a success window", windows: []answers{throttled, {ok: 7, throttled: 3}}, want: 12, wantDecreases: 1, wantIncreases: 1},
		{name: "exactly half throttled is a success window", windows: []answers{throttled, {ok: 5, throttled: 5}}, want: 12, wantDecreases: 1, wantIncreases: 1},
		{name: "all throttled halves", windows: []answers{{throttled: 10}}, want: 10, wantDecreases: 1},
		{name: "fewer than MinAnswers answers decide nothing", windows: []answers{{throttled: 9}}, want: 20},
		{name: "a window without answers changes nothing", windows: []answers{throttled, {}}, want: 10, wantDecreases: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &fakeClock{t: time.Unix(0, 0)}
			l := NewAIMDLimiter(testAIMD, 40, c.now)
			for _, w := range tt.windows {
				if w.ok+w.throttled > 0 {
					feed(l, c, w)
				}
			}
			s := l.Stats()
			if s.Rate != tt.want || s.Decreases != tt.wantDecreases || s.Increases != tt.wantIncreases {
				t.Errorf("rate %v after %d decreases and %d increases, want %v after %d and %d",
					s.Rate, s.Decreases, s.Increases, tt.want, tt.wantDecreases, tt.wantIncreases)
			}
			if got := float64(l.bucket.Limit()); got != tt.want {
				t.Errorf("bucket refills at %v/s, want the rate %v", got, tt.want)
			}
		})
	}
}

// A window decides only once it has lasted Window: many throttles at one instant (answers
// to calls sent at the old rate) halve the rate once, not once per answer.
func TestAIMDOneDecisionPerWindow(t *testing.T) {
	t.Parallel()
	c := &fakeClock{t: time.Unix(0, 0)}
	l := NewAIMDLimiter(testAIMD, 40, c.now)
	for range 100 {
		l.Attempted(true)
	}
	if r := l.Stats().Rate; r != 20 {
		t.Fatalf("rate %v before the window elapsed, want 20", r)
	}
	c.advance(time.Second)
	for range 100 {
		l.Attempted(true)
	}
	// The window closed on the first answer after a second; the 99 others open the next,
	// which has not lasted a second.
	if s := l.Stats(); s.Rate != 10 || s.Decreases != 1 {
		t.Fatalf("rate %v after %d decreases, want 10 after 1", s.Rate, s.Decreases)
	}
}

// The burst shrinks with the rate, so a lowered rate is not bypassed by a full bucket.
func TestAIMDBurstFollowsRate(t *testing.T) {
	t.Parallel()
	c := &fakeClock{t: time.Unix(0, 0)}
	l := NewAIMDLimiter(testAIMD, 40, c.now)
	feed(l, c, answers{throttled: 10})
	feed(l, c, answers{throttled: 10})
	if got := l.bucket.Burst(); got != 10 {
		t.Errorf("burst %d at a quarter of the ceiling, want 10 (a quarter of 40)", got)
	}
	for range 10 {
		feed(l, c, answers{ok: 10})
	}
	if got := l.bucket.Burst(); got != 40 {
		t.Errorf("burst %d back at the ceiling, want 40", got)
	}
}

// Many goroutines waiting and reporting at once (run with -race): every attempt is counted
// and the rate stays within its bounds.
func TestAIMDConcurrent(t *testing.T) {
	t.Parallel()
	// Rates high enough that the waits are exercised, not timed.
	a := DefaultAIMD(1e9)
	a.Window = time.Millisecond
	l := NewAIMDLimiter(a, 40, time.Now)
	const goroutines, each = 16, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if err := l.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				// Goroutines alternate between throttled and successful phases.
				l.Attempted((g+i/50)%2 == 0)
				if s := l.Stats(); s.Rate < a.Floor || s.Rate > a.Ceiling {
					t.Errorf("rate %v outside [%v, %v]", s.Rate, a.Floor, a.Ceiling)
					return
				}
			}
		})
	}
	wg.Wait()
	s := l.Stats()
	if s.Attempts != goroutines*each || s.Throttled != goroutines*each/2 {
		t.Errorf("counted %d attempts, %d throttled; want %d, %d", s.Attempts, s.Throttled, goroutines*each, goroutines*each/2)
	}
}

// Sum adds every count and the rates of the limiters it is given.
func TestSum(t *testing.T) {
	t.Parallel()
	a, b := NewLimiter(5, 1), NewLimiter(7, 1)
	a.Attempted(false)
	a.Attempted(true)
	b.Attempted(true)
	got := Sum(a, b)
	want := Stats{Attempts: 3, Throttled: 2, Rate: 12}
	if got.Attempts != want.Attempts || got.Throttled != want.Throttled || got.Rate != want.Rate {
		t.Errorf("Sum = %+v, want attempts, throttled and rate of %+v", got, want)
	}
}
