package cloudapi

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"testing"
	"time"

	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"

	"github.com/cloudlb/cloudlb/metrics"
)

func TestThrottlingRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cloud  string
		status int
		code   string
		want   bool
	}{
		{"aws", 400, "Throttling", true},
		{"aws", 400, "ThrottlingException", true},
		{"aws", 503, "RequestLimitExceeded", true},
		{"aws", 400, "LoadBalancerNotFound", false},
		{"aws", 503, "ServiceUnavailable", false},
		{"aws", 0, "", false},
		{"azure", 429, "", true},
		{"azure", 409, "", false},
		{"azure", 503, "", false},
		{"azure", 200, "", false},
		{"gce", 429, "", true},
		{"gce", 403, "rateLimitExceeded", true},
		{"gce", 403, "userRateLimitExceeded", true},
		{"gce", 403, "RATE_LIMIT_EXCEEDED", true},
		{"gce", 403, "forbidden", false},
		{"gce", 403, "", false},
		{"gce", 400, "rateLimitExceeded", false},
		{"gce", 503, "backendError", false},
	}
	for _, tt := range tests {
		var got bool
		switch tt.cloud {
		case "aws":
			got = AWSThrottled(tt.code)
		case "azure":
			got = AzureThrottled(tt.status)
		case "gce":
			got = GCEThrottled(tt.status, tt.code)
		}
		if got != tt.want {
			t.Errorf("%s throttled(%d, %q) = %v, want %v", tt.cloud, tt.status, tt.code, got, tt.want)
		}
	}
}

func TestOutcomeResult(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name string
		o    Outcome
		want string
	}{
		{"success", Outcome{}, metrics.ResultOK},
		{"answered 200", Outcome{Status: http.StatusOK}, metrics.ResultOK},
		{"answered 201", Outcome{Status: http.StatusCreated}, metrics.ResultOK},
		{"SDK error", Outcome{Err: boom}, metrics.ResultError},
		{"error status without an error", Outcome{Status: http.StatusNotFound}, metrics.ResultError},
		{"server error", Outcome{Status: http.StatusServiceUnavailable}, metrics.ResultError},
		{"throttled error", Outcome{Err: boom, Throttled: true}, metrics.ResultThrottled},
		{"throttled status", Outcome{Status: http.StatusTooManyRequests, Throttled: true}, metrics.ResultThrottled},
	}
	for _, tt := range tests {
		if got := tt.o.Result(); got != tt.want {
			t.Errorf("%s: Result() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestObserve reads the process-wide registry; its cloud label is its own, so no other test
// changes what it reads.
func TestObserve(t *testing.T) {
	metrics.Register()
	const cloud, op = "cloudapi-test", "Things.Insert"
	Observe(cloud, op, time.Now(), Outcome{})
	Observe(cloud, op, time.Now(), Outcome{Status: http.StatusTooManyRequests, Throttled: true})
	Observe(cloud, op, time.Now().Add(-time.Second), Outcome{Err: errors.New("boom")})
	labels := map[string]string{"cloud": cloud, "operation": op}
	calls, err := testutil.GetCounterValuesFromGatherer(legacyregistry.DefaultGatherer, "cloudlb_cloud_api_calls_total", labels, "result")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]float64{metrics.ResultOK: 1, metrics.ResultThrottled: 1, metrics.ResultError: 1}; !maps.Equal(calls, want) {
		t.Errorf("calls by result %v, want %v", calls, want)
	}
	latency, err := testutil.GetHistogramVecFromGatherer(legacyregistry.DefaultGatherer, "cloudlb_cloud_api_call_duration_seconds", labels)
	if err != nil {
		t.Fatal(err)
	}
	if n, sum := latency.GetAggregatedSampleCount(), latency.GetAggregatedSampleSum(); n != 3 || sum < 1 {
		t.Errorf("latency: %d samples summing to %vs, want 3 summing to at least 1s", n, sum)
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	l := NewLimiter(1, 1)
	if err := l.Wait(context.Background()); err != nil {
		t.Fatalf("first token: %v", err)
	}
	// The bucket is empty: a second token comes in a second, after the context's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx); err == nil {
		t.Error("Wait on an empty bucket returned before its context ended")
	}
	l.Attempted(false)
	l.Attempted(true)
	l.Attempted(false)
	if got, want := l.Stats(), (Stats{Attempts: 3, Throttled: 1, Rate: 1}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}
