package gce

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// Health check settings of cloud-provider-gcp (gce.go), kept so both controllers agree.
const (
	nodeHealthCheckPort = 10256
	healthCheckPath     = "/healthz"
	hcInterval          = 8
	hcTimeout           = 1
	hcHealthy           = 1
	hcUnhealthy         = 3
	// maxBackendServicePorts is how many ports a backend service forwarding rule may list;
	// above it the rule forwards all ports and the firewall restricts them.
	maxBackendServicePorts = 5
	// nodePoolSubnetLabel marks nodes of a non-default subnet, which cannot join the
	// cluster's instance groups.
	nodePoolSubnetLabel = "cloud.google.com/gke-node-pool-subnet"
)

// healthCheckSourceRanges are the ranges Google's health checkers and passthrough load
// balancers probe from (cloud-provider-gcp's --cloud-provider-gce-lb-src-cidrs default).
var healthCheckSourceRanges = []string{"130.211.0.0/22", "209.85.152.0/22", "209.85.204.0/22", "35.191.0.0/16"}

// Settings are the cluster-wide inputs of Build.
type Settings struct {
	ClusterID string `json:"clusterID"`
	Project   string `json:"project"`
	Region    string `json:"region"`
	// Network and Subnetwork are partial URLs (projects/...).
	Network    string `json:"network"`
	Subnetwork string `json:"subnetwork,omitempty"`
	// NetworkProject is the project of the network (Shared VPC), else Project.
	NetworkProject string `json:"networkProject"`
}

// Input is everything Build reads.
type Input struct {
	Service  *v1.Service
	Nodes    []*v1.Node
	GCE      *annotations.GCEConfig
	Core     annotations.CoreConfig
	Settings Settings
	// NodeTags are the firewall target tags (the cloud config's, or computed from the
	// instances by the caller).
	NodeTags []string
	// RBS builds an external load balancer on a regional backend service
	// (cloud.google.com/l4-rbs: enabled) instead of a target pool.
	RBS bool
}

// errPortPending is returned while the health check NodePort is not allocated yet.
var errPortPending = fmt.Errorf("health check node port not allocated yet")

// Build returns the desired load balancer. It makes no cloud call. Errors are
// providers.UserError except errPortPending.
func Build(in Input) (*Model, error) {
	svc, cfg, s := in.Service, in.GCE, in.Settings
	m := &Model{
		Name: LoadBalancerName(svc), Service: serviceName(svc), ClusterID: s.ClusterID,
		Project: s.Project, Region: s.Region, Scheme: SchemeExternal, Backend: BackendTargetPool,
	}
	if cfg.Internal {
		m.Scheme = SchemeInternal
	}
	if cfg.Internal || in.RBS {
		m.Backend = BackendService
	}
	byProto, err := portsByProtocol(m.Service, svc)
	if err != nil {
		return nil, err
	}
	local := svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal
	if m.HealthCheck, err = buildHealthCheck(m, svc, local); err != nil {
		return nil, err
	}
	m.Address = buildAddress(m, cfg, s)
	targetPool := m.Backend == BackendTargetPool
	if targetPool {
		m.TargetPool = &TargetPool{Name: m.Name, Instances: targetPoolInstances(in.Nodes), HealthCheck: m.HealthCheck.Name, SessionAffinity: cfg.Backend.SessionAffinity}
	} else {
		m.InstanceGroups = buildInstanceGroups(in.Nodes, s)
		m.BackendService = buildBackendService(m, cfg, s, byProto, local)
	}
	for i, proto := range sortedProtocols(byProto) {
		m.ForwardingRules = append(m.ForwardingRules, buildRule(m, cfg, s, proto, byProto[proto], i))
	}
	if cfg.Internal && len(m.ForwardingRules) > 1 && !m.Address.UserOwned {
		m.Address.Purpose = "SHARED_LOADBALANCER_VIP"
	}
	m.Firewalls = buildFirewalls(m, in, byProto, targetPool)
	m.ReplaceKey = replaceKey(in.Core.ReplaceToken, m)
	m.input = &in
	return m, nil
}

// portsByProtocol groups the Service ports by GCE protocol.
func portsByProtocol(service string, svc *v1.Service) (map[string][]int32, error) {
	out := map[string][]int32{}
	for _, sp := range svc.Spec.Ports {
		switch sp.Protocol {
		case "", v1.ProtocolTCP:
			out["TCP"] = append(out["TCP"], sp.Port)
		case v1.ProtocolUDP:
			out["UDP"] = append(out["UDP"], sp.Port)
		default:
			return nil, providers.NewUserError(service, "port %d: protocol %s is not supported by GCE passthrough load balancers (TCP and UDP only)", sp.Port, sp.Protocol)
		}
	}
	if len(out) == 0 {
		return nil, providers.NewUserError(service, "the Service has no ports")
	}
	for p := range out {
		slices.Sort(out[p])
		out[p] = slices.Compact(out[p])
	}
	return out, nil
}

