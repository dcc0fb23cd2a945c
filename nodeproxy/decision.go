package nodeproxy

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Well-known keys the decision reads.
const (
	// TaintToBeDeletedByClusterAutoscaler is put on a node the cluster autoscaler is about to
	// remove; kube-proxy's /healthz then reports the node ineligible (KEP-3836).
	TaintToBeDeletedByClusterAutoscaler = "ToBeDeletedByClusterAutoscaler"
	// LabelServiceProxyName claims a Service for an alternative node proxy; kube-proxy skips
	// Services that carry it.
	LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	// DefaultSessionAffinityTimeout is spec.sessionAffinityConfig.clientIP.timeoutSeconds when unset.
	DefaultSessionAffinityTimeout = 10800 * time.Second
)

// Input is everything the decision looks at. The slices are the cluster-wide caches: the
// decision picks what concerns NodeName itself.
type Input struct {
	// NodeName is this node's name, compared with endpoints[].nodeName.
	NodeName string
	// Node is this node's object; nil while it is unknown (then the node is not eligible).
	Node *v1.Node
	// Services are all Services the agent sees.
	Services []*v1.Service
	// EndpointSlices are all EndpointSlices the agent sees, joined to Services by the
	// kubernetes.io/service-name label.
	EndpointSlices []*discoveryv1.EndpointSlice
	// ServiceProxyName, when set, serves only Services labelled
	// service.kubernetes.io/service-proxy-name=<ServiceProxyName> (kube-proxy leaves those
	// alone); when empty, serves the Services without that label, as kube-proxy does.
	ServiceProxyName string
	// BindLoadBalancerIPs puts the ingress IPs of served Services in Desired.LoadBalancerIPs.
	BindLoadBalancerIPs bool
}

// Desired is what this node should do: the output of Decide, the input of every Actuator.
type Desired struct {
	// Services are the served Services (LoadBalancer, externalTrafficPolicy Local, with a
	// healthCheckNodePort), sorted by namespace and name.
	Services []ServiceDecision
	// NodeEligible is false when the node is being deleted, tainted
	// ToBeDeletedByClusterAutoscaler or unknown; NodeReason says which.
	NodeEligible bool
	NodeReason   string
	// LoadBalancerIPs belong on the dummy interface: sorted, without duplicates; empty unless
	// Input.BindLoadBalancerIPs.
	LoadBalancerIPs []netip.Addr
}

// ServiceDecision is what this node does for one served Service.
type ServiceDecision struct {
	Service types.NamespacedName
	UID     types.UID
	// HealthCheckNodePort is spec.healthCheckNodePort, where the probe server listens.
	HealthCheckNodePort int32
	// LocalEndpoints is the probe's localEndpoints: ready endpoints on this node, counted once
	// per IP (the larger count of the IPv4 and IPv6 slices, so a dual-stack pod counts once).
	// Serving-terminating endpoints are not counted: the load balancer drains the node while
	// connections that still arrive are served.
	LocalEndpoints int
	// Terminating is true when the backends are the serving-terminating fallback.
	Terminating bool
	// Ports are the Service's ports with the backends a NodePort connection goes to.
	Ports []PortDecision
	// SessionAffinityTimeout is the ClientIP affinity timeout; 0 without affinity.
	SessionAffinityTimeout time.Duration
	// LoadBalancerIPs are status.loadBalancer.ingress[].ip.
	LoadBalancerIPs []netip.Addr
	// Reason says, for people, why the node answers what it answers.
	Reason string
}

// PortDecision is one Service port and where its NodePort traffic goes.
type PortDecision struct {
	Name     string
	Protocol v1.Protocol
	Port     int32
	NodePort int32
	// Backends are the local endpoints (ready, else serving-terminating), sorted.
	Backends []Backend
}

// Backend is one endpoint address and target port.
type Backend struct {
	Addr netip.Addr
	Port int32
}

// String is "ip:port".
func (b Backend) String() string { return netip.AddrPortFrom(b.Addr, uint16(b.Port)).String() }

