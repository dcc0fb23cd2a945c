package gce

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Load balancing schemes and backend kinds.
const (
	SchemeExternal = "EXTERNAL"
	SchemeInternal = "INTERNAL"

	// BackendTargetPool is the legacy external Network Load Balancer (the default).
	BackendTargetPool = "targetPool"
	// BackendService is a regional backend service: internal load balancers, and external
	// ones with cloud.google.com/l4-rbs.
	BackendService = "backendService"
)

// Health check kinds.
const (
	// HealthCheckLegacyHTTP is a global httpHealthChecks resource: target pools accept only
	// those.
	HealthCheckLegacyHTTP = "httpHealthCheck"
	// HealthCheckRegional is a regionHealthChecks resource of type HTTP, used by regional
	// backend services.
	HealthCheckRegional = "regionHealthCheck"
	// HealthCheckGlobal is a global healthChecks resource of type HTTP: cloud-provider-gcp's
	// internal load balancers use those, and cloudlb keeps them on the backend services it
	// takes over (adopt.go), so the health check never changes under upstream's feet.
	HealthCheckGlobal = "healthCheck"
)

// Model is the desired GCE load balancer of one Service. It is plain data and marshals to
// stable JSON (slices are sorted by Build).
type Model struct {
	// Name is "a" + the Service UID without dashes, cut to 32.
	Name string `json:"name"`
	// Service is "namespace/name".
	Service string `json:"service"`
	// ClusterID names the shared resources and marks ownership.
	ClusterID string `json:"clusterID"`
	Project   string `json:"project"`
	Region    string `json:"region"`
	// Scheme is EXTERNAL or INTERNAL.
	Scheme string `json:"scheme"`
	// Backend is BackendTargetPool or BackendService.
	Backend string  `json:"backend"`
	Address Address `json:"address"`
	// ForwardingRules are one per protocol: <name> first, <name>-udp when the Service mixes
	// TCP and UDP.
	ForwardingRules []ForwardingRule `json:"forwardingRules"`
	TargetPool      *TargetPool      `json:"targetPool,omitempty"`
	BackendService  *BackendSvc      `json:"backendService,omitempty"`
	HealthCheck     HealthCheck      `json:"healthCheck"`
	// Firewalls are the traffic firewall then the health-check firewall.
	Firewalls []Firewall `json:"firewalls"`
	// InstanceGroups are the cluster's shared groups, one per zone with nodes, sorted by zone.
	InstanceGroups []InstanceGroup `json:"instanceGroups,omitempty"`
	// ReplaceKey is the Service's replacement key (guard.go), recorded in the forwarding
	// rule label providers.ReplaceKeyTag.
	ReplaceKey string `json:"replaceKey,omitempty"`

	// specHash, when set, is what SpecHash returns: the hash of the model Build made, kept
	// by a model adapted to what the cloud holds (adopt.go, guard.go) so the spec label
	// still recognises the unchanged Service.
	specHash string
	// input is what Build read, for the guard's rebuild; nil for models made elsewhere.
	input *Input
}

// Address is the regional address the forwarding rules use.
type Address struct {
	// Name is the address resource: <lb> when cloudlb reserves it, the user's name when the
	// Service names a reserved address.
	Name string `json:"name,omitempty"`
	// IP is the requested IP; "" lets GCE allocate one.
	IP string `json:"ip,omitempty"`
	// Type is EXTERNAL or INTERNAL.
	Type        string `json:"type"`
	NetworkTier string `json:"networkTier,omitempty"`
	Subnetwork  string `json:"subnetwork,omitempty"`
	// Purpose is SHARED_LOADBALANCER_VIP when an internal address serves two rules (TCP and
	// UDP); "" leaves GCE's default.
	Purpose string `json:"purpose,omitempty"`
	// UserOwned addresses are used, never created, changed or released.
	UserOwned bool `json:"userOwned,omitempty"`
}

// ForwardingRule is one regional forwarding rule; its IP is the Address's.
type ForwardingRule struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	// PortRange is "min-max" (target pool rules); Ports the exact ports (backend service
	// rules, at most 5); AllPorts every port.
	PortRange string   `json:"portRange,omitempty"`
	Ports     []string `json:"ports,omitempty"`
	AllPorts  bool     `json:"allPorts,omitempty"`
	// Target is the target pool name; BackendService the backend service name.
	Target            string `json:"target,omitempty"`
	BackendService    string `json:"backendService,omitempty"`
	Scheme            string `json:"scheme"`
	NetworkTier       string `json:"networkTier,omitempty"`
	Network           string `json:"network,omitempty"`
	Subnetwork        string `json:"subnetwork,omitempty"`
	AllowGlobalAccess bool   `json:"allowGlobalAccess,omitempty"`
}

