package servicecontroller_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// The benchmarks' scale. Each iteration converges benchServices fresh Services, so one
// iteration takes seconds: `make bench` runs this package with -benchtime=1x.
const (
	benchServices = 1000
	benchNodes    = 3
	benchLatency  = 20 * time.Millisecond
	// benchIPPool holds more addresses than benchServices (the default /24 holds 254).
	benchIPPool      = "100.64.0.0/16"
	benchCreators    = 16 // concurrent clients creating and cleaning up the Services
	benchWaitTimeout = 10 * time.Minute
	heapSampleEvery  = 20 * time.Millisecond
)

// benchOptions are the controller's production defaults (retry delays, node batch window) but
// for the class and the workers; drift repair is off so that only the measured work runs.
func benchOptions(class string, workers int) servicecontroller.Options {
	return servicecontroller.Options{
		ClusterName:       testClusterName,
		LoadBalancerClass: class,
		AnnotationCloud:   annotations.AnyCloud,
		Workers:           workers,
	}
}

// BenchmarkConverge measures a controller starting over benchServices new LoadBalancer
// Services (created beforehand, as after an outage or on a fresh cluster) until every one
// reports its ingress, against the fake cloud with benchLatency per call.
func BenchmarkConverge(b *testing.B) {
	createBenchNodes(b)
	for _, workers := range []int{1, servicecontroller.DefaultWorkers} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var total time.Duration
			var peak uint64
			var reads, writes int
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				env := newBenchEnv(b, benchLatency)
				watch := newConvergeWatch(env.ns, benchServices)
				runtime.GC()
				sampler := startHeapSampler()
				b.StartTimer()

				began := time.Now()
				rc := startController(b, logr.Discard(), benchOptions(env.class, workers), env.cloud, watch.hook)
				watch.wait(b)
				elapsed := time.Since(began)

				b.StopTimer()
				peak = max(peak, sampler.stop())
				total += elapsed
				rc.stop()
				calls := env.cloud.Calls()
				if calls.ByOp[fake.OpCreate] != benchServices {
					b.Fatalf("%d creates for %d Services: %+v", calls.ByOp[fake.OpCreate], benchServices, calls)
				}
				reads += calls.Reads
				writes += calls.Writes
				env.cleanup(b)
			}
			b.ReportMetric(float64(reads)/float64(b.N), "cloud-reads/op")
			b.ReportMetric(float64(writes)/float64(b.N), "cloud-writes/op")
			b.ReportMetric(total.Seconds()/float64(b.N), "s/converge")
			b.ReportMetric(float64(benchServices*b.N)/total.Seconds(), "services/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// BenchmarkResync measures a controller restarted over benchServices converged Services and
// an unchanged cloud (benchLatency per call) until it settles: it must make no cloud write.
func BenchmarkResync(b *testing.B) {
	createBenchNodes(b)
	var reads, writes, apiWrites int
	var total time.Duration
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		env := newBenchEnv(b, 0)
		watch := newConvergeWatch(env.ns, benchServices)
		first := startController(b, logr.Discard(), benchOptions(env.class, 0), env.cloud, watch.hook)
		watch.wait(b)
		first.stop()
		env.cloud.ResetCalls()
		env.cloud.SetLatency(benchLatency)
		restarted := newConvergeWatch(env.ns, benchServices)
		b.StartTimer()

		began := time.Now()
		rc := startController(b, logr.Discard(), benchOptions(env.class, 0), env.cloud, restarted.hook)
		// Settled: every Service ensured once, then a quiet period (timed too, it is part of
		// knowing that the work is done).
		calls, last := waitSettled(b, env.cloud, began, benchServices)

		b.StopTimer()
		total += last.Sub(began)
		reads += calls.Reads
		writes += calls.Writes
		apiWrites += int(restarted.updates.Load())
		rc.stop()
		env.cleanup(b)
		if calls.Writes != 0 || restarted.updates.Load() != 0 {
			b.Fatalf("a resync of %d unchanged Services wrote: cloud %+v, %d Service updates", benchServices, calls, restarted.updates.Load())
		}
	}
	n := float64(b.N)
	b.ReportMetric(total.Seconds()/n, "s/resync")
	b.ReportMetric(float64(reads)/n, "cloud-reads/op")
	b.ReportMetric(float64(writes)/n, "cloud-writes/op")
	b.ReportMetric(float64(apiWrites)/n, "service-writes/op")
}

// benchEnv is one iteration's namespace, class and fake cloud with benchServices Services.
type benchEnv struct {
	cs    kubernetes.Interface
	ns    string
	class string
	cloud *recordingCloud
}

