package servicecontroller

import (
	"sync"
	"time"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	// The standard workqueue metrics (depth, adds, latency, retries, ...) for the "service"
	// queue, registered in legacyregistry when the first named queue is built.
	_ "k8s.io/component-base/metrics/prometheus/workqueue"
)

const (
	metricsNamespace = "cloudlb"
	metricsSubsystem = "service_controller"
)

var (
	reconcileDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "reconcile_duration_seconds",
		Help:      "Duration of one load-balancer reconcile of one Service, by operation (ensure, update, delete), cloud calls and API writes included.",
		// 10 ms to about 5.5 min: a no-op ensure against a fast cloud up to a slow cloud create.
		Buckets:        metrics.ExponentialBuckets(0.01, 2, 16),
		StabilityLevel: metrics.ALPHA,
	}, []string{"operation"})
	reconcileErrors = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      metricsNamespace,
		Subsystem:      metricsSubsystem,
		Name:           "reconcile_errors_total",
		Help:           "Failed load-balancer reconciles, by operation (ensure, update, delete) and error class (user, wait, transient).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"operation", "class"})
	servicesByState = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace:      metricsNamespace,
		Subsystem:      metricsSubsystem,
		Name:           "services",
		Help:           "LoadBalancer Services known to the controller, by state: provisioned, pending (not provisioned yet, or waiting on the cloud), failed (transient error, retrying), invalid (needs a change by its author).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"state"})
	registerOnce sync.Once
)

// The upstream service controller's metrics (k8s.io/cloud-provider controllers/service),
// with its names, types and buckets, so that dashboards and alerts built on them keep
// working after the switch. Upstream registers them without a namespace.
var (
	// upstreamHostBuckets are upstream's: 1 s to 16384 s.
	upstreamHostBuckets = metrics.ExponentialBuckets(1, 2, 15)

	loadBalancerSyncCount = metrics.NewCounter(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "loadbalancer_sync_total",
		Help:           "A metric counting the amount of times any load balancer has been configured, as an effect of service/node changes on the cluster (upstream's name: one per node-sync UpdateLoadBalancer call).",
		StabilityLevel: metrics.ALPHA,
	})
	nodeSyncErrorCount = metrics.NewCounter(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "nodesync_error_total",
		Help:           "A metric counting the amount of times any load balancer has been configured and errored, as an effect of node changes on the cluster (upstream's name: one per failed node-sync UpdateLoadBalancer call).",
		StabilityLevel: metrics.ALPHA,
	})
	nodeSyncLatency = metrics.NewHistogram(&metrics.HistogramOpts{
		Subsystem:      metricsSubsystem,
		Name:           "nodesync_latency_seconds",
		Help:           "A metric measuring the latency for nodesync which updates loadbalancer hosts on cluster node updates (upstream's name: one node pass, listing included).",
		Buckets:        upstreamHostBuckets,
		StabilityLevel: metrics.ALPHA,
	})
	updateLoadBalancerHostLatency = metrics.NewHistogram(&metrics.HistogramOpts{
		Subsystem:      metricsSubsystem,
		Name:           "update_loadbalancer_host_latency_seconds",
		Help:           "A metric measuring the latency for updating each load balancer hosts (upstream's name: the UpdateLoadBalancer calls of one node pass).",
		Buckets:        upstreamHostBuckets,
		StabilityLevel: metrics.ALPHA,
	})
)

// RegisterMetrics registers the controller metrics in component-base's legacyregistry, which
// the controller manager serves on /metrics; later calls do nothing.
func RegisterMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(reconcileDuration, reconcileErrors, servicesByState,
			loadBalancerSyncCount, nodeSyncErrorCount, nodeSyncLatency, updateLoadBalancerHostLatency)
	})
}

// observe records the duration and, for a failure, the error class of one operation.
func observe(op string, start time.Time, err error) {
	reconcileDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if class := classify(err); class != classNone {
		reconcileErrors.WithLabelValues(op, string(class)).Inc()
	}
}
