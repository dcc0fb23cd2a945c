package annotations

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Azure per-port health probe keys and Private Link Service keys.

var (
	azureGUIDRE = regexp.MustCompile("^" + azureGUIDPattern + "$")
	// azureFQDNLabelRE is one label of a DNS name (letters, digits, '-', at most 63 characters).
	azureFQDNLabelRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
)

// azureSpaceFormat builds a Format for a space-separated list whose items each pass check and
// appear once.
func azureSpaceFormat(name string, check func(string) error) *Format {
	return &Format{Name: name, Check: func(s string) error {
		seen := map[string]bool{}
		for _, it := range strings.Fields(s) {
			if err := check(it); err != nil {
				return errReason(fmt.Sprintf("item %q: %v (items are separated by spaces)", it, err))
			}
			if seen[strings.ToLower(it)] {
				return errReason(fmt.Sprintf("item %q appears twice", it))
			}
			seen[strings.ToLower(it)] = true
		}
		return nil
	}}
}

func azureCheckIPv4(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return errReason("not an IPv4 address")
	}
	return nil
}

func azureCheckFQDN(s string) error {
	name := strings.TrimSuffix(s, ".")
	if len(name) == 0 || len(name) > 253 {
		return errReason("not a DNS name of 1-253 characters")
	}
	for _, l := range strings.Split(name, ".") {
		if !azureFQDNLabelRE.MatchString(l) {
			return errReason("not a DNS name (labels of 1-63 letters, digits and '-')")
		}
	}
	return nil
}

func azureCheckSubscription(s string) error {
	if !azureGUIDRE.MatchString(s) {
		return errReason("not a subscription ID (GUID)")
	}
	return nil
}

// azureFormatProbePort is a probe port: a number or the name of a Service port.
var azureFormatProbePort = &Format{
	Name: "a port number 1-65535 or the name of a Service port",
	Check: func(s string) error {
		if n, err := strconv.Atoi(s); err == nil {
			if n < 1 || n > 65535 {
				return errReason(fmt.Sprintf("port %d out of range 1-65535", n))
			}
			return nil
		}
		if err := dnsLabel(s); err != nil {
			return errReason(fmt.Sprintf("%q is neither a port number nor a port name", s))
		}
		return nil
	},
}

// Per-port health probe and rule keys. {port} is a Service port number (spec.ports[].port).
var (
	AzurePortProbeProtocol = &Descriptor{
		Key: "service.beta.kubernetes.io/port_{port}_health-probe_protocol", Cloud: Azure, Type: Enum,
		Allowed:   []string{"Tcp", "Http", "Https"},
		Doc:       "Probe protocol of this Service port (case-insensitive); overrides appProtocol and azure-load-balancer-health-probe-protocol.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzurePortProbePort = &Descriptor{
		Key: "service.beta.kubernetes.io/port_{port}_health-probe_port", Cloud: Azure, Type: String,
		Format:    azureFormatProbePort,
		Doc:       "Port probed for this Service port: a Service port name or number (probes that port's nodePort) or another port number (probed as is); default: this port's nodePort. On a Local Service it replaces the healthCheckNodePort probe.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzurePortProbeRequestPath = &Descriptor{
		Key: "service.beta.kubernetes.io/port_{port}_health-probe_request-path", Cloud: Azure, Type: String,
		Format:    FormatPath,
		Doc:       "Request path of this Service port's Http or Https probe; default: azure-load-balancer-health-probe-request-path, then /.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzurePortProbeInterval = &Descriptor{
		Key: "service.beta.kubernetes.io/port_{port}_health-probe_interval", Cloud: Azure, Type: Int,
		Range:     &Range{5, 59},
		Doc:       "Probe interval in seconds of this Service port; default: azure-load-balancer-health-probe-interval. interval × num-of-probe must be below 120.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzurePortProbeNumOfProbe = &Descriptor{
		Key: "service.beta.kubernetes.io/port_{port}_health-probe_num-of-probe", Cloud: Azure, Type: Int,
		Range:     &Range{2, 23},
		Doc:       "probeThreshold of this Service port; default: azure-load-balancer-health-probe-num-of-probe. interval × num-of-probe must be below 120.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzurePortNoLBRule = &Descriptor{
		Key: "service.beta.kubernetes.io/port_{port}_no_lb_rule", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Create neither a load-balancing rule nor a probe for this Service port (e.g. a mesh health port).",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzurePortNoProbeRule = &Descriptor{
		Key: "service.beta.kubernetes.io/port_{port}_no_probe_rule", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Create the load-balancing rule of this Service port without a health probe.",
		AppliesTo: "all",
		Change:    InPlace,
	}
)