// sortedProtocols puts TCP first: its rule keeps the plain <lb> name.
func sortedProtocols(byProto map[string][]int32) []string {
	var out []string
	for _, p := range []string{"TCP", "UDP"} {
		if len(byProto[p]) > 0 {
			out = append(out, p)
		}
	}
	return out
}

func buildHealthCheck(m *Model, svc *v1.Service, local bool) (HealthCheck, error) {
	hc := HealthCheck{
		Kind: HealthCheckRegional, RequestPath: healthCheckPath, CheckIntervalSec: hcInterval,
		TimeoutSec: hcTimeout, HealthyThreshold: hcHealthy, UnhealthyThreshold: hcUnhealthy,
	}
	if m.Backend == BackendTargetPool {
		hc.Kind = HealthCheckLegacyHTTP
	}
	if local {
		if svc.Spec.HealthCheckNodePort == 0 {
			return HealthCheck{}, fmt.Errorf("service %s: %w", m.Service, errPortPending)
		}
		hc.Name, hc.Port = m.Name, svc.Spec.HealthCheckNodePort
		return hc, nil
	}
	hc.Name, hc.Port, hc.Shared = nodeHealthCheckName(m.ClusterID), nodeHealthCheckPort, true
	return hc, nil
}

func buildAddress(m *Model, cfg *annotations.GCEConfig, s Settings) Address {
	a := Address{Name: m.Name, Type: m.Scheme}
	if cfg.Internal {
		a.Subnetwork = subnetFor(cfg, s)
	} else {
		a.NetworkTier = cfg.Frontend.NetworkTier
	}
	if names := cfg.Frontend.IPAddressNames; len(names) > 0 {
		// The user's reserved address: its IP is resolved when observed.
		a.Name, a.UserOwned = names[0], true
		return a
	}
	if ip := cfg.Frontend.LoadBalancerIP; ip.IsValid() {
		a.IP = ip.String()
	}
	return a
}

// subnetFor is the annotation's subnetwork, else the cluster's.
func subnetFor(cfg *annotations.GCEConfig, s Settings) string {
	if cfg.Frontend.Subnet != "" {
		return "projects/" + s.NetworkProject + "/regions/" + s.Region + "/subnetworks/" + cfg.Frontend.Subnet
	}
	return s.Subnetwork
}

func buildRule(m *Model, cfg *annotations.GCEConfig, s Settings, proto string, ports []int32, i int) ForwardingRule {
	r := ForwardingRule{Name: m.Name, Protocol: proto, Scheme: m.Scheme}
	if i > 0 {
		r.Name = udpRuleName(m.Name)
	}
	if m.Scheme == SchemeExternal {
		r.NetworkTier = cfg.Frontend.NetworkTier
	} else {
		r.Network, r.Subnetwork, r.AllowGlobalAccess = s.Network, m.Address.Subnetwork, cfg.Frontend.GlobalAccess
	}
	if m.Backend == BackendTargetPool {
		r.Target = m.TargetPool.Name
		r.PortRange = fmt.Sprintf("%d-%d", ports[0], ports[len(ports)-1])
		return r
	}
	r.BackendService = m.BackendService.Name
	switch {
	case len(ports) <= maxBackendServicePorts:
		for _, p := range ports {
			r.Ports = append(r.Ports, strconv.Itoa(int(p)))
		}
	case m.Scheme == SchemeInternal:
		r.AllPorts = true
	default:
		r.PortRange = fmt.Sprintf("%d-%d", ports[0], ports[len(ports)-1])
	}
	return r
}

