package annotations

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Azure keys: load balancer selection, frontend addresses, public IPs, rules, NSG access and
// health probes. Private Link Service keys and the per-port probe keys live in azure_keys_pls.go.

// Azure name patterns, from the Azure resource naming rules (Microsoft.Network and resource groups).
const (
	// azureNamePattern: 1-80 characters, alphanumerics, '_', '.', '-'; starts alphanumeric, ends
	// alphanumeric or '_'. Used by public IPs, subnets, load balancers and private link services.
	azureNamePattern = `[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?`
	// azureRGPattern: 1-90 characters, alphanumerics, '_', '-', '.', '(', ')'; must not end in '.'.
	azureRGPattern = `[-\w.()]{0,89}[-\w()]`
	// azureGUIDPattern is a subscription ID.
	azureGUIDPattern = `[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`
)

// Probe defaults, shared by the descriptors and the config builder.
const (
	azureDefaultProbeProtocol = "Tcp"
	azureDefaultProbePath     = "/"
	azureLocalProbePath       = "/healthz"
)

// Azure formats.
var (
	azureFormatName = regexpFormat(
		"an Azure resource name (1-80 letters, digits, '_', '.', '-'; starting with a letter or digit, ending with a letter, digit or '_')",
		"^"+azureNamePattern+"$")
	azureFormatSubnet = regexpFormat(
		"a subnet name (1-80 letters, digits, '_', '.', '-'; starting with a letter or digit, ending with a letter, digit or '_')",
		"^"+azureNamePattern+"$")
	azureFormatResourceGroup = regexpFormat(
		"a resource group name (1-90 letters, digits, '_', '-', '.', '(', ')'; not ending in '.')",
		"^"+azureRGPattern+"$")
	azureServiceTagRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,79}(\.[A-Za-z0-9-]{1,80})?$`)
	azureFormatServiceTag = &Format{Name: "Azure service tags such as Internet or AzureFrontDoor.Backend", Check: func(s string) error {
		if !azureServiceTagRE.MatchString(s) {
			return errReason(fmt.Sprintf("%q is not an Azure service tag (letters, digits, '-', optionally .<region or subset>)", s))
		}
		return nil
	}}
	azureFormatConfigName = &Format{Name: "configuration names (1-80 letters, digits, '_', '.', '-')", Check: azureFormatName.Check}
	// azureFormatIPs is FormatIP with a plural name for lists.
	azureFormatIPs = &Format{Name: "IP addresses", Check: FormatIP.Check}

	azureDNSLabelRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,61}[a-z0-9]$`)
	// azureFormatDNSLabel accepts "" (remove the DNS settings) or an Azure domain name label.
	azureFormatDNSLabel = &Format{
		Name: `"" (remove the DNS label) or a DNS label of 3-63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit`,
		Check: func(s string) error {
			if s == "" || azureDNSLabelRE.MatchString(s) {
				return nil
			}
			return errReason(fmt.Sprintf("%q is not a valid Azure DNS label: 3-63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit", s))
		},
	}

	azurePrefixIDRE = regexp.MustCompile(`^/(?i:subscriptions)/` + azureGUIDPattern +
		`/(?i:resourceGroups)/` + azureRGPattern +
		`/(?i:providers/Microsoft\.Network/publicIPPrefixes)/` + azureNamePattern + `$`)
	azureFormatPrefixID = &Format{
		Name: "a public IP prefix resource ID /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/publicIPPrefixes/<name>",
		Check: func(s string) error {
			if !azurePrefixIDRE.MatchString(s) {
				return errReason(fmt.Sprintf("%q is not the full ARM ID of a Microsoft.Network/publicIPPrefixes resource", s))
			}
			return nil
		},
	}

	// azureFormatMode accepts "__auto__" or a VM set (VMSS or availability set) name.
	azureFormatMode = &Format{
		Name: `"__auto__" or VM set names`,
		Check: func(s string) error {
			if s == "__auto__" {
				return nil
			}
			return azureFormatName.Check(s)
		},
	}

	azureFormatTagValue = &Format{Name: "tag values of at most 256 characters", Check: func(s string) error {
		if len(s) > 256 {
			return errReason(fmt.Sprintf("value is %d characters long, Azure allows at most 256", len(s)))
		}
		return nil
	}}
	azureFormatIPTagValue = &Format{Name: "non-empty IP tag values (Type=Tag)", Check: func(s string) error {
		if s == "" {
			return errReason("missing tag: write Type=Tag, e.g. RoutingPreference=Internet")
		}
		if strings.ContainsAny(s, " \t=") {
			return errReason(fmt.Sprintf("%q is not an IP tag", s))
		}
		return nil
	}}
)

