package aws_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	v1 "k8s.io/api/core/v1"

	awsprovider "github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/providers"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// plainNLB is plain(i) as an NLB Service.
func plainNLB(i int) *v1.Service {
	svc := plain(i)
	svc.Annotations = map[string]string{prefix + "type": "nlb"}
	return svc
}

// converged makes classic Classic and nlbs NLB Services through e.cloud.
func (e *env) converged(t testing.TB, classic, nlbs int) []*v1.Service {
	t.Helper()
	var svcs []*v1.Service
	for i := range classic {
		svcs = append(svcs, plain(i))
	}
	for i := range nlbs {
		svcs = append(svcs, plainNLB(classic+i))
	}
	for _, svc := range svcs {
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
			t.Fatal(err)
		}
	}
	return svcs
}

// listingCalls are the calls one listing of classic Classic Load Balancers and nlbs NLBs
// makes: a DescribeLoadBalancers per 400 and a DescribeTags per 20, of each API.
func listingCalls(classic, nlbs int) map[awsprovider.Call]int {
	pages := func(n, size int) int { return max(1, (n+size-1)/size) }
	want := map[awsprovider.Call]int{
		awsprovider.NewCall(awsprovider.ServiceELB, "DescribeLoadBalancers"):   pages(classic, 400),
		awsprovider.NewCall(awsprovider.ServiceELBv2, "DescribeLoadBalancers"): pages(nlbs, 400),
	}
	if classic > 0 {
		want[awsprovider.NewCall(awsprovider.ServiceELB, "DescribeTags")] = pages(classic, 20)
	}
	if nlbs > 0 {
		want[awsprovider.NewCall(awsprovider.ServiceELBv2, "DescribeTags")] = pages(nlbs, 20)
	}
	return want
}

// TestListingStandsForReads checks a restart's first pass: one listing of 21 Classic Load
// Balancers and 21 NLBs costs a DescribeLoadBalancers page and a DescribeTags per 20 of each
// API, and then each Service's Ensure with the listing makes no call; only the cluster's
// shared facts (subnets, route tables, the instances' groups) are read once.
func TestListingStandsForReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const classic, nlbs = 21, 21
	svcs := e.converged(t, classic, nlbs)
	c := e.restarted(t)
	e.srv.ResetCalls()
	l, err := c.ListLoadBalancers(ctx, cluster)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := awsprovider.CallsSummary(e.srv.Calls()), awsprovider.CallsSummary(listingCalls(classic, nlbs)); got != want {
		t.Errorf("listing calls = %s, want %s", got, want)
	}
	if len(l.Entries) != classic+nlbs {
		t.Errorf("listing has %d entries, want %d", len(l.Entries), classic+nlbs)
	}
	lctx := providers.WithListing(ctx, l)
	// The shared facts first, as the first Service of the pass reads them.
	e.srv.ResetCalls()
	if _, err := c.EnsureLoadBalancer(lctx, cluster, svcs[0], e.nodes); err != nil {
		t.Fatal(err)
	}
	if writes, reads, summary := e.counts(); writes != 0 || reads > 3 {
		t.Errorf("first Ensure with the listing: %d writes, %d reads (%s), want no write and at most the 3 shared reads", writes, reads, summary)
	}
	e.srv.ResetCalls()
	for _, svc := range svcs[1:] {
		st, err := c.EnsureLoadBalancer(lctx, cluster, svc, e.nodes)
		if err != nil {
			t.Fatal(err)
		}
		if st == nil || len(st.Ingress) != 1 || st.Ingress[0].Hostname == "" {
			t.Errorf("%s: status %v", svc.Name, st)
		}
	}
	if writes, reads, summary := e.counts(); writes+reads != 0 {
		t.Errorf("%d Ensures with the listing made calls: %s", len(svcs)-1, summary)
	}
	// The listing seeded the node-change fast path: a new node costs one Register per
	// Classic Service and no read of its load balancer.
	e.srv.ResetCalls()
	nodes := append(slices.Clone(e.nodes), e.node("node-b", "us-east-1b"))
	for _, svc := range svcs[:classic] {
		if err := c.UpdateLoadBalancer(ctx, cluster, svc, nodes); err != nil {
			t.Fatal(err)
		}
	}
	calls := e.srv.Calls()
	if n := calls[awsprovider.NewCall(awsprovider.ServiceELB, "DescribeLoadBalancers")]; n != 0 {
		t.Errorf("node change after the listed pass read %d load balancers: %s", n, awsprovider.CallsSummary(calls))
	}
	if n := calls[awsprovider.NewCall(awsprovider.ServiceELB, "RegisterInstancesWithLoadBalancer")]; n != classic {
		t.Errorf("node change registered %d times, want %d", n, classic)
	}
}

