package annotations

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// AWSLBType is the kind of AWS load balancer a Service asks for.
type AWSLBType string

// Load balancer kinds.
const (
	AWSTypeCLB AWSLBType = "CLB" // Classic Load Balancer (no aws-load-balancer-type)
	AWSTypeNLB AWSLBType = "NLB" // Network Load Balancer (aws-load-balancer-type: nlb)
	// AWSTypeExternal is aws-load-balancer-type external or nlb-ip: aws-load-balancer-controller
	// owns the Service and the provider must step aside. No other AWSConfig field is set.
	AWSTypeExternal AWSLBType = "External"
)

// AWSConfig is the typed AWS configuration of one Service, with every default applied.
// Fields that do not apply to Type keep their zero value (a warning says the key is ignored).
type AWSConfig struct {
	Type AWSLBType
	// Internal is true for scheme internal (aws-load-balancer-scheme, else -internal).
	Internal bool
	// Name is the load balancer name; "" means the generated a<uid> name.
	Name string
	SSL  AWSSSL
	// ProxyProtocol enables PROXY protocol on every backend (CLB v1; NLB v2 on every target group).
	ProxyProtocol bool
	// ProxyProtocolPerTargetGroup lists the Service ports whose target groups get PROXY v2 (NLB).
	ProxyProtocolPerTargetGroup []int32
	AccessLog                   AWSAccessLog
	// ConnectionDraining is CLB only.
	ConnectionDraining AWSConnectionDraining
	// IdleTimeout is the CLB connection idle timeout in seconds.
	IdleTimeout int64
	// CrossZone enables cross-zone load balancing (from the NLB attributes map too).
	CrossZone bool
	// AdditionalTags are the user tags; cloudlb adds its own ownership tags on top.
	AdditionalTags map[string]string
	HealthCheck    AWSHealthCheck
	// TargetGroupAttributes apply to every NLB target group, booleans in lower case.
	TargetGroupAttributes map[string]string
	// TargetGroupAttributesPerPort is, per Service port with its own key, the complete
	// attribute set for that port's target group: TargetGroupAttributes overlaid with the port's.
	TargetGroupAttributesPerPort map[int32]map[string]string
	// LBAttributes are the NLB attributes other than the access-log and cross-zone ones, which
	// are folded into AccessLog and CrossZone.
	LBAttributes map[string]string
	// Subnets are subnet IDs or Name tag values; empty means discovery by tags.
	Subnets []string
	// EIPAllocations, PrivateIPv4Addresses, IPv6Addresses and SourceNATIPv6Prefixes are NLB
	// subnet mappings, index i for subnet i.
	EIPAllocations               []string
	PrivateIPv4Addresses         []netip.Addr
	IPv6Addresses                []netip.Addr
	EnablePrefixForIPv6SourceNAT bool
	SourceNATIPv6Prefixes        []string
	// TargetNodeLabels restricts targets to nodes with all these labels ("" matches any value).
	TargetNodeLabels map[string]string
	// SecurityGroups replace the managed security group; ExtraSecurityGroups are added (CLB).
	SecurityGroups      []string
	ExtraSecurityGroups []string
	// SecurityGroupPrefixLists are allowed in by the managed NLB security group.
	SecurityGroupPrefixLists        []string
	ManageBackendSecurityGroupRules bool
	EnableICMPForPathMTUDiscovery   bool
	// DisableNLBSecurityGroups creates the NLB without security groups.
	DisableNLBSecurityGroups           bool
	InboundSGRulesOnPrivateLinkTraffic bool
	// NLBTargetType is "instance" or "ip"; IPAddressType "ipv4" or "dualstack"; ALPNPolicy is
	// one of None, HTTP1Only, HTTP2Only, HTTP2Optional, HTTP2Preferred.
	NLBTargetType        string
	IPAddressType        string
	ALPNPolicy           string
	EnableTCPUDPListener bool
}

// AWSSSL is the TLS configuration of the listeners.
type AWSSSL struct {
	// Certificates are ARNs; empty means no TLS listener. A CLB has at most one.
	Certificates []string
	// Ports selects the Service ports that terminate TLS (TCP ports only).
	Ports             PortSet
	NegotiationPolicy string
	// BackendProtocol is http, https, ssl or tcp.
	BackendProtocol string
}

// Enabled reports whether the listener of the Service port terminates TLS; UDP ports never do.
func (s AWSSSL) Enabled(sp v1.ServicePort) bool {
	return len(s.Certificates) > 0 && sp.Protocol != v1.ProtocolUDP && s.Ports.Has(sp.Port, sp.Name)
}

