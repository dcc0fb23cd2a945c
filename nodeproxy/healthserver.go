package nodeproxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/component-base/metrics"
	"k8s.io/klog/v2"
)

// HealthServerOptions configures ServiceHealthServers.
type HealthServerOptions struct {
	// NodePortAddresses are the --nodeport-addresses CIDRs: the servers listen on this node's
	// addresses inside them; empty means every address (one wildcard listener).
	NodePortAddresses []netip.Prefix
	// Health is the agent's health (serviceProxyHealthy).
	Health *HealthState
	// Events receives FailedToStartServiceHealthcheck; nil drops them.
	Events EventRecorder
	// Listen opens a listener; default net.Listen. Tests inject failures here.
	Listen func(network, address string) (net.Listener, error)
	// InterfaceAddrs lists this node's addresses; default net.InterfaceAddrs.
	InterfaceAddrs func() ([]net.Addr, error)
}

// ServiceHealthServers runs one HTTP server per served Service on its healthCheckNodePort (per
// bound address), answering any path and method exactly as kube-proxy does. Apply reconciles
// the set of servers with a Desired; it is an Actuator.
type ServiceHealthServers struct {
	opts    HealthServerOptions
	ok, bad metrics.CounterMetric

	mu       sync.Mutex
	services map[types.NamespacedName]*serviceServer
	failed   map[types.NamespacedName]string // last bind error reported as an Event
}

var _ Actuator = (*ServiceHealthServers)(nil)

// NewServiceHealthServers returns servers that listen once Apply is called.
func NewServiceHealthServers(opts HealthServerOptions) *ServiceHealthServers {
	if opts.Listen == nil {
		opts.Listen = net.Listen
	}
	if opts.InterfaceAddrs == nil {
		opts.InterfaceAddrs = net.InterfaceAddrs
	}
	if opts.Health == nil {
		opts.Health = NewHealthState(nil, time.Hour)
	}
	RegisterMetrics()
	return &ServiceHealthServers{
		opts:     opts,
		ok:       serviceProbes.WithLabelValues("200"),
		bad:      serviceProbes.WithLabelValues("503"),
		services: map[types.NamespacedName]*serviceServer{},
		failed:   map[types.NamespacedName]string{},
	}
}

// serviceServer is the servers of one Service.
type serviceServer struct {
	port    int32
	count   atomic.Pointer[endpointCount]
	closed  atomic.Bool
	servers []*http.Server
	// head is the body up to the localEndpoints value: it depends only on the name.
	head []byte
}

// Apply opens servers for new Services, closes them for Services gone or whose port changed,
// and updates the local endpoint counts. A port that cannot be listened on gives a Warning Event
// and a metric, does not stop the other Services, and is retried by the next Apply. Bind
// failures are not errors of the sync: as in kube-proxy, one Service's taken port must not make
// the agent unhealthy for every other Service; so Apply always returns nil.
func (s *ServiceHealthServers) Apply(ctx context.Context, d *Desired) error {
	logger := klog.FromContext(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	want := make(map[types.NamespacedName]int32, len(d.Services))
	for i := range d.Services {
		want[d.Services[i].Service] = d.Services[i].HealthCheckNodePort
	}
	// Close first: the API server may hand a port just released by one Service to another.
	for name, cur := range s.services {
		if port, ok := want[name]; !ok || port != cur.port {
			s.close(name, cur)
			logger.V(2).Info("Health check server stopped", "service", name, "port", cur.port)
		}
	}
	for name := range s.failed {
		if _, ok := want[name]; !ok {
			delete(s.failed, name)
			localEndpoints.DeleteLabelValues(name.Namespace, name.Name)
		}
	}
	var addrs []bindAddr
	for i := range d.Services {
		sd := &d.Services[i]
		localEndpoints.WithLabelValues(sd.Service.Namespace, sd.Service.Name).Set(float64(sd.LocalEndpoints))
		cur := s.services[sd.Service]
		if cur == nil {
			if addrs == nil {
				addrs = s.bindAddresses(logger)
			}
			var err error
			if cur, err = s.open(sd, addrs); err != nil {
				s.reportBindFailure(logger, sd, err)
				continue
			}
			delete(s.failed, sd.Service)
			s.services[sd.Service] = cur
			logger.V(2).Info("Health check server started", "service", sd.Service, "port", sd.HealthCheckNodePort)
		}
		if c := cur.count.Load(); c.n != sd.LocalEndpoints {
			cur.count.Store(newEndpointCount(sd.LocalEndpoints))
		}
	}
	return nil
}

// Close stops every server.
func (s *ServiceHealthServers) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, cur := range s.services {
		s.close(name, cur)
	}
}

// Ports returns the listening health check ports by Service (for tests and diagnostics).
func (s *ServiceHealthServers) Ports() map[types.NamespacedName]int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[types.NamespacedName]int32, len(s.services))
	for name, cur := range s.services {
		out[name] = cur.port
	}
	return out
}

