package nodeproxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/nodeproxy/proxy"
)

// DefaultProxyDialRetries is how many further local endpoints a NodePort connection tries
// after a failed dial: bounded, so a connection to a node whose endpoints all died fails fast.
const DefaultProxyDialRetries = 2

// NodePortProxyOptions configure NodePortProxies.
type NodePortProxyOptions struct {
	// NodePortAddresses are the --nodeport-addresses CIDRs, as for the health check servers.
	NodePortAddresses []netip.Prefix
	// ProxyProtocol is the PROXY protocol version (0 none, 1 or 2) sent to TCP backends.
	ProxyProtocol int
	// DialRetries: see proxy.Options; default DefaultProxyDialRetries, negative means none.
	DialRetries int
	// Events receives FailedToStartNodePortProxy; nil drops them.
	Events EventRecorder
	// InterfaceAddrs lists this node's addresses; default net.InterfaceAddrs.
	InterfaceAddrs func() ([]net.Addr, error)
	// NewProxy builds one listener's proxy; default proxy.New. Tests inject fakes here.
	NewProxy func(proxy.Options) (PortProxy, error)
}

// PortProxy is the part of *proxy.Proxy the actuator drives.
type PortProxy interface {
	Start(ctx context.Context) error
	SetBackends(backends []proxy.Backend)
	Stop() error
	Stats() proxy.Stats
}

var _ PortProxy = (*proxy.Proxy)(nil)

// NodePortProxies runs a proxy.Proxy on each NodePort (TCP and UDP) of every Service in the
// Desired, on each --nodeport-addresses address, forwarding to the decision's local backends
// (ready, else serving-terminating) with the Service's ClientIP affinity. It is an Actuator;
// the agent is given one only with --proxy-nodeports or --service-proxy-name (Decide then
// keeps only the Services labelled for us, which kube-proxy skips, so nobody else serves their
// NodePorts).
type NodePortProxies struct {
	opts NodePortProxyOptions

	mu     sync.Mutex
	ports  map[portKey]*portProxies
	failed map[portKey]string // last bind error reported as an Event
	// counted are the Services with metric series, deleted when the Service is no longer proxied.
	counted map[types.NamespacedName]bool
	ctx     context.Context
	cancel  context.CancelFunc
}

var _ Actuator = (*NodePortProxies)(nil)

// portKey is one NodePort of one Service.
type portKey struct {
	service  types.NamespacedName
	protocol v1.Protocol
	nodePort int32
}

// portProxies are the proxies of one portKey, one per bind address, with what they were
// configured with.
type portProxies struct {
	proxies  []PortProxy
	seen     []proxy.Stats // Stats already added to the metrics, per proxy
	affinity time.Duration // fixed when a proxy starts: a change restarts the proxies
	backends []proxy.Backend
}

// NewNodePortProxies returns an actuator that listens once Apply is called.
func NewNodePortProxies(opts NodePortProxyOptions) (*NodePortProxies, error) {
	if opts.ProxyProtocol < 0 || opts.ProxyProtocol > 2 {
		return nil, fmt.Errorf("PROXY protocol version %d must be 0, 1 or 2", opts.ProxyProtocol)
	}
	if opts.InterfaceAddrs == nil {
		opts.InterfaceAddrs = net.InterfaceAddrs
	}
	if opts.NewProxy == nil {
		opts.NewProxy = func(o proxy.Options) (PortProxy, error) { return proxy.New(o) }
	}
	switch {
	case opts.DialRetries == 0:
		opts.DialRetries = DefaultProxyDialRetries
	case opts.DialRetries < 0:
		opts.DialRetries = 0
	}
	RegisterMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	return &NodePortProxies{
		opts:    opts,
		ports:   map[portKey]*portProxies{},
		failed:  map[portKey]string{},
		counted: map[types.NamespacedName]bool{},
		ctx:     ctx,
		cancel:  cancel,
	}, nil
}