// Private Link Service keys.
var (
	AzurePLSCreate = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-create", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Create a Private Link Service on the Service's IPv4 frontend. Needs an internal load balancer or azure-disable-load-balancer-floating-ip.",
		AppliesTo: "internal, or floating IP disabled",
		Change:    InPlace,
	}
	AzurePLSName = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-name", Cloud: Azure, Type: String,
		Format:    azureFormatName,
		Doc:       "Name of the Private Link Service; default: pls-<frontend IP configuration name>. Cannot change once the Private Link Service exists.",
		AppliesTo: "PLS",
		Change:    Rejected,
	}
	AzurePLSResourceGroup = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-resource-group", Cloud: Azure, Type: String,
		Format:    azureFormatResourceGroup,
		Doc:       "Resource group of the Private Link Service; default: cloud-config privateLinkServiceResourceGroup. Cannot change once it exists (connections would be lost).",
		AppliesTo: "PLS",
		Change:    Rejected,
	}
	AzurePLSSubnet = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-ip-configuration-subnet", Cloud: Azure, Type: String,
		Format:    azureFormatSubnet,
		Doc:       "Subnet of the Private Link Service NAT IP configurations; default: azure-load-balancer-internal-subnet, then the cloud-config subnet. Its privateLinkServiceNetworkPolicies are disabled.",
		AppliesTo: "PLS",
		Change:    InPlace,
	}
	AzurePLSIPCount = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-ip-configuration-ip-address-count", Cloud: Azure, Type: Int,
		Defaults:  []Default{{Always, "1"}},
		Range:     &Range{1, 8},
		Doc:       "Number of NAT IP configurations of the Private Link Service.",
		AppliesTo: "PLS",
		Change:    InPlace,
	}
	AzurePLSIPAddresses = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-ip-configuration-ip-address", Cloud: Azure, Type: String,
		Format:    azureSpaceFormat("space-separated IPv4 addresses", azureCheckIPv4),
		Doc:       "Static private IPv4 addresses of the NAT IP configurations, space-separated, the first being primary; at most azure-pls-ip-configuration-ip-address-count of them. Default: dynamic.",
		AppliesTo: "PLS",
		Change:    InPlace,
	}
	AzurePLSFQDNs = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-fqdns", Cloud: Azure, Type: String,
		Format:    azureSpaceFormat("space-separated DNS names", azureCheckFQDN),
		Doc:       "FQDNs of the Private Link Service, space-separated.",
		AppliesTo: "PLS",
		Change:    InPlace,
	}
	AzurePLSProxyProtocol = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-proxy-protocol", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Enable the PROXY protocol on the Private Link Service. On a Local Service the healthCheckNodePort /healthz probe is then replaced by per-port probes.",
		AppliesTo: "PLS",
		Change:    InPlace,
	}
	AzurePLSVisibility = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-visibility", Cloud: Azure, Type: String,
		Format: azureSpaceFormat(`"*" or space-separated subscription IDs`, func(s string) error {
			if s == "*" {
				return nil
			}
			return azureCheckSubscription(s)
		}),
		Doc:       `Subscriptions that can see the Private Link Service, space-separated, or "*" for everyone; default: none (RBAC only).`,
		AppliesTo: "PLS",
		Change:    InPlace,
	}
	AzurePLSAutoApproval = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pls-auto-approval", Cloud: Azure, Type: String,
		Format:    azureSpaceFormat("space-separated subscription IDs", azureCheckSubscription),
		Doc:       "Subscriptions whose private endpoint connections are approved automatically, space-separated.",
		AppliesTo: "PLS",
		Change:    InPlace,
	}
)

// azurePLSKeys are the keys read only when azure-pls-create is true.
var azurePLSKeys = []*Descriptor{
	AzurePLSName, AzurePLSResourceGroup, AzurePLSSubnet, AzurePLSIPCount, AzurePLSIPAddresses,
	AzurePLSFQDNs, AzurePLSProxyProtocol, AzurePLSVisibility, AzurePLSAutoApproval,
}

// azurePortProbeKeys are the per-port keys that configure a probe.
var azurePortProbeKeys = []*Descriptor{
	AzurePortProbeProtocol, AzurePortProbePort, AzurePortProbeRequestPath, AzurePortProbeInterval, AzurePortProbeNumOfProbe,
}

func azureKeysPLSAndPorts() []*Descriptor {
	out := append([]*Descriptor{}, azurePortProbeKeys...)
	out = append(out, AzurePortNoLBRule, AzurePortNoProbeRule, AzurePLSCreate)
	return append(out, azurePLSKeys...)
}