func (s *ServiceHealthServers) close(name types.NamespacedName, cur *serviceServer) {
	cur.closed.Store(true)
	for _, srv := range cur.servers {
		_ = srv.Close()
	}
	delete(s.services, name)
	localEndpoints.DeleteLabelValues(name.Namespace, name.Name)
}

// bindAddresses are where the servers listen: see nodePortBindAddresses.
func (s *ServiceHealthServers) bindAddresses(logger klog.Logger) []bindAddr {
	return nodePortBindAddresses(logger, s.opts.NodePortAddresses, s.opts.InterfaceAddrs)
}

func (s *ServiceHealthServers) open(sd *ServiceDecision, addrs []bindAddr) (*serviceServer, error) {
	if len(addrs) == 0 {
		return nil, errors.New("no node address matches --nodeport-addresses")
	}
	cur := &serviceServer{port: sd.HealthCheckNodePort, head: probeHead(sd.Service)}
	cur.count.Store(newEndpointCount(sd.LocalEndpoints))
	handler := &probeHandler{srv: cur, health: s.opts.Health, ok: s.ok, bad: s.bad}
	var listeners []net.Listener
	for _, a := range addrs {
		l, err := s.opts.Listen(a.network, net.JoinHostPort(a.host, strconv.Itoa(int(sd.HealthCheckNodePort))))
		if err != nil {
			// kube-proxy closes every listener of the Service when one fails; so do we, so the
			// next Apply starts from a clean slate.
			for _, l := range listeners {
				_ = l.Close()
			}
			return nil, err // a *net.OpError: it names the address
		}
		listeners = append(listeners, l)
	}
	for _, l := range listeners {
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 90 * time.Second}
		cur.servers = append(cur.servers, srv)
		go func() { _ = srv.Serve(l) }() // returns http.ErrServerClosed on close
	}
	return cur, nil
}

func (s *ServiceHealthServers) reportBindFailure(logger klog.Logger, sd *ServiceDecision, err error) {
	bindFailures.WithLabelValues(sd.Service.Namespace, sd.Service.Name).Inc()
	msg := err.Error()
	if s.failed[sd.Service] == msg {
		return // already reported; the agent retries on every sync, the Event says it once
	}
	s.failed[sd.Service] = msg
	logger.Error(err, "Failed to start health check server", "service", sd.Service, "port", sd.HealthCheckNodePort)
	if s.opts.Events != nil {
		ref := &v1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: sd.Service.Namespace, Name: sd.Service.Name, UID: sd.UID}
		s.opts.Events.Eventf(ref, v1.EventTypeWarning, ReasonFailedToStartServiceHealthcheck, "node has no available health check port %d: %v", sd.HealthCheckNodePort, err)
	}
}

// probeHandler answers every path and method of one Service's health check port.
type probeHandler struct {
	srv     *serviceServer
	health  *HealthState
	ok, bad metrics.CounterMetric
}

// endpointCount is a local endpoint count with its weight header value, formatted once per
// change rather than once per probe.
type endpointCount struct {
	n      int
	weight []string
}

func newEndpointCount(n int) *endpointCount {
	return &endpointCount{n: n, weight: []string{strconv.Itoa(n)}}
}

// Header values shared by every response; net/http only reads them.
var (
	headerJSON    = []string{"application/json"}
	headerNosniff = []string{"nosniff"}
	closedCount   = newEndpointCount(0)
)

func (h *probeHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c := h.srv.count.Load()
	if h.srv.closed.Load() {
		// kube-proxy answers an empty 200 when a probe races with the server closing; a 503
		// is the safe answer: the Service is gone from this node.
		c = closedCount
	}
	healthy := h.health.Healthy()
	code := probeCode(c.n, healthy)
	hdr := w.Header()
	hdr["Content-Type"] = headerJSON
	hdr["X-Content-Type-Options"] = headerNosniff
	hdr["X-Load-Balancing-Endpoint-Weight"] = c.weight
	w.WriteHeader(code)
	if code == http.StatusOK {
		h.ok.Inc()
	} else {
		h.bad.Inc()
	}
	var buf [256]byte
	_, _ = w.Write(probeBody(buf[:0], h.srv.head, c.n, healthy))
}

// probeHead is the body up to the localEndpoints value. The body is kube-proxy's byte for byte:
// tab-indented JSON, no trailing newline, names quoted as Go's %q (namespace and name are DNS
// labels, so that is also valid JSON).
func probeHead(name types.NamespacedName) []byte {
	b := []byte("{\n\t\"service\": {\n\t\t\"namespace\": ")
	b = strconv.AppendQuote(b, name.Namespace)
	b = append(b, ",\n\t\t\"name\": "...)
	b = strconv.AppendQuote(b, name.Name)
	return append(b, "\n\t},\n\t\"localEndpoints\": "...)
}

func probeBody(buf, head []byte, n int, healthy bool) []byte {
	buf = append(buf, head...)
	buf = strconv.AppendInt(buf, int64(n), 10)
	buf = append(buf, ",\n\t\"serviceProxyHealthy\": "...)
	buf = strconv.AppendBool(buf, healthy)
	return append(buf, "\n}"...)
}
