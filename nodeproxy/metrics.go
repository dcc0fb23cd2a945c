package nodeproxy

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

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
	proxyConnections = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "proxy_connections_total",
		Help:           "NodePort proxy TCP connections accepted and UDP flows created, by Service; updated at every sync.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"namespace", "service"})
	proxyBytes = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "proxy_bytes_total",
		Help:           "Bytes forwarded by the NodePort proxy, by Service and direction (in: client to backend, out: backend to client); a TCP connection counts when a direction finishes; updated at every sync.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"namespace", "service", "direction"})
	proxyDialFailures = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "proxy_dial_failures_total",
		Help:           "Failed dials of the NodePort proxy to a local endpoint, one per attempt, by Service; updated at every sync.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"namespace", "service"})
	proxyNoBackend = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "proxy_no_backend_total",
		Help:           "NodePort connections or UDP packets dropped because no local endpoint was set or every attempt failed, by Service; updated at every sync.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"namespace", "service"})
	proxyBindFailures = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "proxy_bind_failures_total",
		Help:           "NodePorts the NodePort proxy could not listen on, by Service.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"namespace", "service"})
	lbIPErrors = metrics.NewCounter(&metrics.CounterOpts{
		Subsystem:      "cloudlb_nodeproxy",
		Name:           "load_balancer_ip_errors_total",
		Help:           "Syncs that could not make the dummy interface carry exactly the load balancer IPs (--bind-load-balancer-ips).",
		StabilityLevel: metrics.ALPHA,
	})

	registerOnce sync.Once
)

// RegisterMetrics adds the node agent's metrics to the legacy registry; later calls do nothing.
func RegisterMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(serviceProbes, nodeProbes, localEndpoints, bindFailures, syncs, lastSync,
			proxyConnections, proxyBytes, proxyDialFailures, proxyNoBackend, proxyBindFailures, lbIPErrors)
	})
}

// deleteProxyMetrics drops the NodePort proxy series of a Service no longer proxied.
func deleteProxyMetrics(svc types.NamespacedName) {
	ns, name := svc.Namespace, svc.Name
	proxyConnections.DeleteLabelValues(ns, name)
	proxyBytes.DeleteLabelValues(ns, name, "in")
	proxyBytes.DeleteLabelValues(ns, name, "out")
	proxyDialFailures.DeleteLabelValues(ns, name)
	proxyNoBackend.DeleteLabelValues(ns, name)
	proxyBindFailures.DeleteLabelValues(ns, name)
}
