package azure_test

import (
	"crypto/md5" //nolint:gosec // upstream's rule names are md5 hashes; reproduced, not used for security
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// Fixtures: the objects the upstream cloud-provider-azure (kubernetes-sigs/cloud-provider-azure,
// pkg/provider, read at HEAD of the snapshot in /work/shared/reference/azure.md) leaves for
// public Services with externalTrafficPolicy Cluster in its default configuration (Standard
// SKU, loadBalancerBackendPoolConfigurationType nodeIPConfiguration, probe mode
// servicenodeport), written through the SDK into fakeazure as upstream would write them.

// upstreamSvc is one Service upstream serves from the public load balancer <cluster>.
type upstreamSvc struct {
	svc *v1.Service
	// sources are the NSG rule's sources (Internet without loadBalancerSourceRanges).
	sources []string
}

// upstreamNICs stands for the scale set VMs' NIC IP configurations upstream's
// EnsureHostsInPool (azure_vmss.go) put in the pool; the fake has no NIC resource.
func upstreamNICs(nodes []*v1.Node) []fakeazure.NICBackend {
	var out []fakeazure.NICBackend
	for i, n := range nodes {
		out = append(out, fakeazure.NICBackend{
			IP: n.Status.Addresses[0].Address,
			IPConfigurationID: fmt.Sprintf("/subscriptions/%s/resourceGroups/MC_%s/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-vmss/virtualMachines/%d/networkInterfaces/aks-nodepool1-vmss/ipConfigurations/ipconfig1",
				sub, rg, i),
		})
	}
	return out
}

// upstreamPIP is the managed public IP upstream creates for svc: named <cluster>-a<uid>
// (azure_standard.go getPublicIPName), Standard, Static, tagged k8s-azure-service=<ns>/<name>
// and k8s-azure-cluster-name=<cluster> (azure_loadbalancer.go ensurePublicIPExists).
func upstreamPIP(svc *v1.Service) (string, armnetwork.PublicIPAddress) {
	return cluster + "-" + azure.ServicePrefix(svc), armnetwork.PublicIPAddress{
		Location: to.Ptr("westeurope"),
		SKU:      &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard), Tier: to.Ptr(armnetwork.PublicIPAddressSKUTierRegional)},
		Tags:     map[string]*string{"k8s-azure-service": to.Ptr(svc.Namespace + "/" + svc.Name), "k8s-azure-cluster-name": to.Ptr(cluster)},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{
			PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic),
			PublicIPAddressVersion:   to.Ptr(armnetwork.IPVersionIPv4),
		},
	}
}

// upstreamParts are svc's frontend, probes and rules on lb as upstream writes them:
// frontend a<uid> (cloudprovider.DefaultLoadBalancerName via GetLoadBalancerName); per port a
// probe and a rule named a<uid>-<PROTO>-<port> (getLoadBalancerRuleName), the probe Tcp on the
// nodePort, interval 5, probeThreshold 2 (azure_loadbalancer_healthprobe.go defaults), the rule
// with floating IP, idle timeout 4, TCP reset on (Standard SKU), loadDistribution Default, on
// the pool <pool> (getBackendPoolNames: the cluster name).
func upstreamParts(svc *v1.Service, lbID, pipID, pool string) (*armnetwork.FrontendIPConfiguration, []*armnetwork.Probe, []*armnetwork.LoadBalancingRule) {
	p := azure.ServicePrefix(svc)
	f := &armnetwork.FrontendIPConfiguration{Name: to.Ptr(p), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{
		PublicIPAddress: &armnetwork.PublicIPAddress{ID: to.Ptr(pipID)}}}
	var probes []*armnetwork.Probe
	var rules []*armnetwork.LoadBalancingRule
	for _, sp := range svc.Spec.Ports {
		name := fmt.Sprintf("%s-%s-%d", p, sp.Protocol, sp.Port)
		probes = append(probes, &armnetwork.Probe{Name: to.Ptr(name), Properties: &armnetwork.ProbePropertiesFormat{
			Protocol: to.Ptr(armnetwork.ProbeProtocolTCP), Port: to.Ptr(sp.NodePort),
			IntervalInSeconds: to.Ptr[int32](5), ProbeThreshold: to.Ptr[int32](2)}})
		rules = append(rules, &armnetwork.LoadBalancingRule{Name: to.Ptr(name), Properties: &armnetwork.LoadBalancingRulePropertiesFormat{
			Protocol: to.Ptr(armnetwork.TransportProtocolTCP), FrontendPort: to.Ptr(sp.Port), BackendPort: to.Ptr(sp.Port),
			EnableFloatingIP: to.Ptr(true), IdleTimeoutInMinutes: to.Ptr[int32](4), EnableTCPReset: to.Ptr(true),
			LoadDistribution: to.Ptr(armnetwork.LoadDistributionDefault), DisableOutboundSnat: to.Ptr(false),
			FrontendIPConfiguration: &armnetwork.SubResource{ID: to.Ptr(lbID + "/frontendIPConfigurations/" + p)},
			BackendAddressPool:      &armnetwork.SubResource{ID: to.Ptr(lbID + "/backendAddressPools/" + pool)},
			Probe:                   &armnetwork.SubResource{ID: to.Ptr(lbID + "/probes/" + name)},
		}})
	}
	return f, probes, rules
}

