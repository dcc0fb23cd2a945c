package metrics

import "time"

// ObserveCloudResult records one cloud API call that took d and ended with result (ResultOK,
// ResultError or ResultThrottled). Providers report through providers/cloudapi, which
// classifies each cloud's answers.
func ObserveCloudResult(cloud, operation, result string, d time.Duration) {
	cloudCalls.WithLabelValues(cloud, operation, result).Inc()
	cloudLatency.WithLabelValues(cloud, operation).Observe(d.Seconds())
}
