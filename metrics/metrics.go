// Package metrics holds the Prometheus metrics that providers report about their cloud API
// calls, and cloudlb_build_info. They are registered in component-base's legacy registry,
// which the cloud-controller-manager serves on /metrics.
package metrics

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// Results of a cloud API call, as the "result" label.
const (
	ResultOK        = "ok"
	ResultError     = "error"
	ResultThrottled = "throttled"
)

var (
	cloudCalls = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb",
		Name:           "cloud_api_calls_total",
		Help:           "Cloud API calls made by the load-balancer providers, by cloud, operation and result.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"cloud", "operation", "result"})
	cloudLatency = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Subsystem:      "cloudlb",
		Name:           "cloud_api_call_duration_seconds",
		Help:           "Latency of cloud API calls made by the load-balancer providers.",
		Buckets:        metrics.ExponentialBuckets(0.005, 2, 14),
		StabilityLevel: metrics.ALPHA,
	}, []string{"cloud", "operation"})
	registerOnce sync.Once
)

// Register adds the cloud API metrics and cloudlb_build_info to the legacy registry; later
// calls do nothing.
func Register() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(cloudCalls, cloudLatency)
	})
	RegisterBuildInfo()
}
