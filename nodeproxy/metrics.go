package nodeproxy

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// The node agent's metrics, in component-base's legacy registry (served on
// --metrics-bind-address). Like every Prometheus collector they are process-wide; the hot
// per-probe counters are resolved once per server so that a probe costs one atomic add.
var (
	serviceProbes = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "service_health_probes_total",
		Help:           "healthCheckNodePort probes answered, by HTTP status code.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"code"})
	nodeProbes = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "node_health_probes_total",
		Help:           "Node health probes answered, by path (/healthz, /livez) and HTTP status code.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"path", "code"})
	localEndpoints = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "local_endpoints",
		Help:           "Ready local endpoints per served Service, as reported by its health probe.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"namespace", "service"})
	bindFailures = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "health_server_bind_failures_total",
		Help:           "healthCheckNodePort servers that could not listen, by Service.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"namespace", "service"})
	syncs = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "syncs_total",
		Help:           "Agent syncs (decision and actuators), by result (ok, error).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})
	lastSync = metrics.NewGauge(&metrics.GaugeOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "last_successful_sync_timestamp_seconds",
		Help:           "Unix time of the agent's last successful sync.",
		StabilityLevel: metrics.ALPHA,
	})

	registerOnce sync.Once
)

// RegisterMetrics adds the node agent's metrics to the legacy registry; later calls do nothing.
func RegisterMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(serviceProbes, nodeProbes, localEndpoints, bindFailures, syncs, lastSync)
	})
}
