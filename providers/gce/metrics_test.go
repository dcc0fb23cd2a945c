package gce

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

func TestComputeOperation(t *testing.T) {
	t.Parallel()
	const p = "https://compute.googleapis.com/compute/v1/projects/my-project-123"
	tests := []struct {
		method, url, want string
	}{
		{"POST", p + "/regions/us-central1/forwardingRules", "ForwardingRules.Insert"},
		{"GET", p + "/regions/us-central1/forwardingRules/a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", "ForwardingRules.Get"},
		{"PATCH", p + "/regions/us-central1/forwardingRules/a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", "ForwardingRules.Patch"},
		{"DELETE", p + "/regions/us-central1/forwardingRules/a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", "ForwardingRules.Delete"},
		{"POST", p + "/regions/us-central1/forwardingRules/a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7/setTarget", "ForwardingRules.SetTarget"},
		{"POST", p + "/regions/us-central1/forwardingRules/a5f3/setLabels", "ForwardingRules.SetLabels"},
		{"GET", p + "/regions/us-central1/addresses", "Addresses.List"},
		{"POST", p + "/regions/us-central1/targetPools/a5f3/addInstance", "TargetPools.AddInstance"},
		{"POST", p + "/regions/us-central1/targetPools/a5f3/removeHealthCheck", "TargetPools.RemoveHealthCheck"},
		{"PUT", p + "/regions/us-central1/healthChecks/k8s-a5f3-node", "RegionHealthChecks.Update"},
		{"PATCH", p + "/regions/us-central1/backendServices/k8s2-a5f3", "RegionBackendServices.Patch"},
		{"GET", p + "/global/firewalls/k8s-fw-a5f3", "Firewalls.Get"},
		{"POST", p + "/global/httpHealthChecks", "HttpHealthChecks.Insert"},
		{"PUT", p + "/global/httpHealthChecks/k8s-a5f3", "HttpHealthChecks.Update"},
		{"GET", p + "/global/healthChecks/hc", "HealthChecks.Get"},
		{"GET", p + "/global/forwardingRules/fr", "GlobalForwardingRules.Get"},
		{"POST", p + "/zones/us-central1-a/instanceGroups/k8s-ig--cluster/addInstances", "InstanceGroups.AddInstances"},
		{"POST", p + "/zones/us-central1-a/instanceGroups/k8s-ig--cluster/listInstances", "InstanceGroups.ListInstances"},
		{"GET", p + "/zones/us-central1-b/instances", "Instances.List"},
		{"GET", p + "/aggregated/forwardingRules", "ForwardingRules.AggregatedList"},
		{"GET", p, "Projects.Get"},
		// The polls of an operation are the operations collection's.
		{"GET", p + "/regions/us-central1/operations/operation-1712345678-abc", "RegionOperations.Get"},
		{"POST", p + "/regions/us-central1/operations/operation-1712345678-abc/wait", "RegionOperations.Wait"},
		{"GET", p + "/global/operations/operation-1712345678-abc", "GlobalOperations.Get"},
		{"GET", p + "/zones/us-central1-a/operations/operation-1712345678-abc", "ZoneOperations.Get"},
		// Other shapes never put a segment of the path in the name.
		{"GET", "http://metadata.google.internal/computeMetadata/v1/instance", "Other.Get"},
		{"POST", p, "Other.Post"},
		{"GET", p + "/regions/us-central1/targetPools/a5f3/instances/extra", "Other.Get"},
		{"DELETE", p + "/regions/us-central1/targetPools", "Other.Delete"},
		{"GET", p + "/aggregated", "Other.Get"},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := computeOperation(req.Method, req.URL.Path); got != tt.want {
			t.Errorf("computeOperation(%s %s) = %q, want %q", tt.method, tt.url, got, tt.want)
		}
	}
}

// answer is a transport that answers every request with one status and body, or err.
type answer struct {
	status int
	body   string
	err    error
}

func (a answer) RoundTrip(req *http.Request) (*http.Response, error) {
	if a.err != nil {
		return nil, a.err
	}
	return &http.Response{StatusCode: a.status, Body: io.NopCloser(strings.NewReader(a.body)), Request: req}, nil
}

// TestMetricsTransport checks each request's result, throttling recognised by status or by
// the reason of a 403, and that the client still reads the whole body of a 403.
func TestMetricsTransport(t *testing.T) {
	t.Parallel()
	const rateLimited = `{"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"message":"Rate Limit Exceeded","domain":"usageLimits","reason":"rateLimitExceeded"}]}}`
	const denied = `{"error":{"code":403,"message":"Required 'compute.forwardingRules.create' permission","errors":[{"reason":"forbidden"}]}}`
	const quotaInfo = `{"error":{"code":403,"message":"Quota exceeded","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED"}]}}`
	tests := []struct {
		name string
		a    answer
		want string
	}{
		{"done", answer{status: 200, body: `{"status":"DONE"}`}, "ok"},
		{"too many requests", answer{status: 429, body: `{}`}, "throttled"},
		{"403 rate limit", answer{status: 403, body: rateLimited}, "throttled"},
		{"403 rate limit in an ErrorInfo", answer{status: 403, body: quotaInfo}, "throttled"},
		{"403 permission", answer{status: 403, body: denied}, "error"},
		{"403 without JSON", answer{status: 403, body: "<html>Forbidden</html>"}, "error"},
		{"conflict", answer{status: 409, body: `{}`}, "error"},
		{"no connection", answer{err: errors.New("connection refused")}, "error"},
	}
	for _, tt := range tests {
		var mu sync.Mutex
		var got []string
		tr := metricsTransport{next: tt.a, observe: func(cloud, op string, _ time.Time, o cloudapi.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, cloud+" "+op+" "+o.Result())
		}}
		req, err := http.NewRequest(http.MethodPost, "https://compute.googleapis.com/compute/v1/projects/p/regions/r/forwardingRules", strings.NewReader(`{"name":"a1"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if want := "gce ForwardingRules.Insert " + tt.want; len(got) != 1 || got[0] != want {
			t.Errorf("%s: observed %q, want once %q", tt.name, got, want)
		}
		if err != nil {
			continue
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != tt.a.body {
			t.Errorf("%s: the client read %q (%v), want the whole body %q", tt.name, body, err, tt.a.body)
		}
		resp.Body.Close()
	}
}