// TestStaleListingNeverSkipsAWrite changes the cloud through the provider between the listing
// and a Service's first sync (a node change, a deletion, a listener change, on both kinds):
// Ensure with the old listing reads and writes, and the cloud ends as the Service says. A
// load balancer without the spec-hash tag (adopted) is read too.
func TestStaleListingNeverSkipsAWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svcs := e.converged(t, 4, 3)
	clbNodes, clbDeleted, clbPorts, clbAdopted := svcs[0], svcs[1], svcs[2], svcs[3]
	nlbNodes, nlbDeleted, nlbPorts := svcs[4], svcs[5], svcs[6]
	c := e.restarted(t)
	if _, err := e.elb.RemoveTags(ctx, &elb.RemoveTagsInput{LoadBalancerNames: []string{c.GetLoadBalancerName(ctx, cluster, clbAdopted)},
		Tags: []elbtypes.TagKeyOnly{{Key: aws.String("cloudlb.io/spec-hash")}}}); err != nil {
		t.Fatal(err)
	}
	l, err := c.ListLoadBalancers(ctx, cluster)
	if err != nil {
		t.Fatal(err)
	}
	lctx := providers.WithListing(ctx, l)

	more := append(slices.Clone(e.nodes), e.node("node-b", "us-east-1b"))
	for _, svc := range []*v1.Service{clbNodes, nlbNodes} {
		if err := c.UpdateLoadBalancer(ctx, cluster, svc, more); err != nil {
			t.Fatal(err)
		}
	}
	for _, svc := range []*v1.Service{clbDeleted, nlbDeleted} {
		if err := c.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
			t.Fatal(err)
		}
	}
	for _, svc := range []*v1.Service{clbPorts, nlbPorts} {
		changed := svc.DeepCopy()
		changed.Spec.Ports[0].Port = 8080
		if _, err := c.EnsureLoadBalancer(ctx, cluster, changed, e.nodes); err != nil {
			t.Fatal(err)
		}
	}

	for _, tt := range []struct {
		name       string
		svc        *v1.Service
		wantWrites bool
	}{
		{"classic node change", clbNodes, true},
		{"classic deleted", clbDeleted, true},
		{"classic listener change", clbPorts, true},
		{"classic without the spec-hash tag", clbAdopted, true},
		{"nlb node change", nlbNodes, true},
		{"nlb deleted", nlbDeleted, true},
		{"nlb listener change", nlbPorts, true},
	} {
		e.srv.ResetCalls()
		if _, err := c.EnsureLoadBalancer(lctx, cluster, tt.svc, e.nodes); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		writes, reads, summary := e.counts()
		if reads == 0 || tt.wantWrites && writes == 0 {
			t.Errorf("%s: Ensure with the stale listing made %d reads and %d writes (%s), want reads and writes", tt.name, reads, writes, summary)
		}
		// The cloud is as the Service says: a full sync now writes nothing.
		e.srv.ResetCalls()
		if _, err := c.EnsureLoadBalancer(ctx, cluster, tt.svc, e.nodes); err != nil {
			t.Fatal(err)
		}
		if writes, _, summary := e.counts(); writes != 0 {
			t.Errorf("%s: the sync after made writes: %s", tt.name, summary)
		}
	}
	if got, want := e.instancesOf(t, c.GetLoadBalancerName(ctx, cluster, clbNodes)), ids(e.nodes); !slices.Equal(got, want) {
		t.Errorf("instances after the stale listing = %v, want %v", got, want)
	}
}

// BenchmarkRestartCalls measures the calls of a restart's first pass over 1,000 (500 Classic
// and 500 NLB) and 5,000 (2,500 and 2,500) Services, converged: with the listing (its calls plus the shared reads, spread over
// the Services) and, for comparison, without it (two reads per Service). It fails when the
// listing does not page as AWS pages (400 a page, tags 20 a call) or a sync writes.
//
//	go test -run '^$' -bench RestartCalls -benchtime 1x ./providers/aws/
func BenchmarkRestartCalls(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) { benchmarkRestartCalls(b, n/2, n/2) })
	}
}

func benchmarkRestartCalls(b *testing.B, classic, nlbs int) {
	e := newEnv(b)
	// A node group holds at most 60 rules: 1,000 load balancers' rules would not fit.
	provider := func() *cloudaws.Cloud {
		cc, err := cloudaws.ParseCloudConfig(strings.NewReader(fmt.Sprintf("[Global]\nZone = us-east-1a\nVPC = %s\nDisableSecurityGroupIngress = true\n", e.built.VPC)))
		if err != nil {
			b.Fatal(err)
		}
		// The calls are counted, not timed: the client-side rate limit would only slow the
		// benchmark down.
		return cloudaws.New(cloudaws.Options{Config: cc, ELB: e.elb, EC2: e.ec2, ELBv2: e.elbv2, Limits: cloudaws.Limits{QPS: 1e6, Burst: 1e6}})
	}
	e.cloud = provider()
	svcs := e.converged(b, classic, nlbs)
	pass := func(listed bool) (reads int) {
		c := provider()
		e.srv.ResetCalls()
		lctx := ctx
		if listed {
			l, err := c.ListLoadBalancers(ctx, cluster)
			if err != nil {
				b.Fatal(err)
			}
			if got, want := awsprovider.CallsSummary(e.srv.Calls()), awsprovider.CallsSummary(listingCalls(classic, nlbs)); got != want {
				b.Fatalf("listing calls = %s, want %s", got, want)
			}
			lctx = providers.WithListing(ctx, l)
		}
		for _, svc := range svcs {
			if _, err := c.EnsureLoadBalancer(lctx, cluster, svc, e.nodes); err != nil {
				b.Fatal(err)
			}
		}
		writes, reads, summary := e.counts()
		if writes != 0 {
			b.Fatalf("the restart wrote: %s", summary)
		}
		b.Logf("restart of %d Services (listing %v): %d calls\n%s", len(svcs), listed, reads, summary)
		return reads
	}
	b.ResetTimer()
	var with, without int
	for range b.N {
		with += pass(true)
		without += pass(false)
	}
	per := float64(b.N * len(svcs))
	b.ReportMetric(float64(with)/per, "calls/service")
	b.ReportMetric(float64(without)/per, "calls/service-unlisted")
}
