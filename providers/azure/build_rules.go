package azure

import (
	"slices"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// armProtocol is the rule protocol of a Service port protocol.
func armProtocol(p v1.Protocol) string {
	switch p {
	case v1.ProtocolUDP:
		return "Udp"
	case v1.ProtocolSCTP:
		return "All"
	}
	return "Tcp"
}

func protocolOf(sp v1.ServicePort) v1.Protocol {
	if sp.Protocol == "" {
		return v1.ProtocolTCP
	}
	return sp.Protocol
}

// buildRules makes the load balancing rules and probes, in spec.ports order: one rule per
// port and protocol, or the single HA-ports rule of azure-load-balancer-enable-high-
// availability-ports.
func buildRules(svc *v1.Service, az *annotations.AzureConfig, s Settings, prefix string) ([]Rule, []Probe, error) {
	b := &ruleBuilder{svc: svc, az: az, s: s, prefix: prefix, probes: map[string]Probe{},
		shared: s.SharedProbe != nil && svc.Spec.ExternalTrafficPolicy != v1.ServiceExternalTrafficPolicyLocal}
	var rules []Rule
	var err error
	if az.HAPorts && len(svc.Spec.Ports) > 0 {
		rules, err = b.haPortsRules()
	} else {
		rules, err = b.portRules()
	}
	if err != nil {
		return nil, nil, err
	}
	out := make([]Probe, 0, len(b.order))
	for _, n := range b.order {
		out = append(out, b.probes[n])
	}
	return rules, out, nil
}

// ruleBuilder makes one Service's rules and collects their probes, in the order the rules
// first use them.
type ruleBuilder struct {
	svc    *v1.Service
	az     *annotations.AzureConfig
	s      Settings
	prefix string
	// shared says the rules use the cluster's shared probe (externalTrafficPolicy Cluster
	// with clusterServiceLoadBalancerHealthProbeMode shared).
	shared bool
	probes map[string]Probe
	order  []string
}

// ports are the distinct Service ports, in spec.ports order.
func (b *ruleBuilder) ports() []int32 {
	var ports []int32
	for _, sp := range b.svc.Spec.Ports {
		if !slices.Contains(ports, sp.Port) {
			ports = append(ports, sp.Port)
		}
	}
	return ports
}

// haPortsRules is the one rule of every protocol and port, named after the first port, probed
// by the first port that has a probe.
func (b *ruleBuilder) haPortsRules() ([]Rule, error) {
	first := b.svc.Spec.Ports[0]
	probe := ""
	for _, p := range b.ports() {
		n, err := b.probeFor(b.az.Ports[p], v1.ProtocolTCP)
		if err != nil {
			return nil, err
		}
		if n != "" {
			probe = n
			break
		}
	}
	return []Rule{b.rule(ruleName(b.prefix, b.az.InternalSubnet, protocolOf(first), first.Port), "All", 0, 0, probe)}, nil
}

// portRules is one rule per port and protocol; with floating IP disabled the rules target
// the nodePorts.
func (b *ruleBuilder) portRules() ([]Rule, error) {
	var rules []Rule
	for _, p := range b.ports() {
		pc := b.az.Ports[p]
		if pc.NoLBRule {
			continue
		}
		for _, proto := range pc.Protocols {
			back := pc.Port
			if b.az.DisableFloatingIP {
				if pc.NodePort == 0 {
					return nil, errPortPending
				}
				back = pc.NodePort
			}
			probe, err := b.probeFor(pc, proto)
			if err != nil {
				return nil, err
			}
			rules = append(rules, b.rule(ruleName(b.prefix, b.az.InternalSubnet, proto, pc.Port), armProtocol(proto), pc.Port, back, probe))
		}
	}
	return rules, nil
}

func (b *ruleBuilder) rule(name, proto string, front, back int32, probe string) Rule {
	r := Rule{Name: name, Protocol: proto, FrontendPort: front, BackendPort: back, FloatingIP: !b.az.DisableFloatingIP,
		IdleTimeoutMinutes: b.az.IdleTimeoutMinutes, LoadDistribution: b.az.LoadDistribution, DisableOutboundSNAT: b.s.DisableOutboundSNAT, Probe: probe}
	if proto != "Udp" {
		reset := !b.az.DisableTCPReset
		r.TCPReset = &reset
	}
	return r
}

// probeFor returns the probe name of one rule ("" for none), adding the probe.
func (b *ruleBuilder) probeFor(pc annotations.AzurePortConfig, proto v1.Protocol) (string, error) {
	if pc.NoLBRule || pc.NoProbeRule {
		return "", nil
	}
	if b.shared {
		// Shared by every Cluster Service: fixed settings, or Services would fight over them.
		return b.add(Probe{Name: sharedProbeName, Protocol: "Http", Port: b.s.SharedProbe.Port, RequestPath: b.s.SharedProbe.Path,
			IntervalSeconds: sharedProbeInterval, Threshold: sharedProbeThreshold, Shared: true}), nil
	}
	pr := pc.Probe
	if pr == nil || (!pr.HealthCheckNodePort && proto != v1.ProtocolTCP) {
		return "", nil
	}
	if pr.Port == 0 {
		return "", errPortPending
	}
	name := ruleName(b.prefix, b.az.InternalSubnet, v1.ProtocolTCP, pc.Port)
	if pr.HealthCheckNodePort {
		name = ruleName(b.prefix, b.az.InternalSubnet, v1.ProtocolTCP, pr.Port)
	}
	return b.add(Probe{Name: name, Protocol: pr.Protocol, Port: pr.Port, RequestPath: pr.RequestPath,
		IntervalSeconds: pr.IntervalSeconds, Threshold: pr.NumOfProbe}), nil
}

// add records a probe (the last settings win for a name) and returns its name.
func (b *ruleBuilder) add(p Probe) string {
	if _, ok := b.probes[p.Name]; !ok {
		b.order = append(b.order, p.Name)
	}
	b.probes[p.Name] = p
	return p.Name
}
