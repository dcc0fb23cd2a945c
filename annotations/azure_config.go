package annotations

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// AzureConfig is the typed Azure configuration of one Service, with every default applied.
// Only cloud-provider state (cloud-config) is left for the provider to fill in where a field
// says so.
type AzureConfig struct {
	// Internal selects the internal load balancer and a private frontend (variant "internal").
	Internal bool
	// InternalSubnet is the subnet of the internal frontend; "" means the cloud-config subnet.
	// Always "" for external Services.
	InternalSubnet string
	// Mode is the Basic-SKU VM set selection; read for completeness, ignored on Standard SKU.
	Mode []string
	// Configurations are the lower-cased multi-SLB configuration names that may host the
	// Service; empty means every eligible one.
	Configurations []string

	// LoadBalancerIPv4 and LoadBalancerIPv6 pin the frontend addresses (annotation, else
	// spec.loadBalancerIP); the zero Addr means "not pinned". External: the address of an
	// existing public IP. Internal: the static private IP.
	LoadBalancerIPv4 netip.Addr
	LoadBalancerIPv6 netip.Addr
	// AdditionalPublicIPs are reported in the status and used as NSG destinations only.
	AdditionalPublicIPs []netip.Addr

	// PIPResourceGroup is the resource group of the Service's public IPs; "" means the
	// cloud-config resource group. Carried for internal Services too, to release a public IP
	// left from before a switch to internal.
	PIPResourceGroup string
	// PIPName and PIPNameIPv6 name existing public IPs to use; "" means a managed public IP.
	// External only.
	PIPName     string
	PIPNameIPv6 string
	// PIPPrefixID and PIPPrefixIDIPv6 are public IP prefix resource IDs for new managed public IPs.
	PIPPrefixID     string
	PIPPrefixIDIPv6 string
	// PIPTags are merged into the managed public IP's tags.
	PIPTags map[string]string
	// PIPIPTags are the ipTags (type -> tag) of a new managed public IP.
	PIPIPTags map[string]string
	// DNSLabelName is the public IP's DNS label: nil leaves the DNS settings alone, "" removes them.
	DNSLabelName *string

	// IdleTimeoutMinutes is idleTimeoutInMinutes of every rule (4-100).
	IdleTimeoutMinutes int32
	// DisableTCPReset sets enableTcpReset=false on TCP and HA-ports rules.
	DisableTCPReset bool
	// HAPorts replaces the per-port rules by one HA-ports rule; only ever true when Internal.
	HAPorts bool
	// DisableFloatingIP sets enableFloatingIP=false: rules target nodePorts, NSG rules node IPs.
	DisableFloatingIP bool
	// LoadDistribution is the rules' loadDistribution: "SourceIP" for sessionAffinity ClientIP,
	// else "Default".
	LoadDistribution string

	// AllowedServiceTags get one NSG allow rule each.
	AllowedServiceTags []string
	// AllowedIPRanges are the azure-allowed-ip-ranges CIDRs as written.
	AllowedIPRanges []netip.Prefix
	// SourceRanges are the client CIDRs the NSG allows: spec.loadBalancerSourceRanges, else the
	// union of load-balancer-source-ranges and azure-allowed-ip-ranges; empty when none is set
	// (the core default 0.0.0.0/0 is not copied here).
	SourceRanges []netip.Prefix
	// AllowFromInternet adds an allow rule from the Internet service tag: external Services
	// without service tags or restrictive ranges, or internal ones explicitly allowing all.
	AllowFromInternet bool
	// DenyAllExceptLoadBalancerSourceRanges adds the deny-all rule; only true when SourceRanges
	// is not empty.
	DenyAllExceptLoadBalancerSourceRanges bool
	// DisableNSGRule skips adding NSG rules (stale ones are still removed).
	DisableNSGRule bool

	// HealthProbe holds the Service-wide probe settings every port falls back to.
	HealthProbe AzureHealthProbeDefaults
	// Ports holds the resolved settings of every Service port number.
	Ports map[int32]AzurePortConfig

	// PLS is the Private Link Service to create; nil unless azure-pls-create is true.
	PLS *AzurePLSConfig
}

// AzureHealthProbeDefaults are the Service-wide probe settings that per-port probes fall back
// to. The healthCheckNodePort probe of a Local Service is always Http /healthz and only takes
// IntervalSeconds and NumOfProbe from here.
type AzureHealthProbeDefaults struct {
	Protocol        string // Tcp, Http or Https
	RequestPath     string // used by Http and Https probes
	IntervalSeconds int32
	NumOfProbe      int32 // probeThreshold
}

