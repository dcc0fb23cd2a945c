package azure

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// Upstream's NSG priority range for load balancer rules.
const (
	minPriority = 500
	maxPriority = 4096
)

// Node labels that keep a node out of the backend pool, as upstream.
const (
	labelExcludeLB        = "node.kubernetes.io/exclude-from-external-load-balancers"
	labelControlPlane     = "node-role.kubernetes.io/control-plane"
	labelMaster           = "node-role.kubernetes.io/master"
	labelExcludeLBAzure   = "alpha.service-controller.kubernetes.io/exclude-balancer"
	defaultSharedProbe    = 10256
	sharedProbeInterval   = 5
	sharedProbeThreshold  = 2
	defaultSharedPath     = "/healthz"
	internetTag           = "Internet"
	securityRuleAllow     = "Allow"
	securityRuleDeny      = "Deny"
	securityRuleAnySource = "*"
)

// errPortPending says Kubernetes has not allocated a port Build needs yet.
var errPortPending = errors.New("a nodePort or healthCheckNodePort is not allocated yet")

// Settings are Build's cluster-wide inputs, from the cloud config and the controller.
type Settings struct {
	SubscriptionID string `json:"subscriptionID"`
	// ResourceGroup is the cluster's resource group (the default for public IPs).
	ResourceGroup string `json:"resourceGroup"`
	// LoadBalancerResourceGroup holds the load balancers.
	LoadBalancerResourceGroup string `json:"loadBalancerResourceGroup"`
	Location                  string `json:"location"`
	// Cluster names the tags, the backend pool and managed public IPs.
	Cluster string `json:"cluster"`
	// LoadBalancerName is the base name of the load balancers (cluster name by default).
	LoadBalancerName  string `json:"loadBalancerName"`
	VNetName          string `json:"vnetName"`
	VNetResourceGroup string `json:"vnetResourceGroup"`
	SubnetName        string `json:"subnetName"`
	// SecurityGroupName is the cluster NSG; "" means no NSG rules.
	SecurityGroupName          string `json:"securityGroupName"`
	SecurityGroupResourceGroup string `json:"securityGroupResourceGroup"`
	DisableOutboundSNAT        bool   `json:"disableOutboundSNAT"`
	// PLSResourceGroup holds Private Link Services without azure-pls-resource-group; ""
	// means ResourceGroup.
	PLSResourceGroup string `json:"plsResourceGroup,omitempty"`
	// SharedProbe is the shared probe of externalTrafficPolicy Cluster Services; nil means
	// each port is probed on its nodePort (mode servicenodeport).
	SharedProbe *SharedProbe `json:"sharedProbe,omitempty"`
	// KeepControlPlane puts control-plane nodes in the pool (excludeMasterFromStandardLB false).
	KeepControlPlane bool `json:"keepControlPlane"`
}

// SharedProbe is the cluster-wide kube-proxy health probe.
type SharedProbe struct {
	Port int32  `json:"port"`
	Path string `json:"path"`
}

// Input is everything Build reads.
type Input struct {
	Service  *v1.Service
	Nodes    []*v1.Node
	Azure    *annotations.AzureConfig
	Settings Settings
}

// Build turns a Service into its desired Model without any cloud call.
func Build(in Input) (*Model, error) {
	svc, az, s := in.Service, in.Azure, in.Settings
	if az == nil {
		return nil, fmt.Errorf("azure: no Azure configuration for service %s", serviceName(svc))
	}
	prefix := ServicePrefix(svc)
	x := ids{s.SubscriptionID}
	lbName := loadBalancerName(s.LoadBalancerName, az.Internal)
	m := &Model{
		Service:  serviceName(svc),
		Prefix:   prefix,
		Cluster:  s.Cluster,
		Internal: az.Internal,
		LoadBalancer: LoadBalancer{Name: lbName, ResourceGroup: s.LoadBalancerResourceGroup, Location: s.Location,
			Tags: map[string]string{tagCluster: s.Cluster}},
		Frontend: Frontend{Name: frontendName(prefix, az.InternalSubnet)},
		Pool:     buildPool(in.Nodes, s, x, false),
	}
	if az.Internal {
		subnet := az.InternalSubnet
		if subnet == "" {
			subnet = s.SubnetName
		}
		m.Frontend.SubnetID = x.subnet(s.VNetResourceGroup, s.VNetName, subnet)
		if az.LoadBalancerIPv4.IsValid() {
			m.Frontend.PrivateIP = az.LoadBalancerIPv4.String()
		}
	} else {
		m.PublicIP = buildPublicIP(svc, az, s, prefix, false)
		if m.PublicIP.Name != "" {
			m.Frontend.PublicIPID = x.publicIP(m.PublicIP.ResourceGroup, m.PublicIP.Name)
		}
	}
	for _, a := range az.AdditionalPublicIPs {
		m.AdditionalPublicIPs = append(m.AdditionalPublicIPs, a.String())
	}
	var err error
	if m.Rules, m.Probes, err = buildRules(svc, az, s, prefix); err != nil {
		return nil, err
	}
	if dualStack(svc) {
		if m.IPv6, err = buildIPv6(svc, in.Nodes, az, s, x, m); err != nil {
			return nil, err
		}
	}
	if s.SecurityGroupName != "" {
		m.Security = buildSecurity(svc, az, s, prefix, m.Pool, false)
		if m.IPv6 != nil {
			m.Security.Rules = append(m.Security.Rules, buildSecurity(svc, az, s, prefix, m.IPv6.Pool, true).Rules...)
		}
	}
	m.PLS = buildPLS(az, s, x, m)
	return m, nil
}

