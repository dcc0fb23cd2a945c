package annotations

import (
	"fmt"
	"net/netip"

	v1 "k8s.io/api/core/v1"
)

// checkSpec reports Service fields that no provider can act on. The apiserver already rejects
// most of these on create; checking them here makes `cloudlb lint` useful offline.
func (p *parser) checkSpec() {
	spec := p.svc.Spec
	if len(spec.Ports) == 0 {
		p.errorf("spec.ports", "", "at least one port", "a LoadBalancer Service needs at least one port")
	}
	seen := map[string]int{}
	for i, sp := range spec.Ports {
		field := fmt.Sprintf("spec.ports[%d]", i)
		if sp.Port < 1 || sp.Port > 65535 {
			p.errorf(field+".port", fmt.Sprint(sp.Port), "1-65535", "port out of range")
		}
		if sp.NodePort < 0 || sp.NodePort > 65535 {
			p.errorf(field+".nodePort", fmt.Sprint(sp.NodePort), "0 (allocate) or 1-65535", "nodePort out of range")
		}
		switch sp.Protocol {
		case "", v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP:
		default:
			p.errorf(field+".protocol", string(sp.Protocol), "TCP, UDP, SCTP", "unknown protocol")
		}
		proto := sp.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		k := fmt.Sprintf("%s/%d", proto, sp.Port)
		if j, dup := seen[k]; dup {
			p.errorf(field+".port", fmt.Sprint(sp.Port), "", "duplicate of spec.ports[%d] (%s)", j, k)
		}
		seen[k] = i
	}
	for i, s := range spec.LoadBalancerSourceRanges {
		if _, err := netip.ParsePrefix(s); err != nil {
			p.errorf(fmt.Sprintf("spec.loadBalancerSourceRanges[%d]", i), s, "a CIDR such as 203.0.113.0/24", "not a CIDR")
		}
	}
	if spec.HealthCheckNodePort < 0 || spec.HealthCheckNodePort > 65535 {
		p.errorf("spec.healthCheckNodePort", fmt.Sprint(spec.HealthCheckNodePort), "1-65535", "out of range")
	}
}