// AWSAccessLog is the access-log configuration.
type AWSAccessLog struct {
	Enabled bool
	// EmitInterval is in minutes, 5 or 60 (CLB only).
	EmitInterval int64
	Bucket       string
	Prefix       string
}

// AWSConnectionDraining is the CLB connection-draining configuration.
type AWSConnectionDraining struct {
	Enabled bool
	Timeout int64 // seconds
}

// AWSHealthCheck is the health check of the CLB or of every NLB target group.
type AWSHealthCheck struct {
	HealthyThreshold   int64
	UnhealthyThreshold int64
	Interval           int64 // seconds
	Timeout            int64 // seconds, less than Interval
	// Protocol is TCP, SSL (CLB), HTTP or HTTPS.
	Protocol string
	// Path is set for HTTP and HTTPS only.
	Path string
	// SuccessCodes is the NLB HTTP matcher (e.g. 200-399), set for HTTP and HTTPS only.
	SuccessCodes string
	// Port is "traffic-port" or a port number. It is "" only while the port it stands for
	// (spec.healthCheckNodePort under Local policy, or PortName's nodePort) is not allocated.
	Port string
	// PortName is the Service port name given in healthcheck-port, if any.
	PortName string
}

func (p *parser) aws() *AWSConfig {
	c := &AWSConfig{Type: AWSTypeCLB}
	switch t, _ := get[string](p, AWSLoadBalancerType); t {
	case awsTypeNLB:
		c.Type = AWSTypeNLB
	case awsTypeNLBIP, awsTypeExternal:
		p.ctx.Variant = "nlb"
		c.Type = AWSTypeExternal
		return c
	}
	nlb := c.Type == AWSTypeNLB
	p.ctx.Variant = "clb"
	if nlb {
		p.ctx.Variant = "nlb"
	}
	if !p.invalid(AWSLoadBalancerType) {
		p.awsIgnoredKeys(nlb)
	}
	c.Internal = p.awsInternal()
	c.Name, _ = get[string](p, AWSName)
	p.awsSSL(c, nlb)
	_, c.ProxyProtocol = get[string](p, AWSProxyProtocol)
	c.AccessLog = AWSAccessLog{
		Enabled: getOr[bool](p, AWSAccessLogEnabled),
		Bucket:  getOr[string](p, AWSAccessLogBucket),
		Prefix:  getOr[string](p, AWSAccessLogPrefix),
	}
	c.CrossZone = getOr[bool](p, AWSCrossZone)
	c.AdditionalTags = getOr[map[string]string](p, AWSAdditionalTags)
	c.TargetNodeLabels = getOr[map[string]string](p, AWSTargetNodeLabels)
	c.Subnets = getOr[[]string](p, AWSSubnets)
	c.SecurityGroups = getOr[[]string](p, AWSSecurityGroups)
	c.ManageBackendSecurityGroupRules = getOr[bool](p, AWSManageBackendSGRules)
	if !p.isSet(AWSManageBackendSGRules) && len(c.SecurityGroups) > 0 && nlb {
		// An NLB with the user's own groups gets no node rules unless asked; a Classic Load
		// Balancer keeps upstream's behaviour (rules from the first of its groups).
		c.ManageBackendSecurityGroupRules = false
	}
	c.EnableICMPForPathMTUDiscovery = getOr[string](p, AWSEnableICMPForPathMTU) == "on"
	if nlb {
		p.awsNLB(c)
	} else {
		c.AccessLog.EmitInterval = getOr[int64](p, AWSAccessLogEmitInterval)
		c.ConnectionDraining = AWSConnectionDraining{
			Enabled: getOr[bool](p, AWSConnectionDrainingEnabled),
			Timeout: getOr[int64](p, AWSConnectionDrainingTimeout),
		}
		if !c.ConnectionDraining.Enabled && p.isSet(AWSConnectionDrainingTimeout) {
			p.fieldWarn(AWSConnectionDrainingTimeout, "", "ignored while %s is not true", AWSConnectionDrainingEnabled.Key)
		}
		c.IdleTimeout = getOr[int64](p, AWSIdleTimeout)
		c.ExtraSecurityGroups = getOr[[]string](p, AWSExtraSecurityGroups)
	}
	p.awsAccessLog(c, nlb)
	p.awsSecurityGroups(c, nlb)
	c.HealthCheck = p.awsHealthCheck(c, nlb)
	p.awsCheckSpec(c, nlb)
	return c
}

