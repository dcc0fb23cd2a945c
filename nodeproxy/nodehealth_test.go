package nodeproxy

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	testclock "k8s.io/utils/clock/testing"
)

func testLogger(t *testing.T) klog.Logger { return ktesting.NewLogger(t, ktesting.NewConfig()) }

func TestHealthState(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := testclock.NewFakeClock(start)
	h := NewHealthState(clk, time.Minute)
	if ok, last, _ := h.Health(); !ok || !last.IsZero() {
		t.Fatalf("at start: healthy %v, lastUpdated %v; want healthy, zero", ok, last)
	}
	h.QueuedUpdate()
	clk.Step(59 * time.Second)
	if !h.Healthy() {
		t.Fatal("unhealthy before the timeout")
	}
	h.QueuedUpdate() // a later change does not move the oldest pending one
	clk.Step(time.Second)
	if h.Healthy() {
		t.Fatal("healthy with a change pending for the whole timeout")
	}
	// A sync that started before a change leaves it pending.
	syncStart := clk.Now()
	clk.Step(time.Second)
	h.Updated(syncStart.Add(-2 * time.Minute))
	if h.Healthy() {
		t.Fatal("a sync that started before the pending change cleared it")
	}
	h.Updated(clk.Now())
	if ok, last, _ := h.Health(); !ok || !last.Equal(clk.Now()) {
		t.Fatalf("after a sync: healthy %v, lastUpdated %v", ok, last)
	}
	clk.Step(time.Hour) // nothing pending: quiet is not stale
	if !h.Healthy() {
		t.Fatal("unhealthy with nothing pending")
	}
}

func TestNodeHealthHandler(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		eligible bool
		stale    bool
		path     string
		wantCode int
		wantBody map[string]any
	}{
		{name: "healthz eligible", eligible: true, path: "/healthz", wantCode: 200,
			wantBody: map[string]any{"nodeEligible": true, "healthy": true}},
		{name: "healthz ineligible", path: "/healthz", wantCode: 503,
			wantBody: map[string]any{"nodeEligible": false, "healthy": true}},
		{name: "healthz stale", eligible: true, stale: true, path: "/healthz", wantCode: 503,
			wantBody: map[string]any{"nodeEligible": true, "healthy": false}},
		{name: "livez ignores eligibility", path: "/livez", wantCode: 200,
			wantBody: map[string]any{"healthy": true}},
		{name: "livez stale", stale: true, path: "/livez", wantCode: 503,
			wantBody: map[string]any{"healthy": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := testclock.NewFakeClock(start)
			h := NewHealthState(clk, time.Minute)
			h.SetNodeEligibility(tt.eligible, "")
			h.Updated(clk.Now())
			lastSync := clk.Now()
			if tt.stale {
				h.QueuedUpdate()
			}
			clk.Step(2 * time.Minute)
			rec := httptest.NewRecorder()
			NodeHealthHandler(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Errorf("code = %d, want %d", rec.Code, tt.wantCode)
			}
			for k, want := range map[string]string{"Content-Type": "application/json", "X-Content-Type-Options": "nosniff"} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			now := clk.Now().Format(time.RFC3339Nano)
			wantLast := now // rewritten to now while healthy, as kube-proxy does
			if tt.stale {
				wantLast = lastSync.Format(time.RFC3339Nano)
			}
			want := map[string]any{"lastUpdated": wantLast, "currentTime": now}
			for k, v := range tt.wantBody {
				want[k] = v
			}
			if !reflect.DeepEqual(body, want) {
				t.Errorf("body = %v\nwant %v", body, want)
			}
		})
	}

	rec := httptest.NewRecorder()
	NodeHealthHandler(NewHealthState(nil, time.Minute)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("/metrics = %d, want 404", rec.Code)
	}
}