// TargetPool is the external load balancer's pool of instances.
type TargetPool struct {
	Name string `json:"name"`
	// Instances are "zones/<zone>/instances/<name>", sorted.
	Instances []string `json:"instances"`
	// HealthCheck is the legacy HTTP health check's name.
	HealthCheck     string `json:"healthCheck"`
	SessionAffinity string `json:"sessionAffinity"`
}

// BackendSvc is a regional backend service.
type BackendSvc struct {
	Name string `json:"name"`
	// Shared backend services serve several internal Services (backend-share annotation).
	Shared          bool   `json:"shared,omitempty"`
	Protocol        string `json:"protocol"`
	Scheme          string `json:"scheme"`
	SessionAffinity string `json:"sessionAffinity"`
	HealthCheck     string `json:"healthCheck"`
	// HealthCheckGlobal says HealthCheck is a global health check (HealthCheckGlobal), not
	// a regional one.
	HealthCheckGlobal bool   `json:"healthCheckGlobal,omitempty"`
	Network           string `json:"network,omitempty"`
	// Backends are the instance groups, "zones/<zone>/instanceGroups/<name>", sorted.
	Backends                 []string `json:"backends"`
	ConnectionDrainingSec    int32    `json:"connectionDrainingSec"`
	LocalityLbPolicy         string   `json:"localityLbPolicy,omitempty"`
	StrongSessionAffinity    bool     `json:"strongSessionAffinity,omitempty"`
	ConnectionIdleTimeoutSec int32    `json:"connectionIdleTimeoutSec,omitempty"`
}

// HealthCheck is the HTTP health check the target pool or backend service uses.
type HealthCheck struct {
	Name string `json:"name"`
	// Kind is HealthCheckLegacyHTTP or HealthCheckRegional.
	Kind string `json:"kind"`
	// Shared is the cluster's node health check (externalTrafficPolicy Cluster).
	Shared             bool   `json:"shared,omitempty"`
	Port               int32  `json:"port"`
	RequestPath        string `json:"requestPath"`
	CheckIntervalSec   int32  `json:"checkIntervalSec"`
	TimeoutSec         int32  `json:"timeoutSec"`
	HealthyThreshold   int32  `json:"healthyThreshold"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold"`
}

// Firewall is one ingress allow rule towards the nodes.
type Firewall struct {
	Name string `json:"name"`
	// Shared is the cluster's node health-check firewall.
	Shared       bool      `json:"shared,omitempty"`
	Network      string    `json:"network"`
	SourceRanges []string  `json:"sourceRanges"`
	TargetTags   []string  `json:"targetTags"`
	Allowed      []Allowed `json:"allowed"`
	// DestinationRanges limit a per-Service firewall to the load balancer's IP (as upstream
	// does), so opening the Service ports does not open them on the nodes' own addresses.
	// Diff fills them in: the IP is known only once the address is reserved.
	DestinationRanges []string `json:"destinationRanges,omitempty"`
}

// Allowed is one protocol and its ports (single ports or "a-b" ranges).
type Allowed struct {
	Protocol string   `json:"protocol"`
	Ports    []string `json:"ports,omitempty"`
}

// InstanceGroup is the cluster's unmanaged instance group in one zone.
type InstanceGroup struct {
	Name    string `json:"name"`
	Zone    string `json:"zone"`
	Network string `json:"network,omitempty"`
	// Instances are instance names, sorted.
	Instances []string `json:"instances"`
}

// SpecHash summarises everything but instance membership (which node churn changes and
// UpdateLoadBalancer repairs on its own). It is stored in the forwarding rule's labels after
// every other write succeeded, so an unchanged Service is recognised with one read.
func (m *Model) SpecHash() string {
	if m.specHash != "" {
		return m.specHash
	}
	c := *m
	if m.TargetPool != nil {
		tp := *m.TargetPool
		tp.Instances = nil
		c.TargetPool = &tp
	}
	c.InstanceGroups = nil
	zones := make([]string, 0, len(m.InstanceGroups))
	for _, g := range m.InstanceGroups {
		zones = append(zones, g.Zone)
	}
	b, _ := json.Marshal(struct {
		M     Model    `json:"m"`
		Zones []string `json:"z"`
	}{c, zones})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:10])
}

// MembershipHash summarises instance membership (target pool instances, instance groups).
func (m *Model) MembershipHash() string {
	var v any = m.InstanceGroups
	if m.TargetPool != nil {
		v = m.TargetPool.Instances
	}
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:10])
}