// azureMaxUserTags is Azure's 50 tags per resource minus the two ownership tags cloudlb writes
// on every managed public IP (k8s-azure-service, k8s-azure-cluster-name).
const azureMaxUserTags = 48

// azureValidateTagKeys checks the keys of azure-pip-tags against the Azure tag limits.
func azureValidateTagKeys(v any) error {
	tags, _ := v.(map[string]string)
	if len(tags) > azureMaxUserTags {
		return errReason(fmt.Sprintf("%d tags, at most %d allowed (Azure allows 50 per resource, cloudlb uses 2)", len(tags), azureMaxUserTags))
	}
	for k := range tags {
		if len(k) > 512 {
			return errReason(fmt.Sprintf("tag key %.20q... is %d characters long, Azure allows at most 512", k, len(k)))
		}
		if strings.ContainsAny(k, `<>%&\?/`) {
			return errReason(fmt.Sprintf(`tag key %q contains one of the characters < > %% & \ ? / that Azure forbids`, k))
		}
	}
	return nil
}

// azureWhenLocal selects the default of probe settings served by kube-proxy's health check.
var azureWhenLocal = Cond{"Local: HTTP probe of spec.healthCheckNodePort", func(c Context) bool { return c.Local }}

// Load balancer selection.
var (
	AzureInternal = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-internal", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Serve the Service from the internal load balancer <cluster>-internal with a private frontend IP instead of the public load balancer.",
		AppliesTo: "all",
		Change:    Replace,
	}
	AzureInternalSubnet = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-internal-subnet", Cloud: Azure, Type: String,
		Format:    azureFormatSubnet,
		Doc:       "Subnet (in the cluster virtual network) of the internal frontend IP; default: the cloud-config subnet. Also the default Private Link Service subnet.",
		AppliesTo: "internal",
		Change:    Replace,
	}
	AzureMode = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-mode", Cloud: Azure, Type: List,
		Format:    azureFormatMode,
		Doc:       "Basic SKU only: which per-VM-set load balancer hosts the Service. cloudlb serves Standard SKU load balancers only, so the key is read and ignored with a warning.",
		AppliesTo: "Basic SKU (not served)",
		Change:    NoChange,
	}
	AzureConfigurations = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-configurations", Cloud: Azure, Type: List,
		Format:    azureFormatConfigName,
		Doc:       "Multiple Standard load balancers mode: names of the load balancer configurations allowed to host the Service (lower-cased); default: every eligible one. Cannot be combined with a pinned IP or public IP name.",
		AppliesTo: "all",
		Change:    Replace,
	}
)

