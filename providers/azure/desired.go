package azure

import (
	"fmt"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// Unresolved stands, in an offline model, for a value only Azure knows (the address of a
// public IP chosen by address, a dynamic private IP); `cloudlb plan` prints it where apply
// would put the real one.
const Unresolved = "<resolved at apply>"

// Desired is the model Build makes for one Service, computed offline.
type Desired struct {
	// Service is "namespace/name".
	Service string `json:"service"`
	// Settings are the cluster-wide inputs the model was built with.
	Settings Settings `json:"settings"`
	Model    *Model   `json:"model"`
	// Placeholders say which values of Model stand for something not known offline.
	Placeholders []string `json:"placeholders,omitempty"`
}

// DesiredModel returns the desired Azure resources of svc without any cloud call, for
// `cloudlb plan --cloud azure`: the load balancer parts, the public IP, the NSG rules and
// the Private Link Service.
// Ports Kubernetes has not allocated yet and a missing UID get placeholders, listed in
// Placeholders. cc may be nil (upstream defaults, placeholder subscription). Errors are
// those of EnsureLoadBalancer: *annotations.InvalidError, providers.UserError.
func DesiredModel(svc *v1.Service, nodes []*v1.Node, cc *CloudConfig, clusterName string) (*Desired, error) {
	if cc == nil {
		cc, _ = ParseCloudConfig(nil)
	}
	cc = withPlaceholderConfig(cc)
	svc, notes := providers.WithPlaceholders(svc, ServicePrefix)
	cfg, err := config(svc)
	if err != nil {
		return nil, err
	}
	s := cc.settings(clusterName)
	m, err := Build(Input{Service: svc, Nodes: nodes, Azure: cfg.Azure, Settings: s})
	if err != nil {
		return nil, err
	}
	if m.PublicIP != nil && m.PublicIP.Address != "" {
		m.Frontend.PublicIPID = Unresolved
		notes = append(notes, fmt.Sprintf("frontend.publicIPID: the public IP holding %s in resource group %s, looked up at apply", m.PublicIP.Address, m.PublicIP.ResourceGroup))
	}
	if m.IPv6 != nil && m.IPv6.PublicIP != nil && m.IPv6.PublicIP.Address != "" {
		m.IPv6.Frontend.PublicIPID = Unresolved
		notes = append(notes, fmt.Sprintf("ipv6.frontend.publicIPID: the public IP holding %s in resource group %s, looked up at apply", m.IPv6.PublicIP.Address, m.IPv6.PublicIP.ResourceGroup))
	}
	if m.Internal && m.Frontend.PrivateIP == "" {
		notes = append(notes, "frontend: the private IP is allocated dynamically by Azure from the subnet")
	}
	if m.PLS != nil && int(m.PLS.IPCount) > len(m.PLS.IPAddresses) {
		notes = append(notes, "privateLinkService: NAT IP configurations without an address get one allocated dynamically by Azure from the subnet")
	}
	if m.Security != nil {
		notes = append(notes, "security rules with toFrontend also allow the frontend's address, known at apply; priorities are allocated at apply")
	}
	return &Desired{Service: serviceName(svc), Settings: s, Model: m, Placeholders: notes}, nil
}

// withPlaceholderConfig fills the config keys every ID needs with visible placeholders.
func withPlaceholderConfig(cc *CloudConfig) *CloudConfig {
	out := *cc
	fill := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	fill(&out.SubscriptionID, "<subscriptionId>")
	fill(&out.ResourceGroup, "<resourceGroup>")
	fill(&out.Location, "<location>")
	fill(&out.VNetName, "<vnetName>")
	fill(&out.SubnetName, "<subnetName>")
	fill(&out.VNetResourceGroup, out.ResourceGroup)
	fill(&out.LoadBalancerResourceGroup, out.ResourceGroup)
	fill(&out.SecurityGroupResourceGroup, out.ResourceGroup)
	fill(&out.PrivateLinkServiceResourceGroup, out.ResourceGroup)
	return &out
}
