package aws

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/integration/fakeaws"
)

// TestAdaptiveRetryUnderThrottling creates a CLB and re-ensures it with 30% of the calls
// throttled, through SDK clients configured as NewFromConfig configures them: the shared
// adaptive retryer absorbs the throttling, so each Ensure succeeds on its first try. It takes
// a few seconds: after a throttle the adaptive mode really does slow the sending rate.
func TestAdaptiveRetryUnderThrottling(t *testing.T) {
	t.Parallel()
	srv := fakeaws.New(fakeaws.Options{Seed: 7})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	const cluster = "demo"
	owned := map[string]string{"kubernetes.io/cluster/" + cluster: "owned"}
	built, err := srv.ApplyTopology(fakeaws.Topology{
		VPC: fakeaws.TopologyVPC{CIDR: "10.0.0.0/16"},
		Subnets: []fakeaws.TopologySubnet{
			{Name: "public-a", CIDR: "10.0.1.0/24", Zone: "us-east-1a", Public: true, Tags: map[string]string{"kubernetes.io/role/elb": "1"}},
		},
		SecurityGroups: []fakeaws.TopologySecurityGroup{{Name: "nodes", Tags: owned}},
		Instances:      []fakeaws.TopologyInstance{{Name: "node", Subnet: "public-a", Count: 2, Tags: owned, SecurityGroups: []string{"nodes"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")}
	// Short backoff keeps the test fast; the attempt bound and the adaptive mode are the
	// production ones.
	ls := newLimits(Limits{MaxBackoff: 5 * time.Millisecond})
	ec2c := ec2.NewFromConfig(cfg, func(o *ec2.Options) { ls.ec2.configure(&o.Retryer, &o.APIOptions) })
	elbc := elb.NewFromConfig(cfg, func(o *elb.Options) { ls.elb.configure(&o.Retryer, &o.APIOptions) })
	elbv2c := elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { ls.elbv2.configure(&o.Retryer, &o.APIOptions) })
	if elbc.Options().Retryer != ls.elb.retryer || ec2c.Options().Retryer != ls.ec2.retryer {
		t.Fatal("the clients do not use the shared retryers")
	}
	cc, err := ParseCloudConfig(strings.NewReader(fmt.Sprintf("[Global]\nZone = us-east-1a\nVPC = %s\n", built.VPC)))
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Config: cc, ELB: elbc, EC2: ec2c, ELBv2: elbv2c, limits: ls})
	var nodes []*v1.Node
	for _, n := range []string{"node-1", "node-2"} {
		nodes = append(nodes, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n},
			Spec: v1.NodeSpec{ProviderID: "aws:///us-east-1a/" + built.Instances[n]}})
	}
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: types.UID("9a1b2c3d-8b7d-4e6f-9a1b-2c3d4e5f6a7b")},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: []v1.ServicePort{
			{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
			{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443},
		}},
	}
	srv.SetFaults(fakeaws.Faults{ThrottleRate: 0.3})
	ctx := context.Background()
	if _, err := c.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatalf("create under throttling: %v", err)
	}
	if _, err := c.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatalf("no-op ensure under throttling: %v", err)
	}
	srv.SetFaults(fakeaws.Faults{})
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
