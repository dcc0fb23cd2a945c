package fake

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/cloudlb/cloudlb/metrics"
	"github.com/cloudlb/cloudlb/providers"
)

func TestInjectError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name  string
		op    Op
		times int
		// attempts Ensure calls are made on a fresh cloud; wantFail says which fail.
		wantFail []bool
		// wantByOp are the calls counted over every attempt.
		wantByOp map[Op]int
	}{
		{"read fails twice", OpGet, 2, []bool{true, true, false, false}, map[Op]int{OpGet: 4, OpCreate: 1}},
		{"create fails once, then created", OpCreate, 1, []bool{true, false, false}, map[Op]int{OpGet: 3, OpCreate: 2}},
		{"read fails until cleared", OpGet, -1, []bool{true, true, true}, map[Op]int{OpGet: 3}},
		{"times 0 arms nothing", OpGet, 0, []bool{false}, map[Op]int{OpGet: 1, OpCreate: 1}},
		{"an op not called never fails", OpDelete, 5, []bool{false, false}, map[Op]int{OpGet: 2, OpCreate: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCloud(t, Config{})
			c.InjectError(tt.op, boom, tt.times)
			svc := newService("web")
			for i, wantFail := range tt.wantFail {
				_, err := c.EnsureLoadBalancer(context.Background(), testCluster, svc, nil)
				if failed := errors.Is(err, boom); failed != wantFail || !wantFail && err != nil {
					t.Errorf("attempt %d: error %v, want injected failure %v", i+1, err, wantFail)
				}
				if providers.IsUserError(err) {
					t.Errorf("attempt %d: injected error %v reported as a user error", i+1, err)
				}
			}
			got := c.Calls()
			for op, n := range tt.wantByOp {
				if got.ByOp[op] != n {
					t.Errorf("calls of %s = %d, want %d (all %v)", op, got.ByOp[op], n, got.ByOp)
				}
			}
			c.ClearErrors()
			mustEnsure(t, c, testCluster, svc, nil)
			if lbs, _ := c.LoadBalancers(); len(lbs) != 1 {
				t.Errorf("after ClearErrors: load balancers %+v, want one", lbs)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	t.Run("every call waits", func(t *testing.T) {
		t.Parallel()
		const latency = 20 * time.Millisecond
		c := newCloud(t, Config{})
		c.SetLatency(latency)
		started := time.Now()
		mustEnsure(t, c, testCluster, newService("web"), nil) // a read and a create
		if took := time.Since(started); took < 2*latency {
			t.Errorf("Ensure with 2 calls took %s, want at least %s", took, 2*latency)
		}
	})
	t.Run("cancellation ends the wait and keeps the injected error", func(t *testing.T) {
		t.Parallel()
		c := newCloud(t, Config{})
		c.SetLatency(time.Hour)
		boom := errors.New("boom")
		c.InjectError(OpGet, boom, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := c.EnsureLoadBalancer(ctx, testCluster, newService("web"), nil)
			done <- err
		}()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		wantCalls(t, c, 1, 0, nil)
		c.SetLatency(0)
		if _, _, err := c.GetLoadBalancer(context.Background(), testCluster, newService("web")); !errors.Is(err, boom) {
			t.Errorf("after a cancelled call: error %v, want the still armed injected error", err)
		}
	})
	t.Run("an already cancelled context fails without latency", func(t *testing.T) {
		t.Parallel()
		c := newCloud(t, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.EnsureLoadBalancerDeleted(ctx, testCluster, newService("web")); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
}

func TestPoolExhaustion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A /30 has two usable addresses: .1 and .2 (not the network .0 nor the broadcast .3).
	c := newCloud(t, Config{IPPool: "198.51.100.0/30", InternalIPPool: "10.0.0.0/30"})
	a, b, extra := newService("a"), newService("b"), newService("c")
	if ip := mustEnsure(t, c, testCluster, a, nil); ip != "198.51.100.1" {
		t.Errorf("first address %s, want 198.51.100.1", ip)
	}
	if ip := mustEnsure(t, c, testCluster, b, nil); ip != "198.51.100.2" {
		t.Errorf("second address %s, want 198.51.100.2", ip)
	}
	c.ResetCalls()
	_, err := c.EnsureLoadBalancer(ctx, testCluster, extra, nil)
	if !errors.Is(err, ErrPoolExhausted) || providers.IsUserError(err) {
		t.Fatalf("error %v, want ErrPoolExhausted, not a user error", err)
	}
	wantCalls(t, c, 1, 1, map[Op]int{OpCreate: 1})
	// The internal pool is separate.
	if ip := mustEnsure(t, c, testCluster, newService("d", withAnnotation(azureInternalKey, "true")), nil); ip != "10.0.0.1" {
		t.Errorf("internal address %s, want 10.0.0.1", ip)
	}
	// A deleted load balancer frees its address.
	if err := c.EnsureLoadBalancerDeleted(ctx, testCluster, a); err != nil {
		t.Fatal(err)
	}
	if ip := mustEnsure(t, c, testCluster, extra, nil); ip != "198.51.100.1" {
		t.Errorf("address after a delete %s, want the freed 198.51.100.1", ip)
	}
}

func TestAllocate(t *testing.T) {
	t.Parallel()
	taken := func(ips ...string) map[string]LoadBalancer {
		lbs := map[string]LoadBalancer{}
		for _, ip := range ips {
			lbs["lb-"+ip] = LoadBalancer{Name: "lb-" + ip, IP: ip}
		}
		return lbs
	}
	tests := []struct {
		pool  string
		taken map[string]LoadBalancer
		want  string // "" = exhausted
	}{
		{"203.0.113.0/24", nil, "203.0.113.1"},
		{"203.0.113.0/24", taken("203.0.113.1", "203.0.113.3"), "203.0.113.2"},
		{"203.0.113.0/30", taken("203.0.113.1", "203.0.113.2"), ""},
		{"203.0.113.4/31", taken("203.0.113.4"), "203.0.113.5"},
		{"203.0.113.7/32", nil, "203.0.113.7"},
		{"203.0.113.7/32", taken("203.0.113.7"), ""},
		{"2001:db8::/126", taken("2001:db8::1", "2001:db8::2"), "2001:db8::3"},
		{"2001:db8::/126", taken("2001:db8::1", "2001:db8::2", "2001:db8::3"), ""},
	}
	for _, tt := range tests {
		got, err := allocate(netip.MustParsePrefix(tt.pool), tt.taken)
		switch {
		case tt.want == "" && !errors.Is(err, ErrPoolExhausted):
			t.Errorf("allocate(%s): %s, %v; want ErrPoolExhausted", tt.pool, got, err)
		case tt.want != "" && (err != nil || got.String() != tt.want):
			t.Errorf("allocate(%s): %s, %v; want %s", tt.pool, got, err, tt.want)
		}
	}
}

// TestCallMetrics is not parallel: it reads the process-wide counters, which no other test
// changes while a sequential test runs.
func TestCallMetrics(t *testing.T) {
	metrics.Register()
	c := newCloud(t, Config{})
	boom := errors.New("boom")
	c.InjectError(OpCreate, boom, 1)
	before := map[[2]string]float64{}
	keys := [][2]string{{string(OpGet), metrics.ResultOK}, {string(OpCreate), metrics.ResultError}, {string(OpCreate), metrics.ResultOK}}
	for _, k := range keys {
		before[k] = callCounter(t, k[0], k[1])
	}
	if _, err := c.EnsureLoadBalancer(context.Background(), testCluster, newService("web"), nil); !errors.Is(err, boom) {
		t.Fatalf("error %v, want the injected one", err)
	}
	mustEnsure(t, c, testCluster, newService("web"), nil)
	want := map[[2]string]float64{keys[0]: 2, keys[1]: 1, keys[2]: 1}
	for _, k := range keys {
		if got := callCounter(t, k[0], k[1]) - before[k]; got != want[k] {
			t.Errorf("cloudlb_cloud_api_calls_total{cloud=fake,operation=%s,result=%s} grew by %v, want %v", k[0], k[1], got, want[k])
		}
	}
}

// callCounter reads cloudlb_cloud_api_calls_total for the fake cloud, op and result.
func callCounter(t *testing.T, op, result string) float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != "cloudlb_cloud_api_calls_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsAre(m, map[string]string{"cloud": "fake", "operation": op, "result": result}) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsAre(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}
