package azure_test

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// benchServices is how many Services the restart resync is measured with: creating them
// through the fake takes about a second each (its long-running operations), so not 1,000;
// the listing grows by one call per 100 public IPs (an ARM page), the syncs make none.
const benchServices = 200

// BenchmarkRestartResync reports the ARM calls per Service of a restart's first pass over
// benchServices converged public Services: one listing, then each Service's EnsureLoadBalancer
// with it. Their NSG rules would pass Azure's 1,000 rules per NSG, so the cluster has no NSG
// here (the listing's NSG GET is one call more, whatever the number of Services).
func BenchmarkRestartResync(b *testing.B) {
	e := newEnv(b, `"securityGroupName": ""`)
	var svcs []*v1.Service
	for i := range benchServices {
		s := service(fmt.Sprintf("svc-%04d", i), uid(10000+i), nil)
		svcs = append(svcs, s)
		e.ensure(s)
	}
	var calls int
	for b.Loop() {
		e.cloud = e.newCloud()
		e.srv.ResetCalls()
		l, err := e.cloud.ListLoadBalancers(testCtx(b), cluster)
		if err != nil {
			b.Fatal(err)
		}
		ctx := providers.WithListing(testCtx(b), l)
		for _, s := range svcs {
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, s, e.nodes); err != nil {
				b.Fatal(err)
			}
		}
		calls = 0
		for _, n := range e.srv.Calls() {
			calls += n
		}
		if w := e.srv.Writes(); w != 0 {
			b.Fatalf("the restart resync wrote %d times", w)
		}
	}
	b.ReportMetric(float64(calls)/benchServices, "calls/service")
	b.ReportMetric(float64(calls), "calls")
}