// Apply starts proxies for new NodePorts, updates the backends of the others, and stops those
// of ports gone (or whose affinity changed: a proxy's affinity is fixed when it starts). A
// port that cannot be listened on gives a Warning Event and a metric, does not stop the other
// ports, and is retried by the next Apply; as for the health check servers, that is not an
// error of the sync, so Apply returns nil. The per-Service metrics are brought up to date at
// every Apply, so they lag at most one --sync-period.
func (n *NodePortProxies) Apply(ctx context.Context, d *Desired) error {
	logger := klog.FromContext(ctx)
	n.mu.Lock()
	defer n.mu.Unlock()
	type wanted struct {
		sd       *ServiceDecision
		backends []proxy.Backend
	}
	want := map[portKey]wanted{}
	for i := range d.Services {
		sd := &d.Services[i]
		for j := range sd.Ports {
			pd := &sd.Ports[j]
			if pd.NodePort == 0 || pd.Protocol != v1.ProtocolTCP && pd.Protocol != v1.ProtocolUDP {
				continue // SCTP is not proxied
			}
			key := portKey{service: sd.Service, protocol: pd.Protocol, nodePort: pd.NodePort}
			want[key] = wanted{sd: sd, backends: proxyBackends(sd, pd)}
		}
	}

	// Stop first: the API server may hand a NodePort just released by one Service to another.
	var stopping []*portProxies
	for key, cur := range n.ports {
		if w, ok := want[key]; !ok || w.sd.SessionAffinityTimeout != cur.affinity {
			n.collect(key.service, cur)
			stopping = append(stopping, cur)
			delete(n.ports, key)
			logger.V(2).Info("NodePort proxy stopped", "service", key.service, "protocol", key.protocol, "nodePort", key.nodePort)
		}
	}
	stopAll(stopping)
	for key := range n.failed {
		if _, ok := want[key]; !ok {
			delete(n.failed, key)
		}
	}

	var addrs []bindAddr
	keys := make([]portKey, 0, len(want))
	for key := range want {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, comparePortKeys) // deterministic start order and Events
	for _, key := range keys {
		w := want[key]
		cur := n.ports[key]
		if cur == nil {
			if addrs == nil {
				addrs = nodePortBindAddresses(logger, n.opts.NodePortAddresses, n.opts.InterfaceAddrs)
			}
			var err error
			if cur, err = n.start(key, w.sd, addrs); err != nil {
				n.reportBindFailure(logger, key, w.sd, err)
				continue
			}
			cur.affinity = w.sd.SessionAffinityTimeout
			delete(n.failed, key)
			n.ports[key] = cur
			logger.V(2).Info("NodePort proxy started", "service", key.service, "protocol", key.protocol, "nodePort", key.nodePort, "sessionAffinityTimeout", w.sd.SessionAffinityTimeout)
		}
		if cur.backends == nil || !slices.Equal(cur.backends, w.backends) {
			for _, p := range cur.proxies {
				p.SetBackends(w.backends)
			}
			cur.backends = w.backends
			logger.V(4).Info("NodePort proxy backends", "service", key.service, "nodePort", key.nodePort, "backends", w.backends)
		}
	}

	// Metrics: add what each proxy counted since the last Apply; forget Services gone.
	served := map[types.NamespacedName]bool{}
	for key, cur := range n.ports {
		n.collect(key.service, cur)
		served[key.service] = true
	}
	for key := range n.failed {
		served[key.service] = true
	}
	for svc := range n.counted {
		if !served[svc] {
			deleteProxyMetrics(svc)
			delete(n.counted, svc)
		}
	}
	return nil
}

// Close stops every proxy (open connections get the proxies' grace period).
func (n *NodePortProxies) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	var stopping []*portProxies
	for key, cur := range n.ports {
		n.collect(key.service, cur)
		stopping = append(stopping, cur)
		delete(n.ports, key)
	}
	stopAll(stopping)
	n.cancel()
}

// Ports returns the proxied NodePorts by Service, "TCP/30080" style, sorted (for tests and
// diagnostics).
func (n *NodePortProxies) Ports() map[types.NamespacedName][]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[types.NamespacedName][]string{}
	for key := range n.ports {
		out[key.service] = append(out[key.service], string(key.protocol)+"/"+strconv.Itoa(int(key.nodePort)))
	}
	for _, ports := range out {
		slices.Sort(ports)
	}
	return out
}

// proxyBackends are the decision's backends of one port: ready ones, or, when the decision fell
// back to them, the serving-terminating ones (marked not ready, which the proxy uses only when
// no ready one is set).
func proxyBackends(sd *ServiceDecision, pd *PortDecision) []proxy.Backend {
	out := make([]proxy.Backend, 0, len(pd.Backends))
	for _, b := range pd.Backends {
		out = append(out, proxy.Backend{Addr: netip.AddrPortFrom(b.Addr, uint16(b.Port)), Ready: !sd.Terminating})
	}
	return out
}

