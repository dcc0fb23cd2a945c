package azure

import (
	"context"
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

func TestLimitsWithDefaults(t *testing.T) {
	t.Parallel()
	defaults := Limits{Reads: Rate{20, 100}, Writes: Rate{10, 20}, Deletes: Rate{10, 20}}
	cfg := kindRates{reads: Rate{5, 50}, writes: Rate{3, 30}, deletes: Rate{3, 30}}
	tests := []struct {
		name string
		in   Limits
		cfg  kindRates
		want Limits
	}{
		{name: "zero takes each kind's default", want: defaults},
		{name: "QPS and Burst set every kind", in: Limits{QPS: 1000, Burst: 500},
			want: Limits{Reads: Rate{1000, 500}, Writes: Rate{1000, 500}, Deletes: Rate{1000, 500}}},
		{name: "a kind's own rate beats QPS", in: Limits{QPS: 1000, Burst: 500, Writes: Rate{QPS: 2}},
			want: Limits{Reads: Rate{1000, 500}, Writes: Rate{2, 500}, Deletes: Rate{1000, 500}}},
		{name: "the cloud config's keys beat the defaults", cfg: cfg,
			want: Limits{Reads: Rate{5, 50}, Writes: Rate{3, 30}, Deletes: Rate{3, 30}}},
		{name: "a config key left zero takes the default", cfg: kindRates{reads: Rate{QPS: 5}},
			want: Limits{Reads: Rate{5, 100}, Writes: Rate{10, 20}, Deletes: Rate{10, 20}}},
		{name: "the caller's limits beat the config's", in: Limits{Reads: Rate{QPS: 7}, Burst: 9}, cfg: cfg,
			want: Limits{Reads: Rate{7, 9}, Writes: Rate{3, 9}, Deletes: Rate{3, 9}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.in.withDefaults(tc.cfg)
			if got.Reads != tc.want.Reads || got.Writes != tc.want.Writes || got.Deletes != tc.want.Deletes {
				t.Errorf("reads %+v writes %+v deletes %+v, want %+v %+v %+v", got.Reads, got.Writes, got.Deletes, tc.want.Reads, tc.want.Writes, tc.want.Deletes)
			}
			if got.MaxRetries != DefaultMaxRetries || got.RetryDelay != defaultRetryDelay || got.Poll != DefaultPoll {
				t.Errorf("retries %d delay %v poll %v, want the defaults", got.MaxRetries, got.RetryDelay, got.Poll)
			}
		})
	}
}

func TestCloudConfigRateLimits(t *testing.T) {
	t.Parallel()
	keys := `"cloudProviderRateLimitQPS": 5, "cloudProviderRateLimitBucket": 50, "cloudProviderRateLimitQPSWrite": 3, "cloudProviderRateLimitBucketWrite": 30`
	tests := []struct {
		name    string
		in      string
		want    kindRates
		wantErr string
	}{
		{name: "none", in: `{}`},
		{name: "upstream's keys under cloudProviderRateLimit", in: `{"cloudProviderRateLimit": true, ` + keys + `}`,
			want: kindRates{reads: Rate{5, 50}, writes: Rate{3, 30}, deletes: Rate{3, 30}}},
		{name: "without cloudProviderRateLimit the keys ask nothing, as upstream", in: `{` + keys + `}`},
		{name: "only the write keys", in: `{"cloudProviderRateLimit": true, "cloudProviderRateLimitQPSWrite": 3}`,
			want: kindRates{writes: Rate{QPS: 3}, deletes: Rate{QPS: 3}}},
		{name: "negative", in: `{"cloudProviderRateLimit": true, "cloudProviderRateLimitBucketWrite": -1}`, wantErr: "cloudProviderRateLimitBucketWrite -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cc, err := ParseCloudConfig(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cc.rateLimits(); got != tc.want {
				t.Errorf("rateLimits() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestNewWithCredentialRateLimits checks that a Cloud's buckets start at the cloud config's
// rates, each kind its own.
func TestNewWithCredentialRateLimits(t *testing.T) {
	t.Parallel()
	cc, err := ParseCloudConfig(strings.NewReader(`{"subscriptionId": "s", "resourceGroup": "rg", "location": "westeurope", "vnetName": "v", "subnetName": "n",
		"cloudProviderRateLimit": true, "cloudProviderRateLimitQPS": 5, "cloudProviderRateLimitQPSWrite": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithCredential(cc, staticCredential{}, nil, Limits{Deletes: Rate{QPS: 2}})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		l    *cloudapi.Limiter
		want float64
	}{"reads": {c.limiter.reads, 5}, "writes": {c.limiter.writes, 3}, "deletes": {c.limiter.deletes, 2}} {
		if got := tc.l.Stats().Rate; got != tc.want {
			t.Errorf("%s: rate %v, want %v", name, got, tc.want)
		}
	}
	if got := c.APIStats().Rate; got != 10 {
		t.Errorf("APIStats().Rate = %v, want the kinds' sum 10", got)
	}
}

// answerTransport answers every request with status, counting the requests by method.
type answerTransport struct {
	status int
	mu     sync.Mutex
	sent   map[string]int
}

func (a *answerTransport) Do(req *http.Request) (*http.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sent == nil {
		a.sent = map[string]int{}
	}
	a.sent[req.Method]++
	status := a.status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

// limitPipeline is an azcore pipeline with limitPolicy on b and no retries.
func limitPipeline(b *budgets, t policy.Transporter) runtime.Pipeline {
	return runtime.NewPipeline("cloudlb-test", "v0.0.0", runtime.PipelineOptions{PerRetry: []policy.Policy{limitPolicy{b}}},
		&policy.ClientOptions{Transport: t, Retry: policy.RetryOptions{MaxRetries: -1}})
}

// send sends one request of method through p, its wait on the bucket bounded by within.
func send(t *testing.T, p runtime.Pipeline, method string, within time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	req, err := runtime.NewRequest(ctx, method, "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// TestBudgetsByMethod checks that each method waits on its kind's bucket only: with every
// bucket holding one token refilled in about an hour, a request of one method spends its
// kind's token, after which that kind waits and the others do not.
func TestBudgetsByMethod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method string
		kind   string
	}{
		{http.MethodGet, "reads"}, {http.MethodHead, "reads"},
		{http.MethodPut, "writes"}, {http.MethodPatch, "writes"}, {http.MethodPost, "writes"},
		{http.MethodDelete, "deletes"},
	}
	probes := map[string]string{"reads": http.MethodGet, "writes": http.MethodPut, "deletes": http.MethodDelete}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			t.Parallel()
			slow := Rate{QPS: 1.0 / 3600, Burst: 1}
			b := newBudgets(Limits{Reads: slow, Writes: slow, Deletes: slow}, time.Now)
			p := limitPipeline(b, &answerTransport{})
			if err := send(t, p, tc.method, time.Minute); err != nil {
				t.Fatalf("first %s: %v", tc.method, err)
			}
			for kind, probe := range probes {
				// rate.Limiter.Wait refuses at once a wait longer than the deadline, and the
				// transport fails nothing: an error is a wait.
				err := send(t, p, probe, time.Minute)
				if waited := err != nil; waited != (kind == tc.kind) {
					t.Errorf("after a %s, a %s (%s) waited: %v, want %v (err %v)", tc.method, probe, kind, waited, kind == tc.kind, err)
				}
			}
			kinds := map[string]*cloudapi.Limiter{"reads": b.reads, "writes": b.writes, "deletes": b.deletes}
			// One attempt each: the first request in its kind, whose probe waited unsent,
			// and the other kinds' probes.
			for kind, l := range kinds {
				if got := l.Stats().Attempts; got != 1 {
					t.Errorf("%s attempts %d, want 1", kind, got)
				}
			}
			if got := b.stats().Attempts; got != 3 {
				t.Errorf("total attempts %d, want 3", got)
			}
		})
	}
}

// TestBudgetsThrottlingLowersItsKindOnly checks that a window of throttled answers to one
// kind halves that kind's rate and leaves the others at their ceiling.
func TestBudgetsThrottlingLowersItsKindOnly(t *testing.T) {
	t.Parallel()
	for _, throttled := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		t.Run(throttled, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			clock := time.Unix(0, 0)
			now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			fast := Rate{QPS: 1000, Burst: 1000}
			b := newBudgets(Limits{Reads: fast, Writes: fast, Deletes: fast}, now)
			refused, ok := limitPipeline(b, &answerTransport{status: http.StatusTooManyRequests}), limitPipeline(b, &answerTransport{})
			for i := range cloudapi.DefaultMinAnswers + 1 {
				if i == cloudapi.DefaultMinAnswers {
					mu.Lock()
					clock = clock.Add(cloudapi.DefaultWindow)
					mu.Unlock()
				}
				if err := send(t, refused, throttled, time.Minute); err != nil {
					t.Fatal(err)
				}
				// The other kinds succeed meanwhile: their windows are their own.
				for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
					if m != throttled {
						if err := send(t, ok, m, time.Minute); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			for m, l := range map[string]*cloudapi.Limiter{http.MethodGet: b.reads, http.MethodPut: b.writes, http.MethodDelete: b.deletes} {
				want := 1000.0
				if m == throttled {
					want = 500
				}
				if s := l.Stats(); s.Rate != want {
					t.Errorf("%s bucket: rate %v, want %v (%+v)", m, s.Rate, want, s)
				}
			}
			if s := b.stats(); s.Throttled != cloudapi.DefaultMinAnswers+1 || s.Decreases != 1 || s.Attempts != 3*(cloudapi.DefaultMinAnswers+1) {
				t.Errorf("totals %+v, want 11 throttled of 33 attempts and one decrease", s)
			}
		})
	}
}
