package servicecontroller

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"
)

// newTestController builds a Controller over a fake clientset; the informers are not started.
func newTestController(t *testing.T, opts Options) (*Controller, *fake.Clientset, informers.SharedInformerFactory, *recCloud) {
	t.Helper()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	cloud := newRecCloud(&journal{})
	c, err := New(opts, cloud, client, factory.Core().V1().Services(), factory.Core().V1().Nodes())
	if err != nil {
		t.Fatal(err)
	}
	return c, client, factory, cloud
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	svcs, nodes := factory.Core().V1().Services(), factory.Core().V1().Nodes()
	cloud := newRecCloud(&journal{})
	tests := []struct {
		name    string
		opts    Options
		noCloud bool
	}{
		{name: "no cloud", noCloud: true},
		{name: "negative workers", opts: Options{Workers: -1}},
		{name: "negative drift period", opts: Options{DriftRepairPeriod: -time.Second}},
		{name: "negative node batch max wait", opts: Options{NodeBatchMaxWait: -time.Second}},
		{name: "min delay above max", opts: Options{MinRetryDelay: time.Minute, MaxRetryDelay: time.Second}},
		{name: "unknown annotation cloud", opts: Options{AnnotationCloud: "openstack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var lb cloudprovider.LoadBalancer = cloud
			if tt.noCloud {
				lb = nil
			}
			if _, err := New(tt.opts, lb, client, svcs, nodes); err == nil {
				t.Error("want an error")
			}
		})
	}
	c, err := New(Options{}, cloud, client, svcs, nodes)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Workers: 10, NodeBatchWindow: time.Second, NodeBatchMaxWait: 15 * time.Second, MinRetryDelay: 5 * time.Second, MaxRetryDelay: 5 * time.Minute}
	if c.opts != want {
		t.Errorf("defaults = %+v, want %+v (drift repair stays off at 0)", c.opts, want)
	}
}

func TestServiceUpdateFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		old    *v1.Service
		change func(*v1.Service)
		want   bool
	}{
		{"our finalizer patch", lbService("a"), withFinalizer, false},
		{"our status patch", lbService("a", withFinalizer), withIngress("203.0.113.10"), false},
		{"informer resync", lbService("a", withFinalizer), func(*v1.Service) {}, false},
		{"label change", lbService("a", withFinalizer), func(s *v1.Service) { s.Labels = map[string]string{"x": "y"} }, false},
		{"port change", lbService("a", withFinalizer), func(s *v1.Service) { s.Spec.Ports[0].Port = 81 }, true},
		{"deletion", lbService("a", withFinalizer), deleting, true},
		{"another class changes", lbService("a", withClass("example.com/lb")), func(s *v1.Service) { s.Spec.Ports[0].Port = 81 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, _, _ := newTestController(t, Options{})
			defer c.queue.ShutDown()
			cur := tt.old.DeepCopy()
			tt.change(cur)
			c.onServiceUpdate(tt.old, cur)
			if got := c.queue.Len() == 1; got != tt.want {
				t.Errorf("enqueued = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEnqueueDriftSkipsBackoff(t *testing.T) {
	t.Parallel()
	c, _, factory, _ := newTestController(t, Options{DriftRepairPeriod: time.Minute})
	defer c.queue.ShutDown()
	store := factory.Core().V1().Services().Informer().GetStore()
	for _, s := range []*v1.Service{lbService("ok"), lbService("failing"), lbService("plain", withType(v1.ServiceTypeClusterIP))} {
		if err := store.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	c.queue.AddRateLimited("default/failing") // in backoff: its retry is already scheduled
	now := time.Now()
	c.enqueueDrift(t.Context(), now.Add(-time.Minute), now)
	if got := c.queue.Len(); got != 1 {
		t.Fatalf("queue length = %d, want 1", got)
	}
	if key, _ := c.queue.Get(); key != "default/ok" {
		t.Errorf("enqueued %q, want default/ok", key)
	}
}

// TestControllerLifecycle drives the informer and queue plumbing over a fake clientset:
// create, node churn, drift repair, type change.
func TestControllerLifecycle(t *testing.T) {
	t.Parallel()
	c, client, factory, cloud := newTestController(t, Options{
		Workers: 2, NodeBatchWindow: 20 * time.Millisecond, DriftRepairPeriod: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(t.Context())
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; factory.Shutdown() }()

	services, nodes := client.CoreV1().Services("default"), client.CoreV1().Nodes()
	if _, err := nodes.Create(ctx, node("node-a"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := services.Create(ctx, lbService("web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	get := func() *v1.Service {
		s, err := services.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	poll(t, "finalizer and ingress", func() bool {
		s := get()
		return hasFinalizer(s) && len(s.Status.LoadBalancer.Ingress) == 1 && s.Status.LoadBalancer.Ingress[0].IP == "203.0.113.10"
	})
	poll(t, "the EnsuredLoadBalancer Event", func() bool {
		evs, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(evs.Items, func(e v1.Event) bool {
			return e.Reason == ReasonEnsuredLoadBalancer && e.Source.Component == "service-controller" && e.InvolvedObject.Name == "web"
		})
	})

	for _, n := range []string{"node-b", "node-c"} {
		if _, err := nodes.Create(ctx, node(n), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "the new nodes behind the load balancer", func() bool {
		return slices.Equal(cloud.nodesOf("default/web"), []string{"node-a", "node-b", "node-c"})
	})

	ensures := cloud.count(callEnsure)
	poll(t, "drift repair to re-ensure the Service", func() bool { return cloud.count(callEnsure) > ensures })

	s := get()
	s.Spec.Type = v1.ServiceTypeClusterIP
	if _, err := services.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "cleanup after the type change", func() bool {
		s := get()
		return !hasFinalizer(s) && len(s.Status.LoadBalancer.Ingress) == 0 && cloud.count(callDelete) > 0
	})
}

// Not parallel: it reads global metric values, and parallel tests only start after the
// sequential ones have finished.
func TestMetrics(t *testing.T) {
	RegisterMetrics()
	RegisterMetrics() // idempotent
	errs := reconcileErrors.WithLabelValues(opEnsure, string(classTransient))
	before, _ := testutil.GetCounterMetricValue(errs)
	failedBefore, _ := testutil.GetGaugeMetricValue(servicesByState.WithLabelValues(stateFailed))
	provBefore, _ := testutil.GetGaugeMetricValue(servicesByState.WithLabelValues(stateProvisioned))
	durBefore, _ := testutil.GetHistogramMetricCount(reconcileDuration.WithLabelValues(opEnsure))

	f := newFixture(t, Options{})
	key := f.add(lbService("web"))
	f.cloud.fail(callEnsure, errors.New("boom"))
	_ = f.sync(key)
	after, _ := testutil.GetCounterMetricValue(errs)
	failed, _ := testutil.GetGaugeMetricValue(servicesByState.WithLabelValues(stateFailed))
	if after-before != 1 || failed-failedBefore != 1 {
		t.Errorf("after a transient failure: errors +%v, failed +%v, want +1 each", after-before, failed-failedBefore)
	}
	f.mustSync(key)
	failed, _ = testutil.GetGaugeMetricValue(servicesByState.WithLabelValues(stateFailed))
	prov, _ := testutil.GetGaugeMetricValue(servicesByState.WithLabelValues(stateProvisioned))
	if failed != failedBefore || prov-provBefore != 1 {
		t.Errorf("after success: failed %v (was %v), provisioned +%v, want the Service moved to provisioned", failed, failedBefore, prov-provBefore)
	}
	if dur, _ := testutil.GetHistogramMetricCount(reconcileDuration.WithLabelValues(opEnsure)); dur-durBefore != 2 {
		t.Errorf("%d ensure durations observed, want 2", dur-durBefore)
	}
	svc := f.writer.get(key)
	deleting(svc)
	f.add(svc)
	f.mustSync(key)
	if prov, _ := testutil.GetGaugeMetricValue(servicesByState.WithLabelValues(stateProvisioned)); prov != provBefore {
		t.Errorf("after deletion provisioned = %v, want %v", prov, provBefore)
	}
}

// Not parallel, like TestMetrics: upstream's node-sync metrics count one call per
// UpdateLoadBalancer and one error per failed one, and observe each pass.
func TestUpstreamNodeSyncMetrics(t *testing.T) {
	RegisterMetrics()
	syncs, _ := testutil.GetCounterMetricValue(loadBalancerSyncCount)
	errs, _ := testutil.GetCounterMetricValue(nodeSyncErrorCount)
	passes := histogramCount(t, "service_controller_nodesync_latency_seconds")
	hosts := histogramCount(t, "service_controller_update_loadbalancer_host_latency_seconds")

	f := newFixture(t, Options{})
	svcs := ensureAll(t, f, lbService("web"), lbService("api"))
	f.setNodes(node("node-a"))
	f.cloud.fail(callUpdate, errors.New("throttled"))
	if _, err := f.core.syncNodes(t.Context(), svcs); err != nil {
		t.Fatal(err)
	}
	s, _ := testutil.GetCounterMetricValue(loadBalancerSyncCount)
	e, _ := testutil.GetCounterMetricValue(nodeSyncErrorCount)
	p := histogramCount(t, "service_controller_nodesync_latency_seconds")
	h := histogramCount(t, "service_controller_update_loadbalancer_host_latency_seconds")
	if s-syncs != 2 || e-errs != 1 || p-passes != 1 || h-hosts != 1 {
		t.Errorf("after one pass over 2 Services with 1 failure: syncs +%v, errors +%v, passes +%v, host updates +%v; want +2, +1, +1, +1", s-syncs, e-errs, p-passes, h-hosts)
	}
	for _, name := range []string{"service_controller_loadbalancer_sync_total", "service_controller_nodesync_error_total",
		"service_controller_nodesync_latency_seconds", "service_controller_update_loadbalancer_host_latency_seconds"} {
		if !registered(t, name) {
			t.Errorf("%s is not registered under upstream's name", name)
		}
	}
}

// registered reports whether the legacy registry gathers a metric family called name.
func registered(t *testing.T, name string) bool {
	t.Helper()
	return family(t, name) != nil
}

// histogramCount is the sample count of the unlabelled histogram called name (0 when it has
// not been observed yet).
func histogramCount(t *testing.T, name string) uint64 {
	t.Helper()
	f := family(t, name)
	if f == nil || len(f.GetMetric()) == 0 {
		return 0
	}
	return f.GetMetric()[0].GetHistogram().GetSampleCount()
}

func family(t *testing.T, name string) *dto.MetricFamily {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}