// AzurePortConfig is the resolved configuration of one Service port number (every protocol
// exposed on it).
type AzurePortConfig struct {
	Port int32
	// NodePort is the nodePort of the port's first spec entry; 0 when not allocated.
	NodePort  int32
	Protocols []v1.Protocol
	// NoLBRule: neither rule nor probe. NoProbeRule: a rule without probe.
	NoLBRule    bool
	NoProbeRule bool
	// Probe is the health probe of the port's TCP rule or, when Probe.HealthCheckNodePort is
	// true, of every rule of the port. nil when the port has no probe (NoLBRule, NoProbeRule, or
	// only UDP/SCTP on a Service probed per port).
	Probe *AzureProbe
}

// AzureProbe is one fully resolved load balancer probe.
type AzureProbe struct {
	Protocol string // Tcp, Http or Https
	// Port is the node port probed; 0 when it is a nodePort not allocated yet.
	Port            int32
	RequestPath     string // "" for Tcp
	IntervalSeconds int32
	NumOfProbe      int32
	// HealthCheckNodePort marks kube-proxy's spec.healthCheckNodePort /healthz probe of a Local
	// Service.
	HealthCheckNodePort bool
}

// AzurePLSConfig is the Private Link Service of the Service's IPv4 frontend.
type AzurePLSConfig struct {
	Name          string // "" means pls-<frontend IP configuration name>
	ResourceGroup string // "" means cloud-config privateLinkServiceResourceGroup
	Subnet        string // "" means the cloud-config subnet
	IPCount       int32
	// IPAddresses are static NAT addresses, the first being primary; empty means dynamic.
	IPAddresses   []netip.Addr
	FQDNs         []string
	ProxyProtocol bool
	// Visibility is ["*"] or subscription IDs; empty means RBAC only.
	Visibility   []string
	AutoApproval []string
}

func (p *parser) azure() *AzureConfig {
	c := &AzureConfig{Internal: getOr[bool](p, AzureInternal)}
	p.ctx.Variant = "external"
	if c.Internal {
		p.ctx.Variant = "internal"
	}
	v4, v6 := p.azureFamilies()
	p.azureFrontend(c, v4, v6)
	p.azurePublicIP(c, v6)
	p.azureRules(c)
	p.azureAccess(c)
	p.azurePLS(c, v4, v6)
	p.azureProbes(c)
	p.azureNotImplemented()
	return c
}

// azureNotImplemented warns about valid keys whose feature cloudlb's Azure provider does not
// build, so that they are not silently without effect.
func (p *parser) azureNotImplemented() {
	if p.isSet(AzureConfigurations) && !p.invalid(AzureConfigurations) {
		p.fieldWarn(AzureConfigurations, "", "multiple Standard load balancers mode is not implemented: the Service goes on the cluster's load balancer (<cluster>, or <cluster>-internal)")
	}
}

// azureFamilies reports the Service's IP families (IPv4 when spec.ipFamilies is empty).
func (p *parser) azureFamilies() (v4, v6 bool) {
	for _, f := range p.svc.Spec.IPFamilies {
		v4 = v4 || f == v1.IPv4Protocol
		v6 = v6 || f == v1.IPv6Protocol
	}
	if !v4 && !v6 {
		v4 = true
	}
	return v4, v6
}