// upstreamLB is the public load balancer <cluster> upstream builds for svcs: no tags
// (getServiceLoadBalancer makes {Name, Location, SKU}; tags only from cloud config tags),
// Standard SKU, the NIC-based pool <cluster> with no loadBalancerBackendAddresses.
func upstreamLB(svcs []upstreamSvc, pipIDs map[string]string, lbID string) armnetwork.LoadBalancer {
	lb := armnetwork.LoadBalancer{
		Location: to.Ptr("westeurope"),
		SKU:      &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard), Tier: to.Ptr(armnetwork.LoadBalancerSKUTierRegional)},
		Properties: &armnetwork.LoadBalancerPropertiesFormat{
			BackendAddressPools: []*armnetwork.BackendAddressPool{{Name: to.Ptr(cluster), Properties: &armnetwork.BackendAddressPoolPropertiesFormat{}}},
		},
	}
	for _, u := range svcs {
		f, probes, rules := upstreamParts(u.svc, lbID, pipIDs[u.svc.Name], cluster)
		p := lb.Properties
		p.FrontendIPConfigurations = append(p.FrontendIPConfigurations, f)
		p.Probes = append(p.Probes, probes...)
		p.LoadBalancingRules = append(p.LoadBalancingRules, rules...)
	}
	return lb
}

// upstreamAllowRuleName is GenerateAllowSecurityRuleName (pkg/provider/securitygroup/
// securityrule.go): k8s-azure-lb_allow_<family>_<md5 hex of "<protocol>_<sorted sources
// joined by ,>_<ports sorted as strings joined by ,>">.
func upstreamAllowRuleName(protocol, family string, sources []string, ports []int32) string {
	src := append([]string(nil), sources...)
	sort.Strings(src)
	var ps []string
	for _, p := range ports {
		ps = append(ps, strconv.Itoa(int(p)))
	}
	sort.Strings(ps)
	sum := md5.Sum([]byte(strings.Join([]string{protocol, strings.Join(src, ","), strings.Join(ps, ",")}, "_"))) //nolint:gosec
	return fmt.Sprintf("k8s-azure-lb_allow_%s_%x", family, sum)
}

// upstreamAllowRules are the shared allow rules upstream's addAllowRule (securitygroup.go)
// writes for svcs with their frontend addresses: one per (protocol, sources, ports), the
// lowest free priority from 500 (nextRulePriority from_start), a single source in
// sourceAddressPrefix, destinationPortRanges always a list, the merged addresses in
// destinationAddressPrefix(es).
func upstreamAllowRules(svcs []upstreamSvc, addrs map[string]string, used map[int32]bool) []*armnetwork.SecurityRule {
	byName := map[string]*armnetwork.SecurityRule{}
	var order []string
	for _, u := range svcs {
		var ports []int32
		for _, sp := range u.svc.Spec.Ports {
			ports = append(ports, sp.Port)
		}
		name := upstreamAllowRuleName("Tcp", "IPv4", u.sources, ports)
		r, ok := byName[name]
		if !ok {
			prio := int32(500)
			for used[prio] {
				prio++
			}
			used[prio] = true
			var ps []string
			for _, p := range ports {
				ps = append(ps, strconv.Itoa(int(p)))
			}
			sort.Strings(ps)
			r = &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
				Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP), Access: to.Ptr(armnetwork.SecurityRuleAccessAllow),
				Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound), Priority: to.Ptr(prio),
				SourcePortRange: to.Ptr("*"), DestinationPortRanges: to.SliceOfPtrs(ps...),
			}}
			if len(u.sources) == 1 {
				r.Properties.SourceAddressPrefix = to.Ptr(u.sources[0])
			} else {
				r.Properties.SourceAddressPrefixes = to.SliceOfPtrs(u.sources...)
			}
			byName[name] = r
			order = append(order, name)
		}
		dst := append(destinations(r), addrs[u.svc.Name])
		sort.Strings(dst)
		r.Properties.DestinationAddressPrefix, r.Properties.DestinationAddressPrefixes = nil, nil
		if len(dst) == 1 {
			r.Properties.DestinationAddressPrefix = to.Ptr(dst[0])
		} else {
			r.Properties.DestinationAddressPrefixes = to.SliceOfPtrs(dst...)
		}
	}
	var out []*armnetwork.SecurityRule
	for _, n := range order {
		out = append(out, byName[n])
	}
	return out
}

// destinations are a rule's destination addresses, singular and plural forms merged.
func destinations(r *armnetwork.SecurityRule) []string {
	var out []string
	if r.Properties.DestinationAddressPrefix != nil {
		out = append(out, *r.Properties.DestinationAddressPrefix)
	}
	for _, d := range r.Properties.DestinationAddressPrefixes {
		out = append(out, *d)
	}
	return out
}
