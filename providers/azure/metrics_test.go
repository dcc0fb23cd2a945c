package azure

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

func TestARMOperation(t *testing.T) {
	t.Parallel()
	const rg = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/cluster-rg/providers/Microsoft.Network"
	const sub = "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Network"
	tests := []struct {
		method, path, want string
	}{
		{"GET", rg + "/loadBalancers/kubernetes", "LoadBalancers.Get"},
		{"PUT", rg + "/loadBalancers/kubernetes", "LoadBalancers.CreateOrUpdate"},
		{"DELETE", rg + "/loadBalancers/kubernetes-internal", "LoadBalancers.Delete"},
		{"PATCH", rg + "/loadBalancers/kubernetes", "LoadBalancers.UpdateTags"},
		{"GET", rg + "/publicIPAddresses", "PublicIPAddresses.List"},
		{"PUT", rg + "/publicIPAddresses/kubernetes-a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7b", "PublicIPAddresses.CreateOrUpdate"},
		{"GET", rg + "/networkSecurityGroups/cluster-nsg", "SecurityGroups.Get"},
		{"PUT", rg + "/networkSecurityGroups/cluster-nsg", "SecurityGroups.CreateOrUpdate"},
		{"GET", rg + "/privateLinkServices", "PrivateLinkServices.List"},
		{"DELETE", rg + "/privateLinkServices/pls-web", "PrivateLinkServices.Delete"},
		{"GET", sub + "/loadBalancers", "LoadBalancers.ListAll"},
		// ARM paths are case-insensitive.
		{"GET", strings.ToLower(rg) + "/publicipaddresses/ip", "PublicIPAddresses.Get"},
		// The polls of a long-running operation: its status and its result.
		{"GET", sub + "/locations/westeurope/operations/6a1f0c2e-1d7b-4a7e-9c1a-0c2b3d4e5f60", "AsyncOperation.Get"},
		{"GET", sub + "/locations/westeurope/operationResults/6a1f0c2e-1d7b-4a7e-9c1a-0c2b3d4e5f60", "AsyncOperation.Get"},
		// Nested resources and actions.
		{"GET", rg + "/loadBalancers/kubernetes/backendAddressPools", "BackendAddressPools.List"},
		{"GET", rg + "/loadBalancers/kubernetes/backendAddressPools/kubernetes", "BackendAddressPools.Get"},
		{"POST", rg + "/loadBalancers/kubernetes/migrateToIpBased", "LoadBalancers.MigrateToIpBased"},
		// azcore's registration of the resource provider.
		{"GET", sub, "Providers.Get"},
		{"POST", sub + "/register", "Providers.Register"},
		// Other shapes never put a segment of the path in the name.
		{"GET", "/subscriptions/s/resourceGroups/rg", "Other.Get"},
		{"GET", "/subscriptions/s/resourceGroups/rg/providers/NotMicrosoft.X/things/name", "Other.Get"},
		{"GET", rg + "/loadBalancers/lb/backendAddressPools/pool/extra", "Other.Get"},
		{"GET", sub + "/locations/westeurope", "Other.Get"},
		{"GET", "/metadata/instance", "Other.Get"},
	}
	for _, tt := range tests {
		if got := armOperation(tt.method, tt.path); got != tt.want {
			t.Errorf("armOperation(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

// recorder collects what a metrics policy or transport observes.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) observe(cloud, op string, _ time.Time, o cloudapi.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, cloud+" "+op+" "+o.Result())
}

// answers is a transport that answers each request with the next status of its list.
type answers struct {
	mu     sync.Mutex
	status []int
	sent   int
}

func (a *answers) Do(req *http.Request) (*http.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sent >= len(a.status) {
		return nil, errors.New("connection refused")
	}
	s := a.status[a.sent]
	a.sent++
	h := http.Header{}
	if s == http.StatusTooManyRequests {
		h.Set("Retry-After", "0")
	}
	return &http.Response{StatusCode: s, Header: h, Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

// TestMetricsPolicy sends requests through a pipeline laid out as the clients' (the policy
// per call, the SDK's retries after it): a call is observed once whatever its retries, with
// the last answer's result.
func TestMetricsPolicy(t *testing.T) {
	t.Parallel()
	const lb = "https://management.example/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/kubernetes"
	tests := []struct {
		name    string
		status  []int
		retries int32
		want    string
		sent    int
	}{
		{"ok", []int{200}, 3, "azure LoadBalancers.Get ok", 1},
		{"retried past throttling", []int{429, 429, 200}, 3, "azure LoadBalancers.Get ok", 3},
		{"throttled beyond the retries", []int{429, 429}, 1, "azure LoadBalancers.Get throttled", 2},
		{"not found", []int{404}, 3, "azure LoadBalancers.Get error", 1},
		{"server error beyond the retries", []int{503, 503}, 1, "azure LoadBalancers.Get error", 2},
		{"connection refused", nil, -1, "azure LoadBalancers.Get error", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, tr := &recorder{}, &answers{status: tt.status}
			pl := runtime.NewPipeline("cloudlb-test", "v0.0.0", runtime.PipelineOptions{PerCall: []policy.Policy{metricsPolicy{observe: rec.observe}}},
				&policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: tt.retries, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond}})
			req, err := runtime.NewRequest(context.Background(), http.MethodGet, lb)
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := pl.Do(req); err == nil {
				resp.Body.Close()
			}
			if len(rec.calls) != 1 || rec.calls[0] != tt.want {
				t.Errorf("observed %q, want once %q", rec.calls, tt.want)
			}
			if tr.sent != tt.sent {
				t.Errorf("%d requests sent, want %d", tr.sent, tt.sent)
			}
		})
	}
}