// Frontend addresses and public IPs.
var (
	AzureLoadBalancerIPv4 = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-ipv4", Cloud: Azure, Type: String,
		Format:    FormatIPv4,
		Doc:       "IPv4 frontend address; takes precedence over spec.loadBalancerIP. External: the address of an existing public IP in the public IP resource group. Internal: the static private IP.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureLoadBalancerIPv6 = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-ipv6", Cloud: Azure, Type: String,
		Format:    FormatIPv6,
		Doc:       "IPv6 frontend address; takes precedence over spec.loadBalancerIP. External: the address of an existing public IP. Internal: the static private IP.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureAdditionalPublicIPs = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-additional-public-ips", Cloud: Azure, Type: List,
		Format:    azureFormatIPs,
		Doc:       "Extra addresses (e.g. cross-region load balancer VIPs) added to status.loadBalancer.ingress and as NSG rule destinations; not configured on the Azure load balancer.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzurePIPResourceGroup = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-resource-group", Cloud: Azure, Type: String,
		Format:    azureFormatResourceGroup,
		Doc:       "Resource group where the Service's public IP is found or created (not the load balancer's group); default: the cloud-config resource group.",
		AppliesTo: "external",
		Change:    Rejected,
	}
	AzurePIPName = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pip-name", Cloud: Azure, Type: String,
		Format:    azureFormatName,
		Doc:       "Name of an existing public IP (in the public IP resource group) to use as frontend; default: a managed public IP <cluster>-a<uid>. Single-stack IPv6 Services use it for IPv6.",
		AppliesTo: "external",
		Change:    InPlace,
	}
	AzurePIPNameIPv6 = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pip-name-ipv6", Cloud: Azure, Type: String,
		Format:    azureFormatName,
		Doc:       "Name of an existing IPv6 public IP for the IPv6 frontend of a dual-stack Service.",
		AppliesTo: "external",
		Change:    InPlace,
	}
	AzurePIPPrefixID = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pip-prefix-id", Cloud: Azure, Type: String,
		Format:    azureFormatPrefixID,
		Doc:       "Allocate the managed public IP from this public IP prefix (full ARM resource ID); a change creates a new public IP with a new address.",
		AppliesTo: "external",
		Change:    Replace,
	}
	AzurePIPPrefixIDIPv6 = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pip-prefix-id-ipv6", Cloud: Azure, Type: String,
		Format:    azureFormatPrefixID,
		Doc:       "Allocate the managed IPv6 public IP of a dual-stack Service from this public IP prefix (full ARM resource ID).",
		AppliesTo: "external",
		Change:    Replace,
	}
	AzurePIPTags = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pip-tags", Cloud: Azure, Type: Map,
		Format:    azureFormatTagValue,
		Validate:  azureValidateTagKeys,
		Doc:       "Tags merged into the managed public IP's tags (keys at most 512 characters without < > % & \\ ? /, values at most 256, at most 48 tags).",
		AppliesTo: "external",
		Change:    InPlace,
	}
	AzurePIPIPTags = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-pip-ip-tags", Cloud: Azure, Type: Map,
		Format:    azureFormatIPTagValue,
		Doc:       "IP tags (Type=Tag, e.g. RoutingPreference=Internet) of a new managed public IP. Azure cannot change them on an existing IP; a change would re-create it with a new address, so it is refused.",
		AppliesTo: "external",
		Change:    Rejected,
	}
	AzureDNSLabelName = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-dns-label-name", Cloud: Azure, Type: String,
		Format:              azureFormatDNSLabel,
		EmptyMeansSomething: true,
		Doc:                 "DNS label of the public IP (<label>.<region>.cloudapp.azure.com). Unset: DNS settings left alone; \"\": DNS settings removed.",
		AppliesTo:           "external",
		Change:              InPlace,
	}
)

// Load-balancing rules.
var (
	AzureIdleTimeout = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout", Cloud: Azure, Type: Int,
		Defaults:  []Default{{Always, "4"}},
		Range:     &Range{4, 100},
		Doc:       "Idle timeout in minutes of every load-balancing rule (idleTimeoutInMinutes).",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureDisableTCPReset = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-disable-tcp-reset", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Disable TCP reset on idle timeout (enableTcpReset=false) for TCP and HA-ports rules.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureHAPorts = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-enable-high-availability-ports", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Replace the per-port rules by one HA-ports rule (protocol All, port 0). Internal load balancers only.",
		AppliesTo: "internal",
		Change:    InPlace,
	}
	AzureDisableFloatingIP = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-disable-load-balancer-floating-ip", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Disable floating IP: rules target the nodePort and NSG rules the node IPs. Not usable with spec.allocateLoadBalancerNodePorts=false.",
		AppliesTo: "all",
		Change:    InPlace,
	}
)