func (p *parser) azureFrontend(c *AzureConfig, v4, v6 bool) {
	if v, ok := get[string](p, AzureInternalSubnet); ok {
		if c.Internal {
			c.InternalSubnet = v
		} else {
			p.fieldWarn(AzureInternalSubnet, "", "ignored: the Service is not internal (%s is not \"true\")", AzureInternal.Key)
		}
	}
	if v, ok := get[[]string](p, AzureMode); ok {
		c.Mode = v
		p.fieldWarn(AzureMode, "", "ignored: Basic SKU only, cloudlb serves Standard SKU load balancers")
	}
	for _, s := range getOr[[]string](p, AzureConfigurations) {
		c.Configurations = append(c.Configurations, strings.ToLower(s))
	}
	if v, ok := get[string](p, AzureLoadBalancerIPv4); ok {
		c.LoadBalancerIPv4 = netip.MustParseAddr(v)
	}
	if v, ok := get[string](p, AzureLoadBalancerIPv6); ok {
		c.LoadBalancerIPv6 = netip.MustParseAddr(v)
	}
	if raw := strings.TrimSpace(p.svc.Spec.LoadBalancerIP); raw != "" {
		a, err := netip.ParseAddr(raw)
		if err != nil {
			p.errorf("spec.loadBalancerIP", raw, "an IP address", "not an IP address")
		} else {
			a = a.Unmap()
			pinned, d := &c.LoadBalancerIPv4, AzureLoadBalancerIPv4
			if a.Is6() {
				pinned, d = &c.LoadBalancerIPv6, AzureLoadBalancerIPv6
			}
			switch {
			case pinned.IsValid() && *pinned != a:
				p.fieldWarn(d, "", "spec.loadBalancerIP is %s; the annotation takes precedence", a)
			case p.isSet(d): // same address, or an invalid annotation already reported
			default:
				*pinned = a
				p.warnf("spec.loadBalancerIP", raw, "", "deprecated by Kubernetes; use %s", d.Key)
			}
		}
	}
	if c.LoadBalancerIPv4.IsValid() && !v4 {
		p.azureWarnPinned(AzureLoadBalancerIPv4, c.LoadBalancerIPv4, "the Service has no IPv4 family")
		c.LoadBalancerIPv4 = netip.Addr{}
	}
	if c.LoadBalancerIPv6.IsValid() && !v6 {
		p.azureWarnPinned(AzureLoadBalancerIPv6, c.LoadBalancerIPv6, "the Service has no IPv6 family")
		c.LoadBalancerIPv6 = netip.Addr{}
	}
	for _, s := range getOr[[]string](p, AzureAdditionalPublicIPs) {
		c.AdditionalPublicIPs = append(c.AdditionalPublicIPs, netip.MustParseAddr(s))
	}
}

// azureWarnPinned warns that a pinned address (from its key or spec.loadBalancerIP) is ignored.
func (p *parser) azureWarnPinned(d *Descriptor, a netip.Addr, why string) {
	if p.isSet(d) {
		p.fieldWarn(d, "", "ignored: %s", why)
		return
	}
	p.warnf("spec.loadBalancerIP", a.String(), "", "ignored: %s", why)
}

func (p *parser) azurePublicIP(c *AzureConfig, v6 bool) {
	c.PIPResourceGroup, _ = get[string](p, AzurePIPResourceGroup)
	if c.Internal {
		for _, d := range []*Descriptor{AzurePIPName, AzurePIPNameIPv6, AzurePIPPrefixID, AzurePIPPrefixIDIPv6, AzurePIPTags, AzurePIPIPTags, AzureDNSLabelName} {
			if p.isSet(d) && !p.invalid(d) {
				p.fieldWarn(d, "", "ignored on an internal load balancer (it has no public IP)")
			}
		}
	} else {
		c.PIPName, _ = get[string](p, AzurePIPName)
		c.PIPNameIPv6, _ = get[string](p, AzurePIPNameIPv6)
		c.PIPPrefixID, _ = get[string](p, AzurePIPPrefixID)
		c.PIPPrefixIDIPv6, _ = get[string](p, AzurePIPPrefixIDIPv6)
		c.PIPTags = p.azureTags(AzurePIPTags)
		c.PIPIPTags = p.azureTags(AzurePIPIPTags)
		if v, ok := get[string](p, AzureDNSLabelName); ok {
			c.DNSLabelName = &v
		}
		for _, d := range []*Descriptor{AzurePIPNameIPv6, AzurePIPPrefixIDIPv6} {
			if !v6 && p.isSet(d) && !p.invalid(d) {
				p.fieldWarn(d, "", "ignored: the Service has no IPv6 family")
			}
		}
		if c.PIPPrefixID != "" && (c.PIPName != "" || c.LoadBalancerIPv4.IsValid()) {
			p.fieldWarn(AzurePIPPrefixID, "", "ignored: the public IP is an existing one (%s or a pinned address)", AzurePIPName.Key)
		}
		if c.PIPPrefixIDIPv6 != "" && (c.PIPNameIPv6 != "" || c.LoadBalancerIPv6.IsValid()) {
			p.fieldWarn(AzurePIPPrefixIDIPv6, "", "ignored: the public IP is an existing one (%s or a pinned address)", AzurePIPNameIPv6.Key)
		}
		if len(c.PIPIPTags) > 0 && c.PIPName != "" {
			p.fieldWarn(AzurePIPIPTags, "", "ignored: %s selects an existing public IP; IP tags are only set on new managed public IPs", AzurePIPName.Key)
		}
	}
	if len(c.Configurations) > 0 && (c.LoadBalancerIPv4.IsValid() || c.LoadBalancerIPv6.IsValid() || c.PIPName != "" || c.PIPNameIPv6 != "") {
		p.fieldErr(AzureConfigurations, "no pinned IP address or public IP name",
			"cannot be combined with a pinned frontend (azure-load-balancer-ipv4/-ipv6, spec.loadBalancerIP, azure-pip-name/-ipv6): the configuration may place the Service on a load balancer that cannot use that address")
	}
}