// awsIgnoredKeys warns about keys the chosen kind does not read.
func (p *parser) awsIgnoredKeys(nlb bool) {
	kind, other, ds := "CLB", "NLB", awsNLBOnly
	if nlb {
		kind, other, ds = "NLB", "CLB", awsCLBOnly
	}
	for _, d := range ds {
		if p.isSet(d) && !p.invalid(d) {
			p.fieldWarn(d, "", "ignored on %s (applies to %s only)", kind, other)
		}
	}
	if nlb {
		return
	}
	for _, key := range slices.Sorted(maps.Keys(p.svc.Annotations)) {
		if d, _, ok := Lookup(key); ok && d == AWSTargetGroupAttributesPort {
			p.warnf(key, p.svc.Annotations[key], "", "ignored on CLB (applies to NLB only)")
		}
	}
}

// awsInternal derives the scheme; aws-load-balancer-scheme wins over -internal.
func (p *parser) awsInternal() bool {
	internal := getOr[bool](p, AWSInternal)
	scheme, ok := get[string](p, AWSScheme)
	if !ok {
		return internal
	}
	want := scheme == "internal"
	if v, set := get[bool](p, AWSInternal); set && v != want {
		p.fieldWarn(AWSInternal, "", "conflicts with %s=%s, which wins", AWSScheme.Key, scheme)
	}
	return want
}

func (p *parser) awsSSL(c *AWSConfig, nlb bool) {
	s := &c.SSL
	s.Certificates = getOr[[]string](p, AWSSSLCert)
	s.Ports = getOr[PortSet](p, AWSSSLPorts)
	s.NegotiationPolicy = getOr[string](p, AWSSSLNegotiationPolicy)
	s.BackendProtocol = getOr[string](p, AWSBackendProtocol)
	if !nlb && len(s.Certificates) > 1 {
		p.fieldErr(AWSSSLCert, "exactly one certificate ARN", "a Classic Load Balancer listener takes one certificate; use an NLB (aws-load-balancer-type: nlb) for several")
	}
	noCert := len(s.Certificates) == 0 && !p.invalid(AWSSSLCert)
	for _, d := range []*Descriptor{AWSSSLPorts, AWSSSLNegotiationPolicy} {
		if noCert && p.isSet(d) && !p.invalid(d) {
			p.fieldWarn(d, "", "ignored without %s", AWSSSLCert.Key)
		}
	}
	if nlb && noCert && p.isSet(AWSALPNPolicy) && !p.invalid(AWSALPNPolicy) {
		p.fieldWarn(AWSALPNPolicy, "", "ignored without %s: only TLS listeners negotiate ALPN", AWSSSLCert.Key)
	}
	switch bp := s.BackendProtocol; {
	case nlb && (bp == "http" || bp == "https"):
		p.fieldWarn(AWSBackendProtocol, "ssl, tcp", "an NLB does not proxy HTTP; read as tcp")
		s.BackendProtocol = "tcp"
	case !nlb && noCert && (bp == "https" || bp == "ssl"):
		p.fieldWarn(AWSBackendProtocol, "http, tcp", "without %s the listeners are plain TCP; read as tcp", AWSSSLCert.Key)
		s.BackendProtocol = "tcp"
	}
	if ps, ok := get[PortSet](p, AWSSSLPorts); ok && !noCert {
		p.awsCheckPortSet(AWSSSLPorts, ps)
	}
}

// awsCheckPortSet warns about listed ports that match no TCP Service port.
func (p *parser) awsCheckPortSet(d *Descriptor, ps PortSet) {
	var names []string
	for _, sp := range p.svc.Spec.Ports {
		names = append(names, sp.Name)
	}
	for _, n := range ps.Names {
		if !slices.Contains(names, n) {
			p.fieldWarn(d, strings.Join(slices.DeleteFunc(names, func(s string) bool { return s == "" }), ", "), "no Service port named %q", n)
		}
	}
	for _, n := range ps.Numbers {
		if !p.hasServicePort(n) {
			p.fieldWarn(d, p.servicePortsDoc(), "no Service port %d", n)
		}
	}
	for _, sp := range p.svc.Spec.Ports {
		if sp.Protocol == v1.ProtocolUDP && !ps.All && ps.Has(sp.Port, sp.Name) {
			p.fieldWarn(d, "", "Service port %d is UDP and cannot use TLS; ignored for it", sp.Port)
		}
	}
}

