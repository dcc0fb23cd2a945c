// Package throttling_test measures what a cloud's throttling does to the controller's
// throughput (issue 16): each provider built as the controller manager builds it (its
// registered cloudprovider factory reading a cloud config), against its in-process fake
// cloud answering a fraction of the calls with the cloud's throttling error, with as many
// workers as the controller's default --concurrent-service-syncs ensuring fresh Services.
//
// Run with `go test -run '^$' -bench . -benchtime=1x -timeout 30m ./integration/throttling/`;
// results are in docs/benchmarks.md. The six benchmarks take about 10 minutes (up to 18 with
// a provider that stalls), more than go test's default timeout: under a shorter -timeout (as
// in `make bench`) they skip, saying so. The three RateLimited benchmarks of ratelimit_test.go
// (the controller manager binary under a 10 writes/s cloud limit) take about 7 minutes more.
package throttling_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// minTimeout is the go test -timeout the benchmarks need.
const minTimeout = 30 * time.Minute

func TestMain(m *testing.M) {
	// The providers' audit lines (one per cloud write) would drown the benchmark's output.
	klog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

var (
	services = flag.Int("throttling.services", 0, "Services each iteration ensures; 0: the cloud's default (200 AWS, 50 Azure and GCE)")
	timeout  = flag.Duration("throttling.timeout", 3*time.Minute, "how long an iteration waits for every Service to have an address")
)

// throttleRates are the fault levels compared: none, and the 30% of calls answered
// with the cloud's throttling error.
var throttleRates = []float64{0, 0.3}

// fake is what the benchmark needs of a fake cloud: the fault switch and the counters.
type fake interface {
	SetFaults(fakecore.Faults)
	Tally() fakecore.Tally
	ResetCalls()
}

// env is one fresh fake cloud with its nodes and the provider built over it.
type env struct {
	cloud   cloudprovider.LoadBalancer
	fake    fake
	nodes   []*v1.Node
	service func(i int) *v1.Service
}

// result is one iteration: how long until every Service had an address (or the timeout),
// how many did, and what the fake served meanwhile.
type result struct {
	elapsed   time.Duration
	converged int
	tally     fakecore.Tally
	ensures   int64
}

// benchmarkThrottling runs newEnv's provider at each throttle rate, ensuring n Services
// (unless -throttling.services says otherwise).
func benchmarkThrottling(b *testing.B, n int, newEnv func(b *testing.B) *env) {
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 && d < minTimeout {
			b.Skipf("needs go test -timeout %v or more (each of the six runs may take up to -throttling.timeout=%v); -timeout is %v", minTimeout, *timeout, d)
		}
	}
	if *services > 0 {
		n = *services
	}
	for _, rate := range throttleRates {
		b.Run(fmt.Sprintf("throttle=%g", rate), func(b *testing.B) {
			var total result
			for range b.N {
				b.StopTimer()
				e := newEnv(b)
				e.fake.SetFaults(fakecore.Faults{ThrottleRate: rate})
				e.fake.ResetCalls()
				b.StartTimer()
				r := converge(b, e, n)
				b.StopTimer()
				total.elapsed += r.elapsed
				total.converged += r.converged
				total.ensures += r.ensures
				total.tally.Throttled += r.tally.Throttled
				total.tally.Failed += r.tally.Failed
				total.tally.Reads += r.tally.Reads
				total.tally.Writes += r.tally.Writes
				total.tally.Polls += r.tally.Polls
				if r.converged < n {
					b.Logf("only %d of %d Services had an address after %v", r.converged, n, r.elapsed)
				}
			}
			calls := total.tally.Reads + total.tally.Writes + total.tally.Polls
			secs := total.elapsed.Seconds()
			n := float64(b.N)
			b.ReportMetric(float64(calls)/secs, "calls/s")
			b.ReportMetric(float64(calls-total.tally.Throttled-total.tally.Failed)/secs, "useful-calls/s")
			b.ReportMetric(secs/n, "s-to-converge")
			b.ReportMetric(float64(total.converged)/n, "converged")
			b.ReportMetric(float64(total.tally.Throttled)/n, "throttled")
			b.ReportMetric(float64(total.ensures)/n, "ensures")
			b.ReportMetric(0, "ns/op") // the wall time is s-to-converge
		})
	}
}

// converge ensures the Services from servicecontroller.DefaultWorkers goroutines, through a
// work queue with the controller's per-Service backoff (servicecontroller.DefaultMinRetryDelay
// doubling up to DefaultMaxRetryDelay), until each has an address or the timeout.
func converge(b *testing.B, e *env, n int) result {
	ctx, cancel := context.WithTimeout(b.Context(), *timeout)
	defer cancel()
	q := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[int](
		servicecontroller.DefaultMinRetryDelay, servicecontroller.DefaultMaxRetryDelay))
	svcs := make([]*v1.Service, n)
	for i := range svcs {
		svcs[i] = e.service(i)
		q.Add(i)
	}
	var (
		mu       sync.Mutex
		done     = map[int]bool{}
		ensures  atomic.Int64
		allDone  = make(chan struct{})
		start    = time.Now()
		finished time.Duration
		errs     = map[string]int{}
	)
	go func() {
		<-ctx.Done()
		q.ShutDown()
	}()
	var wg sync.WaitGroup
	for range servicecontroller.DefaultWorkers {
		wg.Go(func() {
			for {
				i, quit := q.Get()
				if quit {
					return
				}
				ensures.Add(1)
				st, err := e.cloud.EnsureLoadBalancer(ctx, "demo", svcs[i], e.nodes)
				if err == nil && (st == nil || len(st.Ingress) == 0) {
					err = fmt.Errorf("no ingress")
				}
				mu.Lock()
				if err != nil {
					errs[err.Error()]++
					if ctx.Err() == nil {
						q.AddRateLimited(i)
					}
				} else {
					q.Forget(i)
					done[i] = true
					if len(done) == len(svcs) {
						finished = time.Since(start)
						close(allDone)
					}
				}
				mu.Unlock()
				q.Done(i)
			}
		})
	}
	select {
	case <-allDone:
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	tally := e.fake.Tally()
	mu.Lock()
	defer mu.Unlock()
	if finished == 0 {
		finished = time.Since(start)
	}
	logged := 0
	for msg, n := range errs {
		if logged++; logged > 5 {
			b.Logf("... and %d other errors", len(errs)-5)
			break
		}
		b.Logf("%d ensures failed: %s", n, msg)
	}
	return result{elapsed: finished, converged: len(done), tally: tally, ensures: ensures.Load()}
}

// service is the i-th Service: one TCP port, a distinct UID and node port.
func service(i int, annotations map[string]string) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("svc-%d", i), Annotations: annotations,
			UID: types.UID(fmt.Sprintf("%08x-0000-4000-8000-000000000000", i))},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: []v1.ServicePort{
			{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: int32(30000 + i%2700)},
		}},
	}
}