// azureTags returns a Map key's value, refusing items written without "=" (upstream drops
// them with a warning).
func (p *parser) azureTags(d *Descriptor) map[string]string {
	m, ok := get[map[string]string](p, d)
	if !ok {
		return nil
	}
	for _, it := range strings.Split(p.raw[d], ",") {
		if !strings.Contains(it, "=") {
			p.fieldErr(d, d.AllowedDoc(), "item %q is not key=value", strings.TrimSpace(it))
			return nil
		}
	}
	return m
}

func (p *parser) azureRules(c *AzureConfig) {
	c.IdleTimeoutMinutes = int32(getOr[int64](p, AzureIdleTimeout))
	c.DisableTCPReset = getOr[bool](p, AzureDisableTCPReset)
	if getOr[bool](p, AzureHAPorts) {
		if c.Internal {
			c.HAPorts = true
		} else {
			p.fieldWarn(AzureHAPorts, "", "ignored: HA ports rules exist on internal load balancers only")
		}
	}
	c.DisableFloatingIP = getOr[bool](p, AzureDisableFloatingIP)
	if a := p.svc.Spec.AllocateLoadBalancerNodePorts; c.DisableFloatingIP && a != nil && !*a {
		p.fieldErr(AzureDisableFloatingIP, "false while spec.allocateLoadBalancerNodePorts is false",
			"rules without floating IP target the nodePorts, but spec.allocateLoadBalancerNodePorts is false")
	}
	c.LoadDistribution = "Default"
	if p.svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP {
		c.LoadDistribution = "SourceIP"
	}
	for i, sp := range p.svc.Spec.Ports {
		if sp.Protocol == v1.ProtocolSCTP && !c.Internal {
			p.errorf(fmt.Sprintf("spec.ports[%d].protocol", i), string(sp.Protocol), "TCP, UDP",
				"Azure serves SCTP on internal load balancers only (set %s: \"true\")", AzureInternal.Key)
		}
	}
}

func (p *parser) azureAccess(c *AzureConfig) {
	c.AllowedServiceTags = getOr[[]string](p, AzureAllowedServiceTags)
	c.AllowedIPRanges = getOr[[]netip.Prefix](p, AzureAllowedIPRanges)
	c.DisableNSGRule = getOr[bool](p, AzureDisableNSGRule)
	spec := p.svc.Spec.LoadBalancerSourceRanges
	if len(spec) > 0 {
		if len(c.AllowedIPRanges) > 0 {
			p.fieldErr(AzureAllowedIPRanges, "unset while spec.loadBalancerSourceRanges is set",
				"cannot be combined with spec.loadBalancerSourceRanges; list every range in one of them")
		}
		if len(c.AllowedServiceTags) > 0 {
			p.fieldWarn(AzureAllowedServiceTags, "", "ConflictConfiguration: spec.loadBalancerSourceRanges is also set and kube-proxy drops traffic from other sources, including these service tags")
		}
		for _, s := range spec {
			if pr, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
				c.SourceRanges = append(c.SourceRanges, pr.Masked())
			}
		}
	} else {
		v, _ := get[[]netip.Prefix](p, CoreSourceRanges)
		c.SourceRanges = slices.Clone(v)
		for _, pr := range c.AllowedIPRanges {
			if !slices.Contains(c.SourceRanges, pr) {
				c.SourceRanges = append(c.SourceRanges, pr)
			}
		}
	}
	allowAll := slices.ContainsFunc(c.SourceRanges, func(pr netip.Prefix) bool { return pr.Bits() == 0 })
	switch {
	case len(c.AllowedServiceTags) > 0, len(c.SourceRanges) > 0 && !allowAll:
		c.AllowFromInternet = false
	case !c.Internal:
		c.AllowFromInternet = true
	default:
		c.AllowFromInternet = len(c.SourceRanges) > 0
	}
	if getOr[bool](p, AzureDenyAllExceptSourceRanges) {
		if len(c.SourceRanges) > 0 {
			c.DenyAllExceptLoadBalancerSourceRanges = true
		} else {
			p.fieldWarn(AzureDenyAllExceptSourceRanges, "", "ignored: no source ranges are set (spec.loadBalancerSourceRanges, %s or %s)", CoreSourceRanges.Key, AzureAllowedIPRanges.Key)
		}
	}
}