// Decide computes what this node does. It is pure: same input, same output.
func Decide(in Input) Desired {
	d := Desired{}
	d.NodeEligible, d.NodeReason = NodeEligibility(in.Node)
	slicesBySvc := map[types.NamespacedName][]*discoveryv1.EndpointSlice{}
	for _, s := range in.EndpointSlices {
		name := s.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		key := types.NamespacedName{Namespace: s.Namespace, Name: name}
		slicesBySvc[key] = append(slicesBySvc[key], s)
	}
	var lbIPs []netip.Addr
	for _, svc := range in.Services {
		if ok, _ := Serves(svc, in.ServiceProxyName); !ok {
			continue
		}
		key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
		sd := DecideService(svc, slicesBySvc[key], in.NodeName)
		d.Services = append(d.Services, sd)
		if in.BindLoadBalancerIPs {
			lbIPs = append(lbIPs, sd.LoadBalancerIPs...)
		}
	}
	slices.SortFunc(d.Services, func(a, b ServiceDecision) int {
		return strings.Compare(a.Service.String(), b.Service.String())
	})
	slices.SortFunc(lbIPs, netip.Addr.Compare)
	d.LoadBalancerIPs = slices.Compact(lbIPs)
	return d
}

// Serves reports whether this agent serves svc (a health server, and NodePort backends), with
// the reason when it does not. kube-proxy opens a health server for every Service with a
// healthCheckNodePort; the API server allocates one only for LoadBalancer Services with
// externalTrafficPolicy Local, which is what we check, so a stale port never keeps a server.
func Serves(svc *v1.Service, serviceProxyName string) (bool, string) {
	switch {
	case svc.Spec.Type != v1.ServiceTypeLoadBalancer:
		return false, "type is " + string(svc.Spec.Type) + ", not LoadBalancer"
	case svc.Spec.ExternalTrafficPolicy != v1.ServiceExternalTrafficPolicyLocal:
		return false, "externalTrafficPolicy is not Local"
	case svc.Spec.HealthCheckNodePort == 0:
		return false, "no healthCheckNodePort allocated"
	case svc.Labels[LabelServiceProxyName] != serviceProxyName:
		if serviceProxyName == "" {
			return false, "claimed by service proxy " + svc.Labels[LabelServiceProxyName]
		}
		return false, "not labelled " + LabelServiceProxyName + "=" + serviceProxyName
	}
	return true, ""
}

// endpointState is one endpoint's conditions with kube-proxy's defaults applied.
type endpointState struct {
	ready, serving, terminating bool
}

// conditions applies the API's nil semantics: ready and serving default to true (a producer
// that does not set them predates the fields), terminating defaults to false.
func conditions(c discoveryv1.EndpointConditions) endpointState {
	return endpointState{
		ready:       c.Ready == nil || *c.Ready,
		serving:     c.Serving == nil || *c.Serving,
		terminating: c.Terminating != nil && *c.Terminating,
	}
}