// Network security group.
var (
	AzureAllowedServiceTags = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-allowed-service-tags", Cloud: Azure, Type: List,
		Format:    azureFormatServiceTag,
		Doc:       "Azure service tags (e.g. AzureFrontDoor.Backend) allowed through the NSG, one allow rule per tag. kube-proxy drops this traffic when spec.loadBalancerSourceRanges is also set.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureAllowedIPRanges = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-allowed-ip-ranges", Cloud: Azure, Type: CIDRList,
		Doc:       "Client CIDRs (IPv4 and IPv6) allowed through the NSG, added to load-balancer-source-ranges. Cannot be combined with spec.loadBalancerSourceRanges.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureDenyAllExceptSourceRanges = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-deny-all-except-load-balancer-source-ranges", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Add an NSG deny-all rule for the frontend IPs so that only the allowed source ranges (not the whole VNet) reach them. Needs source ranges.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureDisableNSGRule = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-disable-load-balancer-nsg-rule", Cloud: Azure, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Break-glass: do not add NSG rules for the Service (stale rules are still cleaned up).",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureSharedSecurityRule = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-shared-securityrule", Cloud: Azure, Type: Bool,
		Doc:         "Formerly: share augmented NSG rules between Services.",
		AppliesTo:   "all",
		Change:      NoChange,
		Unsupported: "removed upstream (cloud-provider-azure #10299); NSG rules are always consolidated across Services",
	}
)

// Health probes (Service-wide defaults).
var (
	AzureProbeProtocol = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-health-probe-protocol", Cloud: Azure, Type: Enum,
		Allowed:  []string{"Tcp", "Http", "Https"},
		Defaults: []Default{{azureWhenLocal, "Http"}, {Always, azureDefaultProbeProtocol}},
		// cloud-provider-azure: any other value probes over TCP.
		OtherValues: "Tcp",
		Doc:         "Probe protocol of TCP ports (case-insensitive). Precedence: port_{port}_health-probe_protocol, then spec.ports[].appProtocol, then this key. Local Services probe kube-proxy's spec.healthCheckNodePort over HTTP /healthz unless port_{port}_health-probe_port is set.",
		AppliesTo:   "all",
		Change:      InPlace,
	}
	AzureProbeRequestPath = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path", Cloud: Azure, Type: String,
		Format:    FormatPath,
		Defaults:  []Default{{azureWhenLocal, azureLocalProbePath}, {Always, azureDefaultProbePath}},
		Doc:       "Request path of Http and Https probes.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureProbeInterval = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-health-probe-interval", Cloud: Azure, Type: Int,
		Defaults:  []Default{{Always, "5"}},
		Range:     &Range{5, 59},
		Doc:       "Probe interval in seconds (intervalInSeconds); interval × num-of-probe must be below 120.",
		AppliesTo: "all",
		Change:    InPlace,
	}
	AzureProbeNumOfProbe = &Descriptor{
		Key: "service.beta.kubernetes.io/azure-load-balancer-health-probe-num-of-probe", Cloud: Azure, Type: Int,
		Defaults:  []Default{{Always, "2"}},
		Range:     &Range{2, 23},
		Doc:       "Consecutive probe results needed to mark a backend down or up (probeThreshold); interval × num-of-probe must be below 120.",
		AppliesTo: "all",
		Change:    InPlace,
	}
)

func azureKeys() []*Descriptor {
	return append([]*Descriptor{
		AzureInternal, AzureInternalSubnet, AzureMode, AzureConfigurations,
		AzureLoadBalancerIPv4, AzureLoadBalancerIPv6, AzureAdditionalPublicIPs,
		AzurePIPResourceGroup, AzurePIPName, AzurePIPNameIPv6, AzurePIPPrefixID, AzurePIPPrefixIDIPv6,
		AzurePIPTags, AzurePIPIPTags, AzureDNSLabelName,
		AzureIdleTimeout, AzureDisableTCPReset, AzureHAPorts, AzureDisableFloatingIP,
		AzureAllowedServiceTags, AzureAllowedIPRanges, AzureDenyAllExceptSourceRanges, AzureDisableNSGRule,
		AzureSharedSecurityRule,
		AzureProbeProtocol, AzureProbeRequestPath, AzureProbeInterval, AzureProbeNumOfProbe,
	}, azureKeysPLSAndPorts()...)
}

// azurePortKey returns the concrete per-port key of a {port} template.
func azurePortKey(d *Descriptor, port int32) string {
	return strings.Replace(d.Key, "{port}", strconv.Itoa(int(port)), 1)
}