// eligible reports whether node belongs in the backend pool: not excluded by label, not a
// control-plane node (unless kept), not being deleted.
func eligible(n *v1.Node, keepControlPlane bool) bool {
	if n == nil || n.DeletionTimestamp != nil {
		return false
	}
	for _, l := range []string{labelExcludeLB, labelExcludeLBAzure} {
		if _, ok := n.Labels[l]; ok {
			return false
		}
	}
	if !keepControlPlane {
		for _, l := range []string{labelControlPlane, labelMaster} {
			if _, ok := n.Labels[l]; ok {
				return false
			}
		}
	}
	return true
}

// nodeIP is the node's first InternalIP of the family.
func nodeIP(n *v1.Node, v6 bool) string {
	for _, a := range n.Status.Addresses {
		if a.Type != v1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Unmap().Is4() != v6 {
			return ip.Unmap().String()
		}
	}
	return ""
}

func buildPool(nodes []*v1.Node, s Settings, x ids, v6 bool) Pool {
	p := Pool{Name: s.Cluster, VirtualNetwork: x.vnet(s.VNetResourceGroup, s.VNetName), Addresses: []PoolAddress{}}
	if v6 {
		p.Name += ipv6Suffix
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if !eligible(n, s.KeepControlPlane) {
			continue
		}
		ip := nodeIP(n, v6)
		if ip == "" || seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		p.Addresses = append(p.Addresses, PoolAddress{Name: n.Name, IP: ip})
	}
	sort.Slice(p.Addresses, func(i, j int) bool { return p.Addresses[i].Name < p.Addresses[j].Name })
	return p
}

func buildPublicIP(svc *v1.Service, az *annotations.AzureConfig, s Settings, prefix string, v6 bool) *PublicIP {
	rg := az.PIPResourceGroup
	if rg == "" {
		rg = s.ResourceGroup
	}
	name, pinned, prefixID, managedName := az.PIPName, az.LoadBalancerIPv4, az.PIPPrefixID, managedPIPName(s.Cluster, prefix, az.PIPPrefixID)
	if v6 {
		name, pinned, prefixID = az.PIPNameIPv6, az.LoadBalancerIPv6, az.PIPPrefixIDIPv6
		managedName = managedPIPName(s.Cluster, prefix, prefixID) + ipv6Suffix
	}
	switch {
	case name != "":
		return &PublicIP{Name: name, ResourceGroup: rg}
	case pinned.IsValid():
		return &PublicIP{ResourceGroup: rg, Address: pinned.String()}
	}
	p := &PublicIP{
		Name: managedName, ResourceGroup: rg, Managed: true, Location: s.Location,
		Tags: map[string]string{}, DNSLabel: az.DNSLabelName, PrefixID: prefixID, IPv6: v6,
	}
	for k, v := range az.PIPTags {
		p.Tags[k] = v
	}
	// Ownership tags win over user tags of the same key.
	p.Tags[tagService] = serviceName(svc)
	p.Tags[tagCluster] = s.Cluster
	if az.DNSLabelName != nil && *az.DNSLabelName != "" {
		p.Tags[tagDNSLabel] = serviceName(svc)
	}
	if len(az.PIPIPTags) > 0 {
		p.IPTags = az.PIPIPTags
	}
	return p
}

// buildPLS is the Private Link Service of azure-pls-create, attached to the Service's
// frontend: named pls-<frontend> unless azure-pls-name, in azure-pls-resource-group or the
// cloud config's privateLinkServiceResourceGroup, its NAT IP configurations in
// azure-pls-ip-configuration-subnet (default: the internal subnet, then the cloud config's).
func buildPLS(az *annotations.AzureConfig, s Settings, x ids, m *Model) *PrivateLinkService {
	if az.PLS == nil {
		return nil
	}
	c := az.PLS
	p := &PrivateLinkService{
		Name: c.Name, ResourceGroup: c.ResourceGroup, Location: s.Location,
		FrontendID:    child(x.loadBalancer(m.LoadBalancer.ResourceGroup, m.LoadBalancer.Name), "frontendIPConfigurations", m.Frontend.Name),
		IPCount:       max(c.IPCount, 1),
		FQDNs:         slices.Clone(c.FQDNs),
		ProxyProtocol: c.ProxyProtocol,
		Visibility:    slices.Clone(c.Visibility),
		AutoApproval:  slices.Clone(c.AutoApproval),
		Tags:          map[string]string{tagCluster: s.Cluster, tagOwnerService: m.Service},
	}
	if p.Name == "" {
		p.Name = "pls-" + m.Frontend.Name
	}
	if p.ResourceGroup == "" {
		p.ResourceGroup = s.PLSResourceGroup
	}
	if p.ResourceGroup == "" {
		p.ResourceGroup = s.ResourceGroup
	}
	subnet := c.Subnet
	if subnet == "" {
		subnet = s.SubnetName
	}
	p.SubnetID = x.subnet(s.VNetResourceGroup, s.VNetName, subnet)
	for _, a := range c.IPAddresses {
		p.IPAddresses = append(p.IPAddresses, a.String())
	}
	return p
}