func (p *parser) awsAccessLog(c *AWSConfig, nlb bool) {
	a := c.AccessLog
	if a.Enabled && a.Bucket == "" && !p.invalid(AWSAccessLogBucket) {
		d := AWSAccessLogEnabled
		if !p.isSet(d) {
			d = AWSAttributes
		}
		p.fieldErr(d, "", "access logs need an S3 bucket: set %s", AWSAccessLogBucket.Key)
	}
	if !a.Enabled {
		for _, d := range []*Descriptor{AWSAccessLogBucket, AWSAccessLogPrefix, AWSAccessLogEmitInterval} {
			if _, ok := p.values[d]; ok && (!nlb || d != AWSAccessLogEmitInterval) {
				p.fieldWarn(d, "", "ignored while access logs are disabled (%s is not true)", AWSAccessLogEnabled.Key)
			}
		}
	}
	if nlb && a.Enabled && len(c.SSL.Certificates) == 0 {
		d := AWSAccessLogEnabled
		if !p.isSet(d) {
			d = AWSAttributes
		}
		p.fieldWarn(d, "", "an NLB logs TLS listeners only, and this Service has none (no %s)", AWSSSLCert.Key)
	}
}

func (p *parser) awsSecurityGroups(c *AWSConfig, nlb bool) {
	byo := len(c.SecurityGroups) > 0
	if nlb {
		if _, ok := p.values[AWSExtraSecurityGroups]; ok {
			p.fieldErr(AWSExtraSecurityGroups, "", "not supported on an NLB; list every group in %s", AWSSecurityGroups.Key)
		}
		if c.DisableNLBSecurityGroups && byo {
			p.fieldErr(AWSDisableNLBSecurityGroups, "", "conflicts with %s: an NLB without security groups cannot use them", AWSSecurityGroups.Key)
		}
		for _, d := range []*Descriptor{AWSSecurityGroupPrefixLists, AWSInboundSGRulesOnPrivateLink} {
			if _, ok := p.values[d]; ok && (c.DisableNLBSecurityGroups || byo && d == AWSSecurityGroupPrefixLists) {
				p.fieldWarn(d, "", "ignored: the NLB has no managed security group (%s or %s is set)", AWSDisableNLBSecurityGroups.Key, AWSSecurityGroups.Key)
			}
		}
		if c.DisableNLBSecurityGroups {
			return
		}
	}
	total := max(len(c.SecurityGroups), 1) + len(c.ExtraSecurityGroups)
	if total > awsMaxSecurityGroups {
		d := AWSSecurityGroups
		if len(c.ExtraSecurityGroups) > 0 {
			d = AWSExtraSecurityGroups
		}
		p.fieldErr(d, fmt.Sprintf("at most %d security groups in all", awsMaxSecurityGroups), "the load balancer would get %d security groups; AWS allows %d", total, awsMaxSecurityGroups)
	}
}

func (p *parser) awsHealthCheck(c *AWSConfig, nlb bool) AWSHealthCheck {
	hc := AWSHealthCheck{
		HealthyThreshold:   getOr[int64](p, AWSHealthCheckHealthyThreshold),
		UnhealthyThreshold: getOr[int64](p, AWSHealthCheckUnhealthyThreshold),
		Interval:           getOr[int64](p, AWSHealthCheckInterval),
		Timeout:            getOr[int64](p, AWSHealthCheckTimeout),
		Protocol:           getOr[string](p, AWSHealthCheckProtocol),
		Path:               getOr[string](p, AWSHealthCheckPath),
	}
	if nlb {
		hc.SuccessCodes = getOr[string](p, AWSHealthCheckSuccessCodes)
	}
	if _, set := p.values[AWSHealthCheckProtocol]; !set && !nlb && !p.ctx.Local && len(c.SSL.Certificates) > 0 &&
		(c.SSL.BackendProtocol == "https" || c.SSL.BackendProtocol == "ssl") {
		hc.Protocol = "SSL"
	}
	if nlb && hc.Protocol == "SSL" {
		p.fieldErr(AWSHealthCheckProtocol, "TCP, HTTP, HTTPS", "an NLB target group cannot use SSL health checks")
		hc.Protocol = "TCP"
	}
	if hc.Protocol == "TCP" || hc.Protocol == "SSL" {
		for _, d := range []*Descriptor{AWSHealthCheckPath, AWSHealthCheckSuccessCodes} {
			if _, ok := p.values[d]; ok && (nlb || d != AWSHealthCheckSuccessCodes) {
				p.fieldWarn(d, "", "ignored for %s health checks (only HTTP and HTTPS use it)", hc.Protocol)
			}
		}
		hc.Path, hc.SuccessCodes = "", ""
	}
	// The timeout must be shorter than the interval; blame the key the user set.
	_, ivSet := p.values[AWSHealthCheckInterval]
	_, toSet := p.values[AWSHealthCheckTimeout]
	if hc.Timeout >= hc.Interval && !p.invalid(AWSHealthCheckInterval) && !p.invalid(AWSHealthCheckTimeout) {
		switch {
		case toSet:
			how := "set"
			if !ivSet {
				how = "default"
			}
			p.fieldErr(AWSHealthCheckTimeout, fmt.Sprintf("2-%d", hc.Interval-1), "must be less than %s (%d, %s)", AWSHealthCheckInterval.Key, hc.Interval, how)
		case ivSet:
			// Only the interval was chosen: a default timeout must not turn a valid interval
			// into an error, so it follows the interval down.
			hc.Timeout = hc.Interval - 1
		}
	}
	raw, set := get[string](p, AWSHealthCheckPort)
	switch _, numErr := strconv.Atoi(raw); {
	case set && strings.EqualFold(raw, "traffic-port"):
		hc.Port = "traffic-port"
	case set && numErr == nil:
		hc.Port = raw
	case set:
		hc.PortName = raw
		hc.Port = p.awsNamedPort(raw, nlb && c.NLBTargetType == "ip")
	case p.ctx.Local:
		if n := p.svc.Spec.HealthCheckNodePort; n > 0 {
			hc.Port = strconv.Itoa(int(n))
		}
	default:
		hc.Port = "traffic-port"
	}
	return hc
}