func buildBackendService(m *Model, cfg *annotations.GCEConfig, s Settings, byProto map[string][]int32, local bool) *BackendSvc {
	protos := sortedProtocols(byProto)
	proto := protos[0]
	if len(protos) > 1 {
		proto = "UNSPECIFIED" // one backend service behind a TCP and a UDP rule
	}
	b := &BackendSvc{
		Name: m.Name, Protocol: proto, Scheme: m.Scheme, SessionAffinity: cfg.Backend.SessionAffinity,
		HealthCheck: m.HealthCheck.Name, ConnectionDrainingSec: int32(cfg.Backend.ConnectionDrainingTimeout.Seconds()),
	}
	if m.Scheme == SchemeInternal {
		b.Network = s.Network
	}
	if cfg.Backend.Shared && !local && m.Scheme == SchemeInternal {
		b.Name, b.Shared = sharedBackendServiceName(m.ClusterID, proto, b.SessionAffinity), true
	}
	if cfg.Backend.WeightedLoadBalancing && local {
		b.LocalityLbPolicy = "WEIGHTED_MAGLEV"
	}
	if cfg.Backend.StrongSessionAffinity && m.Scheme == SchemeExternal {
		b.StrongSessionAffinity = true
		b.ConnectionIdleTimeoutSec = int32(cfg.Backend.StrongSessionAffinityIdleTimeout.Seconds())
	}
	for _, g := range m.InstanceGroups {
		b.Backends = append(b.Backends, "projects/"+m.Project+"/zones/"+g.Zone+"/instanceGroups/"+g.Name)
	}
	return b
}

func buildFirewalls(m *Model, in Input, byProto map[string][]int32, targetPool bool) []Firewall {
	var src []string
	for _, p := range in.Core.SourceRanges {
		if p.Addr().Is4() {
			src = append(src, p.String())
		}
	}
	if len(src) == 0 {
		src = []string{netip.MustParsePrefix("0.0.0.0/0").String()}
	}
	slices.Sort(src)
	src = slices.Compact(src)
	tags := slices.Clone(in.NodeTags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	traffic := Firewall{Name: trafficFirewallName(m.Name), Network: in.Settings.Network, SourceRanges: src, TargetTags: tags}
	for _, proto := range sortedProtocols(byProto) {
		traffic.Allowed = append(traffic.Allowed, Allowed{Protocol: strings.ToLower(proto), Ports: portRanges(byProto[proto])})
	}
	hc := Firewall{
		Name:    hcFirewallName(m.Name, m.ClusterID, m.HealthCheck.Shared, targetPool),
		Shared:  m.HealthCheck.Shared,
		Network: in.Settings.Network, SourceRanges: slices.Clone(healthCheckSourceRanges), TargetTags: slices.Clone(tags),
		Allowed: []Allowed{{Protocol: "tcp", Ports: []string{strconv.Itoa(int(m.HealthCheck.Port))}}},
	}
	return []Firewall{traffic, hc}
}

// portRanges merges consecutive ports ("80", "8000-8002"), as upstream does to stay under
// GCE's limit of ports per firewall rule.
func portRanges(ports []int32) []string {
	var out []string
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		if i == j {
			out = append(out, strconv.Itoa(int(ports[i])))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", ports[i], ports[j]))
		}
		i = j + 1
	}
	return out
}

// instanceRef is a node's instance, from its providerID gce://<project>/<zone>/<name>.
type instanceRef struct{ Project, Zone, Name string }

func parseProviderID(id string) (instanceRef, bool) {
	rest, ok := strings.CutPrefix(id, "gce://")
	if !ok {
		return instanceRef{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return instanceRef{}, false
	}
	return instanceRef{parts[0], parts[1], parts[2]}, true
}

func (r instanceRef) url() string {
	return "projects/" + r.Project + "/zones/" + r.Zone + "/instances/" + r.Name
}

// targetPoolInstances are the nodes' instances as partial URLs, sorted.
func targetPoolInstances(nodes []*v1.Node) []string {
	out := []string{}
	for _, n := range nodes {
		if r, ok := parseProviderID(n.Spec.ProviderID); ok {
			out = append(out, r.url())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// buildInstanceGroups splits the nodes of the cluster's subnet by zone.
func buildInstanceGroups(nodes []*v1.Node, s Settings) []InstanceGroup {
	byZone := map[string][]string{}
	for _, n := range nodes {
		if _, other := n.Labels[nodePoolSubnetLabel]; other {
			continue
		}
		if r, ok := parseProviderID(n.Spec.ProviderID); ok {
			byZone[r.Zone] = append(byZone[r.Zone], r.Name)
		}
	}
	out := make([]InstanceGroup, 0, len(byZone))
	for z, names := range byZone {
		slices.Sort(names)
		out = append(out, InstanceGroup{Name: instanceGroupName(s.ClusterID), Zone: z, Network: s.Network, Instances: slices.Compact(names)})
	}
	slices.SortFunc(out, func(a, b InstanceGroup) int { return cmp.Compare(a.Zone, b.Zone) })
	return out
}