func (p *parser) azurePLS(c *AzureConfig, v4, v6 bool) {
	if !getOr[bool](p, AzurePLSCreate) {
		for _, d := range azurePLSKeys {
			if p.isSet(d) && !p.invalid(d) {
				p.fieldWarn(d, "", "ignored: %s is not \"true\"", AzurePLSCreate.Key)
			}
		}
		return
	}
	if !c.Internal && !c.DisableFloatingIP {
		p.fieldErr(AzurePLSCreate, "an internal Service or floating IP disabled",
			"a Private Link Service needs an internal load balancer (%s) or floating IP disabled (%s)", AzureInternal.Key, AzureDisableFloatingIP.Key)
	}
	switch {
	case !v4:
		p.fieldErr(AzurePLSCreate, "an IPv4 or dual-stack Service", "Private Link Services support IPv4 frontends only and the Service is IPv6-only")
	case v6:
		p.fieldWarn(AzurePLSCreate, "", "the IPv6 frontend gets no Private Link Service (IPv4 only)")
	}
	pls := &AzurePLSConfig{
		Name:          getOr[string](p, AzurePLSName),
		ResourceGroup: getOr[string](p, AzurePLSResourceGroup),
		Subnet:        getOr[string](p, AzurePLSSubnet),
		IPCount:       int32(getOr[int64](p, AzurePLSIPCount)),
		FQDNs:         azureFields(getOr[string](p, AzurePLSFQDNs)),
		ProxyProtocol: getOr[bool](p, AzurePLSProxyProtocol),
		Visibility:    azureFields(getOr[string](p, AzurePLSVisibility)),
		AutoApproval:  azureFields(getOr[string](p, AzurePLSAutoApproval)),
	}
	if pls.Subnet == "" {
		pls.Subnet = c.InternalSubnet
	}
	for _, s := range azureFields(getOr[string](p, AzurePLSIPAddresses)) {
		pls.IPAddresses = append(pls.IPAddresses, netip.MustParseAddr(s))
	}
	if n := len(pls.IPAddresses); n > int(pls.IPCount) && !p.invalid(AzurePLSIPCount) {
		p.fieldErr(AzurePLSIPAddresses, fmt.Sprintf("at most %d addresses (%s)", pls.IPCount, AzurePLSIPCount.Key),
			"%d addresses for %d NAT IP configurations; raise %s", n, pls.IPCount, AzurePLSIPCount.Key)
	}
	if slices.Contains(pls.Visibility, "*") {
		if len(pls.Visibility) > 1 {
			p.fieldWarn(AzurePLSVisibility, `"*" alone`, `"*" already makes the service visible to everyone; the subscription IDs are redundant`)
		}
		pls.Visibility = []string{"*"}
	} else {
		for _, s := range pls.AutoApproval {
			if !slices.ContainsFunc(pls.Visibility, func(v string) bool { return strings.EqualFold(v, s) }) {
				p.fieldWarn(AzurePLSAutoApproval, "", "subscription %s is not in %s; it cannot see the Private Link Service", s, AzurePLSVisibility.Key)
			}
		}
	}
	c.PLS = pls
}

// azureFields splits a space-separated value; nil when there is no item.
func azureFields(s string) []string {
	if f := strings.Fields(s); len(f) > 0 {
		return f
	}
	return nil
}

// azurePortInvalid reports whether a per-port key was written for port but failed validation.
func (p *parser) azurePortInvalid(d *Descriptor, port int32) bool {
	_, written := p.svc.Annotations[azurePortKey(d, port)]
	_, valid := p.ports[d][port]
	return written && !valid
}

// azurePortWarn warns about a valid per-port key of port.
func (p *parser) azurePortWarn(d *Descriptor, port int32, format string, args ...any) {
	key := azurePortKey(d, port)
	p.warnf(key, p.svc.Annotations[key], "", format, args...)
}