// DecideService computes what node does for svc from the Service's EndpointSlices.
func DecideService(svc *v1.Service, eps []*discoveryv1.EndpointSlice, node string) ServiceDecision {
	sd := ServiceDecision{
		Service:             types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name},
		UID:                 svc.UID,
		HealthCheckNodePort: svc.Spec.HealthCheckNodePort,
	}
	if svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP {
		sd.SessionAffinityTimeout = DefaultSessionAffinityTimeout
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			sd.SessionAffinityTimeout = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(ing.IP); err == nil {
			sd.LoadBalancerIPs = append(sd.LoadBalancerIPs, a)
		}
	}

	// One pass over the local endpoints: the ready IPs per family (the probe count), and the
	// ready and serving-terminating backends per Service port name.
	readyIPs := map[bool]map[netip.Addr]bool{} // keyed by "is IPv6"
	ready := map[string][]Backend{}
	fallback := map[string][]Backend{}
	remote := 0
	for _, s := range eps {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue // FQDN slices are not proxied
		}
		for _, ep := range s.Endpoints {
			if len(ep.Addresses) == 0 {
				continue
			}
			if ep.NodeName == nil || *ep.NodeName != node {
				remote++
				continue
			}
			addr, err := netip.ParseAddr(ep.Addresses[0]) // only the first address is used
			if err != nil {
				continue
			}
			st := conditions(ep.Conditions)
			var into map[string][]Backend
			switch {
			case st.ready:
				into = ready
				if readyIPs[addr.Is6()] == nil {
					readyIPs[addr.Is6()] = map[netip.Addr]bool{}
				}
				readyIPs[addr.Is6()][addr] = true
			case st.serving && st.terminating:
				into = fallback
			default:
				continue
			}
			for _, p := range s.Ports {
				if p.Port == nil || *p.Port == 0 {
					continue
				}
				name := ""
				if p.Name != nil {
					name = *p.Name
				}
				into[name] = append(into[name], Backend{Addr: addr, Port: *p.Port})
			}
		}
	}
	sd.LocalEndpoints = max(len(readyIPs[false]), len(readyIPs[true]))
	backends := ready
	if sd.LocalEndpoints == 0 && len(fallback) > 0 {
		backends, sd.Terminating = fallback, true
	}
	for _, sp := range svc.Spec.Ports {
		bs := backends[sp.Name]
		slices.SortFunc(bs, func(a, b Backend) int {
			if c := a.Addr.Compare(b.Addr); c != 0 {
				return c
			}
			return int(a.Port - b.Port)
		})
		sd.Ports = append(sd.Ports, PortDecision{
			Name: sp.Name, Protocol: sp.Protocol, Port: sp.Port, NodePort: sp.NodePort,
			Backends: slices.Compact(bs), // the same endpoint may sit in two slices during an update
		})
	}
	sd.Reason = serviceReason(sd, remote)
	return sd
}

func serviceReason(sd ServiceDecision, remote int) string {
	switch {
	case sd.LocalEndpoints > 0:
		return plural(sd.LocalEndpoints, "ready local endpoint")
	case sd.Terminating:
		return "no ready local endpoint; serving terminating local endpoints while the load balancer drains this node"
	case remote > 0:
		return "no local endpoint (" + plural(remote, "endpoint") + " on other nodes)"
	default:
		return "no endpoint"
	}
}

func plural(n int, what string) string {
	s := strconv.Itoa(n) + " " + what
	if n != 1 {
		s += "s"
	}
	return s
}

// NodeEligibility reports whether load balancers should send traffic to this node, as
// kube-proxy's /healthz does (KEP-3836), with the reason when not.
func NodeEligibility(node *v1.Node) (bool, string) {
	if node == nil {
		return false, "node object not seen yet"
	}
	if node.DeletionTimestamp != nil {
		return false, "node is being deleted"
	}
	for _, t := range node.Spec.Taints {
		if t.Key == TaintToBeDeletedByClusterAutoscaler {
			return false, "node is tainted " + TaintToBeDeletedByClusterAutoscaler
		}
	}
	return true, "node is eligible"
}

// ProbeAnswer is the healthCheckNodePort answer.
type ProbeAnswer struct {
	Code                int
	LocalEndpoints      int
	ServiceProxyHealthy bool
	Reason              string
}

// Probe is kube-proxy's rule: 200 only with a local ready endpoint and a healthy proxy.
func Probe(localEndpoints int, proxyHealthy bool) ProbeAnswer {
	a := ProbeAnswer{Code: probeCode(localEndpoints, proxyHealthy), LocalEndpoints: localEndpoints, ServiceProxyHealthy: proxyHealthy}
	switch {
	case !proxyHealthy:
		a.Reason = "node agent is not healthy (its view of the cluster is stale)"
	case localEndpoints == 0:
		a.Reason = "no ready local endpoint"
	default:
		a.Reason = plural(localEndpoints, "ready local endpoint")
	}
	return a
}

// probeCode is Probe's status code alone: the servers call it on every probe, without
// building the reason.
func probeCode(localEndpoints int, proxyHealthy bool) int {
	if localEndpoints > 0 && proxyHealthy {
		return 200
	}
	return 503
}
