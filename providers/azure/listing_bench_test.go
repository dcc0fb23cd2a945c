package azure_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// benchScales are the numbers of Services the restart resync is measured with. Creating them
// through the fake costs a time that grows with the load balancer they share (every PUT
// carries all of it), so 1,000 takes many minutes to set up and is skipped with -short; the
// listing grows by one call per 100 public IPs (an ARM page), the syncs make none.
var benchScales = []int{200, 1000}

// BenchmarkRestartResync reports the ARM calls per Service of a restart's first pass over n
// converged public Services: one listing, then each Service's EnsureLoadBalancer with it.
// Their NSG rules would pass Azure's 1,000 rules per NSG, so the cluster has no NSG here (the
// listing's NSG GET is one call more, whatever the number of Services). ns/service is the
// pass's wall time per Service: a diff that copied the shared load balancer for each Service
// made it grow with n.
func BenchmarkRestartResync(b *testing.B) {
	for _, n := range benchScales {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			if n > 200 && testing.Short() {
				b.Skip("setting up 1,000 Services takes minutes; run without -short")
			}
			benchRestartResync(b, n)
		})
	}
}

func benchRestartResync(b *testing.B, n int) {
	e := newEnv(b, `"securityGroupName": ""`)
	var svcs []*v1.Service
	for i := range n {
		s := service(fmt.Sprintf("svc-%04d", i), uid(10000+i), nil)
		svcs = append(svcs, s)
		e.ensure(s)
	}
	// The pass makes no call but the listing's, yet a slow pass must not end on testCtx's
	// 30 seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var calls, writes int
	for b.Loop() {
		e.cloud = e.newCloud()
		e.srv.ResetCalls()
		l, err := e.cloud.ListLoadBalancers(ctx, cluster)
		if err != nil {
			b.Fatal(err)
		}
		lctx := providers.WithListing(ctx, l)
		for _, s := range svcs {
			if _, err := e.cloud.EnsureLoadBalancer(lctx, cluster, s, e.nodes); err != nil {
				b.Fatal(err)
			}
		}
		calls = 0
		for _, c := range e.srv.Calls() {
			calls += c
		}
		if writes = e.srv.Writes(); writes != 0 {
			b.Fatalf("the restart resync wrote %d times", writes)
		}
	}
	b.ReportMetric(float64(calls)/float64(n), "calls/service")
	b.ReportMetric(float64(calls), "calls")
	b.ReportMetric(float64(writes), "writes")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/service")
}
