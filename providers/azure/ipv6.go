package azure

import (
	"slices"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// dualStack reports whether the Service asks for both IP families.
func dualStack(svc *v1.Service) bool {
	return slices.Contains(svc.Spec.IPFamilies, v1.IPv4Protocol) && slices.Contains(svc.Spec.IPFamilies, v1.IPv6Protocol)
}

// buildIPv6 is the IPv6 half of a dual-stack Service, made from its IPv4 parts as upstream
// does: the frontend <frontend>-IPv6 (internal: the same subnet, azure-load-balancer-ipv6
// as static address; public: azure-pip-name-ipv6, the public IP holding
// azure-load-balancer-ipv6, or the managed <cluster>-a<uid>[-<prefix>]-IPv6 from
// azure-pip-prefix-id-ipv6), every rule and probe renamed <name>-IPv6 (the shared probe
// stays shared) on the pool <cluster>-IPv6. Internal IPv6 rules cannot float (Azure does
// not float secondary addresses of an internal load balancer): they target the nodePorts.
func buildIPv6(svc *v1.Service, nodes []*v1.Node, az *annotations.AzureConfig, s Settings, x ids, m *Model) (*Family, error) {
	f := &Family{
		Frontend: Frontend{Name: m.Frontend.Name + ipv6Suffix, SubnetID: m.Frontend.SubnetID},
		Pool:     buildPool(nodes, s, x, true),
	}
	if m.Internal {
		if az.LoadBalancerIPv6.IsValid() {
			f.Frontend.PrivateIP = az.LoadBalancerIPv6.String()
		}
	} else {
		f.PublicIP = buildPublicIP(svc, az, s, m.Prefix, true)
		if f.PublicIP.Name != "" {
			f.Frontend.PublicIPID = x.publicIP(f.PublicIP.ResourceGroup, f.PublicIP.Name)
		}
	}
	for _, p := range m.Probes {
		if !p.Shared {
			p.Name = ipv6Name(p.Name, m.Prefix)
		}
		f.Probes = append(f.Probes, p)
	}
	nodePorts := map[int32]int32{}
	for _, sp := range svc.Spec.Ports {
		nodePorts[sp.Port] = sp.NodePort
	}
	for _, r := range m.Rules {
		r.Name = ipv6Name(r.Name, m.Prefix)
		if r.Probe != "" && r.Probe != sharedProbeName {
			r.Probe = ipv6Name(r.Probe, m.Prefix)
		}
		if m.Internal && r.FloatingIP {
			r.FloatingIP = false
			if r.FrontendPort != 0 { // HA ports keep port 0
				if r.BackendPort = nodePorts[r.FrontendPort]; r.BackendPort == 0 {
					return nil, errPortPending
				}
			}
		}
		f.Rules = append(f.Rules, r)
	}
	return f, nil
}