// start opens one proxy per bind address; on any failure it stops those it started, so the
// next Apply starts from a clean slate.
func (n *NodePortProxies) start(key portKey, sd *ServiceDecision, addrs []bindAddr) (*portProxies, error) {
	if len(addrs) == 0 {
		return nil, errors.New("no node address matches --nodeport-addresses")
	}
	cur := &portProxies{}
	for _, a := range addrs {
		opts := proxy.Options{
			Protocol:               string(key.protocol),
			ListenAddr:             net.JoinHostPort(listenHost(a), strconv.Itoa(int(key.nodePort))),
			SessionAffinityTimeout: min(sd.SessionAffinityTimeout, proxy.MaxSessionAffinityTimeout),
			DialRetries:            n.opts.DialRetries,
		}
		if key.protocol == v1.ProtocolTCP {
			opts.ProxyProtocol = n.opts.ProxyProtocol // PROXY protocol has no UDP form
		}
		p, err := n.opts.NewProxy(opts)
		if err == nil {
			err = p.Start(n.ctx)
		}
		if err != nil {
			stopAll([]*portProxies{cur})
			return nil, err
		}
		cur.proxies = append(cur.proxies, p)
		cur.seen = append(cur.seen, proxy.Stats{})
	}
	return cur, nil
}

// listenHost is the host part of a proxy's listen address: the proxy listens with network
// "tcp" or "udp", so a family's wildcard is spelled as that family's unspecified address. With
// ::/0 alone in --nodeport-addresses, "::" is a dual-stack socket on Linux and also takes IPv4
// NodePort traffic; the health check servers listen with "tcp6" and do not.
func listenHost(a bindAddr) string {
	switch {
	case a.host != "":
		return a.host
	case a.network == "tcp4":
		return "0.0.0.0"
	case a.network == "tcp6":
		return "::"
	}
	return ""
}

// stopAll stops the proxies concurrently: each lets its open connections finish for its grace
// period, so one at a time would hold the sync for a grace period per port.
func stopAll(all []*portProxies) {
	var wg sync.WaitGroup
	for _, cur := range all {
		for _, p := range cur.proxies {
			wg.Go(func() { _ = p.Stop() })
		}
	}
	wg.Wait()
}

// collect adds to the Service's metrics what cur's proxies counted since the last collect.
func (n *NodePortProxies) collect(svc types.NamespacedName, cur *portProxies) {
	n.counted[svc] = true
	var delta proxy.Stats
	for i, p := range cur.proxies {
		s := p.Stats()
		delta.Connections += s.Connections - cur.seen[i].Connections
		delta.BytesIn += s.BytesIn - cur.seen[i].BytesIn
		delta.BytesOut += s.BytesOut - cur.seen[i].BytesOut
		delta.DialFailures += s.DialFailures - cur.seen[i].DialFailures
		delta.NoBackend += s.NoBackend - cur.seen[i].NoBackend
		cur.seen[i] = s
	}
	ns, name := svc.Namespace, svc.Name
	proxyConnections.WithLabelValues(ns, name).Add(float64(delta.Connections))
	proxyBytes.WithLabelValues(ns, name, "in").Add(float64(delta.BytesIn))
	proxyBytes.WithLabelValues(ns, name, "out").Add(float64(delta.BytesOut))
	proxyDialFailures.WithLabelValues(ns, name).Add(float64(delta.DialFailures))
	proxyNoBackend.WithLabelValues(ns, name).Add(float64(delta.NoBackend))
}

func (n *NodePortProxies) reportBindFailure(logger klog.Logger, key portKey, sd *ServiceDecision, err error) {
	n.counted[key.service] = true
	proxyBindFailures.WithLabelValues(key.service.Namespace, key.service.Name).Inc()
	msg := err.Error()
	if n.failed[key] == msg {
		return // already reported; retried on every sync, the Event says it once
	}
	n.failed[key] = msg
	logger.Error(err, "Failed to start NodePort proxy", "service", key.service, "protocol", key.protocol, "nodePort", key.nodePort)
	if n.opts.Events != nil {
		ref := &v1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: key.service.Namespace, Name: key.service.Name, UID: sd.UID}
		n.opts.Events.Eventf(ref, v1.EventTypeWarning, ReasonFailedToStartNodePortProxy, "node cannot proxy %s NodePort %d: %v", key.protocol, key.nodePort, err)
	}
}

func comparePortKeys(a, b portKey) int {
	return cmp.Or(
		cmp.Compare(a.service.Namespace, b.service.Namespace),
		cmp.Compare(a.service.Name, b.service.Name),
		cmp.Compare(a.protocol, b.protocol),
		cmp.Compare(a.nodePort, b.nodePort),
	)
}
