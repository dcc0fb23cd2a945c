// Package metrics holds the Prometheus metrics that providers report about their cloud API
// calls. They are registered in component-base's legacy registry, which the
// cloud-controller-manager serves on /metrics.
package metrics

import (
	"errors"
	"sync"
	"time"

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

// Register adds the cloud API metrics to the legacy registry; later calls do nothing.
func Register() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(cloudCalls, cloudLatency)
	})
}

// ErrThrottled marks a cloud error as throttling, so it is counted as "throttled".
var ErrThrottled = errors.New("throttled by the cloud API")

// ObserveCloudCall records one cloud API call. Providers call it once per SDK request.
func ObserveCloudCall(cloud, operation string, started time.Time, err error) {
	result := ResultOK
	switch {
	case errors.Is(err, ErrThrottled):
		result = ResultThrottled
	case err != nil:
		result = ResultError
	}
	cloudCalls.WithLabelValues(cloud, operation, result).Inc()
	cloudLatency.WithLabelValues(cloud, operation).Observe(time.Since(started).Seconds())
}
