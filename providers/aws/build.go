package aws

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// Settings are the cluster-wide inputs of Build.
type Settings struct {
	// Cluster is the cluster name of the ownership tags.
	Cluster string
	// ElbSecurityGroup is the cloud config's shared group that replaces the managed one.
	ElbSecurityGroup string
	// NLBManagedSecurityGroups gives each NLB a managed security group (cloud config
	// NLBSecurityGroupMode = Managed); without it NLBs get none unless the Service lists some.
	NLBManagedSecurityGroups bool
	// NodePorts is the cluster's NodePort range (cloud config NodePortRange); the zero value
	// is Kubernetes' default, 30000-32767.
	NodePorts PortRange
	// PerServiceNodeRules says NLBs get no backend group (cloud config
	// NLBBackendSecurityGroup = PerService): each one's own group is let into the nodes.
	PerServiceNodeRules bool
	// DisableSecurityGroupIngress says no node rule is managed (cloud config): an NLB then
	// gets no backend group either.
	DisableSecurityGroupIngress bool
}

// Subnet is one subnet of the VPC, as discovery needs it.
type Subnet struct {
	ID     string            `json:"id"`
	Zone   string            `json:"zone"`
	Public bool              `json:"public"`
	CIDR   string            `json:"cidr,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// Input is everything Build reads. Subnets are the VPC's subnets, resolved by the caller
// (they are needed only for discovery and for subnets named by their Name tag).
type Input struct {
	Service  *v1.Service
	Nodes    []*v1.Node
	AWS      *annotations.AWSConfig
	Core     annotations.CoreConfig
	Settings Settings
	Subnets  []Subnet
}

// Build returns the desired Classic Load Balancer. It makes no cloud call. Errors are
// providers.UserError (the Service asks for something we cannot build) except for a health
// check port that is not allocated yet.
func Build(in Input) (*Model, error) {
	svc, cfg := in.Service, in.AWS
	name := serviceName(svc)
	m := &Model{
		Name:     nameOf(svc, cfg),
		Service:  name,
		Cluster:  in.Settings.Cluster,
		Internal: cfg.Internal,
	}
	if err := buildListeners(m, svc, cfg); err != nil {
		return nil, err
	}
	hc, err := buildHealthCheck(svc, cfg)
	if err != nil {
		return nil, err
	}
	m.HealthCheck = hc
	m.Attributes = Attributes{
		AccessLog: AccessLog{
			Enabled: cfg.AccessLog.Enabled, EmitInterval: int32(cfg.AccessLog.EmitInterval),
			Bucket: cfg.AccessLog.Bucket, Prefix: cfg.AccessLog.Prefix,
		},
		ConnectionDraining: ConnectionDraining{Enabled: cfg.ConnectionDraining.Enabled, Timeout: int32(cfg.ConnectionDraining.Timeout)},
		IdleTimeout:        int32(cfg.IdleTimeout),
		CrossZone:          cfg.CrossZone,
	}.normalize()
	if cfg.ProxyProtocol {
		for _, l := range m.Listeners {
			m.ProxyProtocolPorts = append(m.ProxyProtocolPorts, l.InstancePort)
		}
		slices.Sort(m.ProxyProtocolPorts)
		m.ProxyProtocolPorts = slices.Compact(m.ProxyProtocolPorts)
	}
	if len(cfg.SSL.Certificates) > 0 {
		m.SSLNegotiationPolicy = cfg.SSL.NegotiationPolicy
	}
	if m.Subnets, err = buildSubnets(name, cfg, in.Subnets, in.Settings.Cluster); err != nil {
		return nil, err
	}
	m.Instances = buildInstances(in.Nodes, cfg.TargetNodeLabels)
	m.Tags = map[string]string{}
	maps.Copy(m.Tags, cfg.AdditionalTags)
	m.Tags[tagServiceName] = name
	m.Tags[clusterTag(in.Settings.Cluster)] = tagOwned
	m.Tags[providers.ReplaceKeyTag] = classicReplaceKey(in.Core.ReplaceToken, m.Internal)
	switch {
	case len(cfg.SecurityGroups) > 0:
		m.SecurityGroups = slices.Clone(cfg.SecurityGroups)
	case in.Settings.ElbSecurityGroup != "":
		m.SecurityGroups = []string{in.Settings.ElbSecurityGroup}
	default:
		m.ManagedSecurityGroup = buildSecurityGroup(m, in.Core, cfg.EnableICMPForPathMTUDiscovery)
	}
	for _, g := range cfg.ExtraSecurityGroups {
		if !slices.Contains(m.SecurityGroups, g) {
			m.SecurityGroups = append(m.SecurityGroups, g)
		}
	}
	return m, nil
}

// buildListeners maps each Service port to a listener, with the protocols of aws.md A.1.
func buildListeners(m *Model, svc *v1.Service, cfg *annotations.AWSConfig) error {
	cert := ""
	if len(cfg.SSL.Certificates) > 0 {
		cert = cfg.SSL.Certificates[0]
	}
	backend := cfg.SSL.BackendProtocol
	for _, sp := range svc.Spec.Ports {
		if sp.Protocol != "" && sp.Protocol != v1.ProtocolTCP {
			return providers.NewUserError(m.Service, "port %d: protocol %s is not supported by a Classic Load Balancer (TCP only); use aws-load-balancer-type: nlb for UDP", sp.Port, sp.Protocol)
		}
		if sp.NodePort == 0 {
			// Without a NodePort nothing on the instances answers; upstream skips the port too.
			continue
		}
		l := Listener{Port: sp.Port, InstancePort: sp.NodePort, Protocol: "TCP", InstanceProtocol: "TCP"}
		// cfg.SSL.Ports matches names as written; upstream lower-cases the port name.
		if cert != "" && (cfg.SSL.Ports.Has(sp.Port, sp.Name) || cfg.SSL.Ports.Has(sp.Port, strings.ToLower(sp.Name))) {
			l.SSLCertificateID = cert
			switch backend {
			case "http":
				l.Protocol, l.InstanceProtocol = "HTTPS", "HTTP"
			case "https":
				l.Protocol, l.InstanceProtocol = "HTTPS", "HTTPS"
			case "ssl":
				l.Protocol, l.InstanceProtocol = "SSL", "SSL"
			default:
				l.Protocol, l.InstanceProtocol = "SSL", "TCP"
			}
		} else if backend == "http" {
			l.Protocol, l.InstanceProtocol = "HTTP", "HTTP"
		}
		m.Listeners = append(m.Listeners, l)
	}
	if len(m.Listeners) == 0 {
		return providers.NewUserError(m.Service, "no port with a nodePort: a Classic Load Balancer forwards to NodePorts (set allocateLoadBalancerNodePorts: true)")
	}
	slices.SortFunc(m.Listeners, func(a, b Listener) int { return cmp.Compare(a.Port, b.Port) })
	return nil
}

// errPortPending is returned while the health check's NodePort is not allocated yet.
var errPortPending = fmt.Errorf("health check port not allocated yet")

// buildHealthCheck builds the CLB health check; the annotations already hold the defaults
// for the traffic policy.
func buildHealthCheck(svc *v1.Service, cfg *annotations.AWSConfig) (HealthCheck, error) {
	hc := cfg.HealthCheck
	port := hc.Port
	if port == "traffic-port" {
		// Upstream uses the first Service port's NodePort.
		port = ""
		for _, sp := range svc.Spec.Ports {
			if sp.NodePort > 0 {
				port = strconv.Itoa(int(sp.NodePort))
				break
			}
		}
	}
	if port == "" {
		return HealthCheck{}, fmt.Errorf("service %s: %w", serviceName(svc), errPortPending)
	}
	target := hc.Protocol + ":" + port
	if hc.Protocol == "HTTP" || hc.Protocol == "HTTPS" {
		target += cmp.Or(hc.Path, "/")
	}
	return HealthCheck{
		Target: target, Interval: int32(hc.Interval), Timeout: int32(hc.Timeout),
		HealthyThreshold: int32(hc.HealthyThreshold), UnhealthyThreshold: int32(hc.UnhealthyThreshold),
	}, nil
}

// buildSubnets returns the explicit subnets (IDs, or Name tags resolved in vpc) or the
// discovered ones: one per zone among the subnets tagged for the cluster or untagged, public
// only for internet-facing load balancers, preferring the role tag, then the cluster tag,
// then the smallest ID.
func buildSubnets(service string, cfg *annotations.AWSConfig, vpc []Subnet, cluster string) ([]string, error) {
	var out []string
	if len(cfg.Subnets) > 0 {
		for _, s := range cfg.Subnets {
			if strings.HasPrefix(s, "subnet-") {
				out = append(out, s)
				continue
			}
			i := slices.IndexFunc(vpc, func(v Subnet) bool { return v.Tags["Name"] == s })
			if i < 0 {
				return nil, providers.NewUserError(service, "aws-load-balancer-subnets: no subnet with Name tag %q in the cluster's VPC", s)
			}
			out = append(out, vpc[i].ID)
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	role := "kubernetes.io/role/elb"
	if cfg.Internal {
		role = "kubernetes.io/role/internal-elb"
	}
	rank := func(s Subnet) int {
		r := 0
		if _, ok := s.Tags[role]; ok {
			r += 2
		}
		if _, ok := s.Tags[clusterTag(cluster)]; ok {
			r++
		}
		return r
	}
	best := map[string]Subnet{}
	for _, s := range vpc {
		if !cfg.Internal && !s.Public {
			continue
		}
		if _, ours := s.Tags[clusterTag(cluster)]; !ours && slices.ContainsFunc(slices.Collect(maps.Keys(s.Tags)), func(k string) bool {
			return strings.HasPrefix(k, tagClusterPrefix)
		}) {
			continue // another cluster's subnet
		}
		cur, ok := best[s.Zone]
		if !ok || rank(s) > rank(cur) || rank(s) == rank(cur) && s.ID < cur.ID {
			best[s.Zone] = s
		}
	}
	for _, s := range best {
		out = append(out, s.ID)
	}
	if len(out) == 0 {
		scheme := "internet-facing (public subnets only)"
		if cfg.Internal {
			scheme = "internal"
		}
		return nil, providers.NewUserError(service, "could not find any suitable %s subnet tagged %s or %s; tag subnets or set aws-load-balancer-subnets", scheme, clusterTag(cluster), role)
	}
	slices.Sort(out)
	return out, nil
}

// buildInstances returns the instance IDs of the nodes carrying every label in selector
// (an empty value matches any value).
func buildInstances(nodes []*v1.Node, selector map[string]string) []string {
	out := []string{}
	for _, n := range nodes {
		if !matchLabels(n.Labels, selector) {
			continue
		}
		if id := instanceID(n.Spec.ProviderID); id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func matchLabels(labels, selector map[string]string) bool {
	for k, v := range selector {
		got, ok := labels[k]
		if !ok || v != "" && got != v {
			return false
		}
	}
	return true
}

// instanceID extracts i-xxxx from aws:///zone/i-xxxx (or aws://zone/i-xxxx); "" if none.
func instanceID(providerID string) string {
	if !strings.HasPrefix(providerID, "aws://") {
		return ""
	}
	last := providerID[strings.LastIndex(providerID, "/")+1:]
	if !strings.HasPrefix(last, "i-") {
		return ""
	}
	return last
}

// buildSecurityGroup is the managed group: exactly the listener ports from each source
// range, plus, with icmp (enable-icmp-for-path-mtu-discovery, on by default), the ICMP
// "fragmentation needed" messages path MTU discovery depends on.
func buildSecurityGroup(m *Model, core annotations.CoreConfig, icmp bool) *SecurityGroup {
	sg := &SecurityGroup{
		Name:        securityGroupName(m.Name),
		Description: fmt.Sprintf("Security group for Kubernetes ELB %s (%s)", m.Name, m.Service),
		Tags:        map[string]string{clusterTag(m.Cluster): tagOwned, tagServiceName: m.Service},
	}
	for _, src := range core.SourceRanges {
		cidr := src.String()
		for _, l := range m.Listeners {
			sg.Rules = append(sg.Rules, Rule{Protocol: "tcp", FromPort: l.Port, ToPort: l.Port, CIDR: cidr,
				Description: fmt.Sprintf("cloudlb %s: listener %d", m.Service, l.Port)})
		}
		if !icmp {
			continue
		}
		if src.Addr().Is4() {
			sg.Rules = append(sg.Rules, Rule{Protocol: "icmp", FromPort: 3, ToPort: 4, CIDR: cidr,
				Description: fmt.Sprintf("cloudlb %s: path MTU discovery", m.Service)})
		} else {
			sg.Rules = append(sg.Rules, Rule{Protocol: "icmpv6", FromPort: 2, ToPort: 0, CIDR: cidr,
				Description: fmt.Sprintf("cloudlb %s: path MTU discovery", m.Service)})
		}
	}
	slices.SortFunc(sg.Rules, func(a, b Rule) int { return strings.Compare(a.key(), b.key()) })
	sg.Rules = slices.CompactFunc(sg.Rules, func(a, b Rule) bool { return a.key() == b.key() })
	return sg
}

// classicTargets is what a node change needs of a Classic Load Balancer Service: the model
// of UpdateLoadBalancer's fast path.
type classicTargets struct {
	Name, Service, Cluster string
	// Instances are the load balancer's; RuleInstances those whose groups get the node rule.
	Instances, RuleInstances []string
	// Source is the node rules' source group when the configuration names one (the
	// Service's groups, else the cloud config's ElbSecurityGroup); "" means the managed group
	// the load balancer's tag records.
	Source string
}

// buildClassicTargets returns the fast path's model. It makes no cloud call.
func buildClassicTargets(svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node, settings Settings) *classicTargets {
	t := &classicTargets{Name: nameOf(svc, cfg.AWS), Service: cfg.Service, Cluster: settings.Cluster, Instances: buildInstances(nodes, cfg.AWS.TargetNodeLabels)}
	t.RuleInstances = ruleInstances(cfg.AWS, t.Instances)
	if len(cfg.AWS.SecurityGroups) > 0 {
		t.Source = sourceGroup(cfg.AWS.SecurityGroups)
	} else if settings.ElbSecurityGroup != "" {
		t.Source = settings.ElbSecurityGroup
	}
	return t
}

// source is the group the node rules let in, given the load balancer's tags.
func (t *classicTargets) source(tags map[string]string) ref {
	return known(cmp.Or(t.Source, tags[tagSecurityGroup]))
}
