package fake

import (
	"slices"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// LoadBalancer is one load balancer of the fake cloud: the desired model built from a Service,
// plus the address the cloud assigned.
type LoadBalancer struct {
	// Name is LoadBalancerName of the Service.
	Name string `json:"name"`
	// ClusterName is the owner tag: only the cluster of this name modifies or deletes it.
	ClusterName string `json:"clusterName"`
	// Service is "namespace/name".
	Service    string `json:"service"`
	ServiceUID string `json:"serviceUID"`
	// Internal load balancers take their address from the internal pool.
	Internal bool `json:"internal,omitempty"`
	// IP is the assigned address; Hostname the name reported when Config.Hostnames is set.
	IP       string `json:"ip,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	Ports    []Port `json:"ports,omitempty"`
	// Nodes are the backend node names, sorted.
	Nodes []string `json:"nodes,omitempty"`
	// SourceRanges are the client CIDRs allowed in.
	SourceRanges          []string `json:"sourceRanges,omitempty"`
	HealthCheckNodePort   int32    `json:"healthCheckNodePort,omitempty"`
	ExternalTrafficPolicy string   `json:"externalTrafficPolicy,omitempty"`
	// LastWriter is the Config.Identity of the process that wrote it last (not part of the spec).
	LastWriter string `json:"lastWriter,omitempty"`
}

// Port is one listener: the Service port forwarded to the node port.
type Port struct {
	Protocol string `json:"protocol"`
	Port     int32  `json:"port"`
	NodePort int32  `json:"nodePort"`
}

// clone returns a copy sharing no slices with lb.
func (lb LoadBalancer) clone() LoadBalancer {
	lb.Ports = slices.Clone(lb.Ports)
	lb.Nodes = slices.Clone(lb.Nodes)
	lb.SourceRanges = slices.Clone(lb.SourceRanges)
	return lb
}

// sameSpec reports whether a and b describe the same load balancer, ignoring the address the
// cloud assigned and nil-versus-empty slices (the state file drops empty ones).
func sameSpec(a, b LoadBalancer) bool {
	return a.Name == b.Name && a.ClusterName == b.ClusterName &&
		a.Service == b.Service && a.ServiceUID == b.ServiceUID &&
		a.Internal == b.Internal &&
		slices.Equal(a.Ports, b.Ports) &&
		slices.Equal(a.Nodes, b.Nodes) &&
		slices.Equal(a.SourceRanges, b.SourceRanges) &&
		a.HealthCheckNodePort == b.HealthCheckNodePort &&
		a.ExternalTrafficPolicy == b.ExternalTrafficPolicy
}

// Build is the desired load balancer of svc for the cluster clusterName (pure). cfg is the
// result of annotations.Parse for svc; nodes are the candidate backends the controller chose.
func Build(svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, clusterName string) LoadBalancer {
	lb := LoadBalancer{
		Name:                  LoadBalancerName(svc),
		ClusterName:           clusterName,
		Service:               svc.Namespace + "/" + svc.Name,
		ServiceUID:            string(svc.UID),
		Internal:              internal(cfg),
		Nodes:                 nodeNames(nodes, cfg.NodeLabels()),
		HealthCheckNodePort:   svc.Spec.HealthCheckNodePort,
		ExternalTrafficPolicy: string(svc.Spec.ExternalTrafficPolicy),
	}
	for _, sp := range svc.Spec.Ports {
		lb.Ports = append(lb.Ports, Port{Protocol: string(sp.Protocol), Port: sp.Port, NodePort: sp.NodePort})
	}
	for _, r := range cfg.Core.SourceRanges {
		lb.SourceRanges = append(lb.SourceRanges, r.String())
	}
	return lb
}

// internal reports whether any cloud section of cfg asks for an internal load balancer: the
// fake cloud serves every cloud's annotations, so any of them selects the internal pool.
func internal(cfg *annotations.Config) bool {
	return cfg.AWS != nil && cfg.AWS.Internal ||
		cfg.Azure != nil && cfg.Azure.Internal ||
		cfg.GCE != nil && cfg.GCE.Internal
}

// nodeNames returns the sorted, distinct names of the nodes matching selector.
func nodeNames(nodes []*v1.Node, selector map[string]string) []string {
	var names []string
	for _, n := range nodes {
		if n != nil && matchesLabels(n.Labels, selector) {
			names = append(names, n.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// matchesLabels reports whether labels carry every key of selector; an empty selector value
// matches any value.
func matchesLabels(labels, selector map[string]string) bool {
	for k, want := range selector {
		got, ok := labels[k]
		if !ok || want != "" && got != want {
			return false
		}
	}
	return true
}

// action is what Ensure must do to turn the observed load balancer into the desired one.
type action int

const (
	actionNone    action = iota // already as desired: no write
	actionCreate                // absent
	actionUpdate                // in-place update, the address is kept
	actionReplace               // internal changed: delete, then create from the other pool
	actionForeign               // our name, another cluster's load balancer: never touched
)

// String names the action for logs.
func (a action) String() string {
	return [...]string{"none", "create", "update", "replace", "foreign"}[a]
}

// diff decides the action for the observed load balancer (nil when absent) (pure).
func diff(observed *LoadBalancer, desired LoadBalancer) action {
	switch {
	case observed == nil:
		return actionCreate
	case observed.ClusterName != desired.ClusterName:
		return actionForeign
	case observed.Internal != desired.Internal:
		return actionReplace
	case !sameSpec(*observed, desired):
		return actionUpdate
	default:
		return actionNone
	}
}
