package azure_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// TestNewServicesWriteTheSharedLBWithoutConflicts creates Services concurrently on one
// Cloud: each new Service's replacement guard reads the shared load balancer before taking
// its lock, and a read another Service's write made stale must be read again under the lock
// rather than sent as a write answered 412 (issue 16: 79 of 159 writes of the shared load
// balancer, each costing a write, a read and polls).
func TestNewServicesWriteTheSharedLBWithoutConflicts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.ensure(service("seed", uid(1), nil))
	e.srv.SetFaults(fakecore.Faults{Latency: 5 * time.Millisecond})
	e.srv.ResetCalls()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := service(fmt.Sprintf("svc-%d", i), uid(100+i), nil)
		wg.Add(1)
		go func(s *v1.Service) {
			defer wg.Done()
			_, err := e.cloud.EnsureLoadBalancer(testCtx(t), cluster, s, e.nodes)
			errs <- err
		}(s)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.srv.Calls()["LoadBalancers.CreateOrUpdate"]; got != n {
		t.Errorf("%d writes of the shared load balancer for %d new Services, want one each (none answered 412): %v", got, n, e.srv.Calls())
	}
	if got := len(frontendNames(e.lb(cluster))); got != n+1 {
		t.Errorf("%d frontends, want %d", got, n+1)
	}
}