func newBenchEnv(b *testing.B, latency time.Duration) *benchEnv {
	b.Helper()
	cs := newClient(b)
	ns := newNamespace(b, cs)
	env := &benchEnv{cs: cs, ns: ns, class: classFor(b, ns)}
	env.cloud = newRecordingCloud(newFakeCloud(b, fake.Config{IPPool: benchIPPool, Latency: metav1.Duration{Duration: latency}}))
	env.parallel(b, "create", func(ctx context.Context, i int) error {
		_, err := cs.CoreV1().Services(ns).Create(ctx, newService(ns, fmt.Sprintf("svc-%04d", i), env.class, withoutNodePorts()), metav1.CreateOptions{})
		return err
	})
	return env
}

// cleanup removes the Services (finalizers first: no controller runs any more), so the next
// iteration's informers do not carry them.
func (e *benchEnv) cleanup(b *testing.B) {
	b.Helper()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	services := e.cs.CoreV1().Services(e.ns)
	e.parallel(b, "delete", func(ctx context.Context, i int) error {
		name := fmt.Sprintf("svc-%04d", i)
		if _, err := services.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("removing the finalizer: %w", err)
		}
		return services.Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// parallel runs do for every Service index with benchCreators clients.
func (e *benchEnv) parallel(b *testing.B, what string, do func(ctx context.Context, i int) error) {
	b.Helper()
	idx := make(chan int)
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range benchCreators {
		wg.Go(func() {
			for i := range idx {
				if err := do(context.Background(), i); err != nil {
					err = fmt.Errorf("%s Service %d: %w", what, i, err)
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	for i := range benchServices {
		idx <- i
	}
	close(idx)
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
}

// createBenchNodes creates benchNodes Nodes for the benchmark, so that every load balancer has
// backends as in a real cluster.
func createBenchNodes(b *testing.B) {
	b.Helper()
	cs := newClient(b)
	var nodes []*v1.Node
	for i := range benchNodes {
		nodes = append(nodes, newNode(fmt.Sprintf("bench-%d", i), nil))
	}
	createNodes(b, cs, nodes...)
}

// convergeWatch follows the Services of one namespace through the controller's own informer
// (an event handler, no second watch): it closes done once want of them report an ingress and
// counts the updates that changed a Service (informer resync is off, so each one is a write).
type convergeWatch struct {
	ns      string
	want    int
	updates atomic.Int64

	mu    sync.Mutex
	ready map[string]bool
	done  chan struct{}
}

func newConvergeWatch(ns string, want int) *convergeWatch {
	return &convergeWatch{ns: ns, want: want, ready: map[string]bool{}, done: make(chan struct{})}
}

// hook adds the watch's handler to the controller's Service informer.
func (w *convergeWatch) hook(f informers.SharedInformerFactory) {
	_, err := f.Core().V1().Services().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: w.observe,
		UpdateFunc: func(oldObj, curObj any) {
			old, ok1 := oldObj.(*v1.Service)
			cur, ok2 := curObj.(*v1.Service)
			if ok1 && ok2 && cur.Namespace == w.ns && old.ResourceVersion != cur.ResourceVersion {
				w.updates.Add(1)
			}
			w.observe(curObj)
		},
	})
	if err != nil {
		panic(fmt.Sprintf("add event handler: %v", err)) // only fails on a stopped informer
	}
}

func (w *convergeWatch) observe(obj any) {
	svc, ok := obj.(*v1.Service)
	if !ok || svc.Namespace != w.ns {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(svc.Status.LoadBalancer.Ingress) > 0 {
		w.ready[svc.Name] = true
	} else {
		delete(w.ready, svc.Name)
	}
	if len(w.ready) == w.want {
		select {
		case <-w.done:
		default:
			close(w.done)
		}
	}
}

// wait blocks until every Service reported an ingress.
func (w *convergeWatch) wait(b *testing.B) {
	b.Helper()
	select {
	case <-w.done:
	case <-time.After(benchWaitTimeout):
		w.mu.Lock()
		n := len(w.ready)
		w.mu.Unlock()
		b.Fatalf("%d of %d Services converged within %s", n, w.want, benchWaitTimeout)
	}
}

// heapSampler records the peak heap in use, sampled every heapSampleEvery.
type heapSampler struct {
	stopc chan struct{}
	peak  chan uint64
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stopc: make(chan struct{}), peak: make(chan uint64)}
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(heapSampleEvery)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-s.stopc:
				s.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak HeapAlloc in bytes.
func (s *heapSampler) stop() uint64 {
	close(s.stopc)
	return <-s.peak
}
