package aws

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// TestAdaptiveRetryUnderThrottling creates a CLB and re-ensures it with 30% of the calls
// throttled, through SDK clients configured as NewFromConfig configures them: the shared
// adaptive retryer absorbs the throttling, so each Ensure succeeds on its first try. It takes
// a few seconds: after a throttle the adaptive mode really does slow the sending rate.
func TestAdaptiveRetryUnderThrottling(t *testing.T) {
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
