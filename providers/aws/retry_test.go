package aws

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// TestRetryUnderThrottling creates a CLB and re-ensures it with 30% of the calls throttled,
// through SDK clients configured as NewFromConfig configures them: the shared retryers absorb
// the throttling, so each Ensure succeeds on its first try, and every attempt is counted by
// the API's limiter.
func TestRetryUnderThrottling(t *testing.T) {
	t.Parallel()
	c, srv, nodes := fakeEnv(t, fakeaws.Options{Seed: 7}, 2)
	if c.elb.(*elb.Client).Options().Retryer != c.limits.elb.retryer || c.ec2.(*ec2.Client).Options().Retryer != c.limits.ec2.retryer {
		t.Fatal("the clients do not use the shared retryers")
	}
	const cluster = fakeCluster
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: types.UID("9a1b2c3d-8b7d-4e6f-9a1b-2c3d4e5f6a7b")},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: []v1.ServicePort{
			{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
			{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443},
		}},
	}
	srv.SetFaults(fakecore.Faults{ThrottleRate: 0.3})
	ctx := context.Background()
	if _, err := c.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatalf("create under throttling: %v", err)
	}
	if _, err := c.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatalf("no-op ensure under throttling: %v", err)
	}
	srv.SetFaults(fakecore.Faults{})
	inv := srv.Inventory()
	if len(inv.ClassicLoadBalancers) != 1 {
		t.Fatalf("load balancers: %+v", inv.ClassicLoadBalancers)
	}
	stats := c.APIStats()
	total := 0
	for _, n := range srv.Calls() {
		total += n
	}
	throttled := stats["ec2"].Throttled + stats["elb"].Throttled + stats["elbv2"].Throttled
	attempts := stats["ec2"].Attempts + stats["elb"].Attempts + stats["elbv2"].Attempts
	t.Logf("attempts %d (fake saw %d), throttled %d: %+v", attempts, total, throttled, stats)
	if throttled == 0 {
		t.Errorf("no throttled attempt counted at a 30%% throttle rate: %+v", stats)
	}
	if attempts != int64(total) {
		t.Errorf("counted %d attempts, the fake answered %d", attempts, total)
	}
	// 30% of throttled answers is not a majority: no API's rate was lowered.
	for api, s := range stats {
		if s.Decreases != 0 || s.Rate != DefaultQPS {
			t.Errorf("%s: rate %v after %d decreases, want %v after none", api, s.Rate, s.Decreases, float64(DefaultQPS))
		}
	}
}

// TestRetriesWaitOnTheBucket: with every answer throttled, each of a call's MaxAttempts
// attempts waits for a token of the API's bucket, so the retries are paced by the bucket,
// and the call ends with the throttling error, which the controller retries.
func TestRetriesWaitOnTheBucket(t *testing.T) {
	t.Parallel()
	srv := fakeaws.New(fakeaws.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	const qps, attempts = 50, 4
	ls := newLimits(Limits{QPS: qps, Burst: 1, MaxAttempts: attempts, BaseBackoff: time.Microsecond, MaxBackoff: time.Microsecond})
	client := elb.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")},
		func(o *elb.Options) { ls.elb.configure(&o.Retryer, &o.APIOptions) })
	srv.SetFaults(fakecore.Faults{ThrottleRate: 1})
	start := time.Now()
	_, err := call(context.Background(), ls, "elb.DescribeLoadBalancers", func() (*elb.DescribeLoadBalancersOutput, error) {
		return client.DescribeLoadBalancers(context.Background(), &elb.DescribeLoadBalancersInput{})
	})
	elapsed := time.Since(start)
	if !isThrottle(err) {
		t.Fatalf("err = %v, want the throttling error after %d attempts", err, attempts)
	}
	if s := ls.elb.limiter.Stats(); s.Attempts != attempts || s.Throttled != attempts {
		t.Errorf("stats %+v, want %d attempts, all throttled", s, attempts)
	}
	// The first token is the burst's; each retry waits 1/qps for its own (the backoff is
	// a microsecond).
	if want := time.Duration(attempts-1) * time.Second / qps; elapsed < want-5*time.Millisecond {
		t.Errorf("%d attempts took %v, want at least %v: the retries did not wait on the bucket", attempts, elapsed, want)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := backoff{base: 100 * time.Millisecond, max: time.Second}
	tests := []struct {
		attempt int
		bound   time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{40, time.Second},
	}
	for _, tt := range tests {
		var longest time.Duration
		for range 200 {
			d, err := b.BackoffDelay(tt.attempt, nil)
			if err != nil || d < 0 || d > tt.bound {
				t.Fatalf("attempt %d: delay %v, %v; want within [0, %v]", tt.attempt, d, err, tt.bound)
			}
			longest = max(longest, d)
		}
		// Full jitter spreads over the whole range, not a fixed sleep.
		if longest < tt.bound/2 {
			t.Errorf("attempt %d: longest of 200 delays %v, want close to %v", tt.attempt, longest, tt.bound)
		}
	}
}

// TestLimiterIsShared makes N calls from each of two goroutines of one Cloud and checks they
// drew from one bucket: together they cannot finish faster than the bucket allows.
func TestLimiterIsShared(t *testing.T) {
	t.Parallel()
	const qps, burst, perGoroutine = 100, 5, 25
	c := New(Options{Limits: Limits{QPS: qps, Burst: burst}})
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range perGoroutine {
				if _, err := call(ctx, c.limits, "elb.DescribeLoadBalancers", func() (int, error) { return 0, nil }); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// The first burst calls are free; each of the others waits 1/qps.
	want := time.Duration(2*perGoroutine-burst) * time.Second / qps
	if elapsed < want-20*time.Millisecond {
		t.Errorf("%d calls took %v, want >= %v from one shared bucket", 2*perGoroutine, elapsed, want)
	}
	// Another API has its own bucket: it is not slowed by the elb calls.
	start = time.Now()
	for range burst {
		if _, err := call(ctx, c.limits, "ec2.DescribeSubnets", func() (int, error) { return 0, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > want/2 {
		t.Errorf("ec2 calls waited %v on the elb bucket", d)
	}
}