// awsNamedPort resolves a Service port name to the port the health check reaches: the
// targetPort for IP targets, the nodePort otherwise ("" when not known yet).
func (p *parser) awsNamedPort(name string, ipTargets bool) string {
	var names []string
	for _, sp := range p.svc.Spec.Ports {
		if sp.Name != name {
			names = append(names, sp.Name)
			continue
		}
		switch {
		case ipTargets && sp.TargetPort.IntValue() > 0:
			return strconv.Itoa(sp.TargetPort.IntValue())
		case ipTargets && sp.TargetPort.String() == "0":
			return strconv.Itoa(int(sp.Port))
		case !ipTargets && sp.NodePort > 0:
			return strconv.Itoa(int(sp.NodePort))
		}
		return ""
	}
	p.fieldErr(AWSHealthCheckPort, "traffic-port, a port number, or one of the Service port names: "+strings.Join(names, ", "), "no Service port named %q", name)
	return "traffic-port"
}

// awsCheckSpec rejects Service fields that ELB cannot serve.
func (p *parser) awsCheckSpec(c *AWSConfig, nlb bool) {
	spec := p.svc.Spec
	kind := "a Classic Load Balancer"
	if nlb {
		kind = "an NLB"
	}
	if spec.LoadBalancerIP != "" {
		hint := "use an NLB (aws-load-balancer-type: nlb) with " + AWSEIPAllocations.Key
		if nlb {
			hint = "use " + AWSEIPAllocations.Key + " (internet-facing) or " + AWSPrivateIPv4Addresses.Key + " (internal)"
		}
		p.errorf("spec.loadBalancerIP", spec.LoadBalancerIP, "unset", "not supported on AWS, which allocates the addresses; for fixed addresses %s", hint)
	}
	if spec.SessionAffinity == v1.ServiceAffinityClientIP {
		hint := "use an NLB with " + AWSTargetGroupAttributes.Key + ": stickiness.enabled=true,stickiness.type=source_ip"
		if nlb {
			hint = "set " + AWSTargetGroupAttributes.Key + ": stickiness.enabled=true,stickiness.type=source_ip instead"
		}
		p.errorf("spec.sessionAffinity", string(spec.SessionAffinity), "None", "%s cannot honour ClientIP affinity; %s", kind, hint)
	}
	allowed := "TCP"
	if nlb {
		allowed = "TCP, UDP"
	}
	protos := map[v1.Protocol]bool{}
	for i, sp := range spec.Ports {
		proto := sp.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		protos[proto] = true
		if proto != v1.ProtocolTCP && !(nlb && proto == v1.ProtocolUDP) {
			p.errorf(fmt.Sprintf("spec.ports[%d].protocol", i), string(proto), allowed, "%s does not support %s", kind, proto)
		}
	}
	if nlb && protos[v1.ProtocolTCP] && protos[v1.ProtocolUDP] && !c.EnableTCPUDPListener {
		p.errorf("spec.ports", "TCP, UDP", "one protocol, or "+AWSEnableTCPUDPListener.Key+": \"true\"", "mixed TCP and UDP ports need %s: \"true\"", AWSEnableTCPUDPListener.Key)
	}
}
