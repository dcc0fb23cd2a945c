package annotations

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Keys that aws-load-balancer-controller added (reference table A.2). cloudlb implements them
// for its own NLBs unless Unsupported says otherwise.
var (
	AWSScheme = &Descriptor{
		Key: awsPrefix + "scheme", Cloud: AWS, Type: Enum,
		Allowed:   []string{"internet-facing", "internal"},
		Defaults:  []Default{{Always, "internet-facing"}},
		Doc:       "Load balancer scheme; replaces aws-load-balancer-internal and wins over it (the default stays internet-facing, unlike aws-load-balancer-controller).",
		AppliesTo: "CLB, NLB", Change: Replace,
	}
	AWSName = &Descriptor{
		Key: awsPrefix + "name", Cloud: AWS, Type: String, Format: awsFormatLBName,
		Doc:       "Name of the load balancer instead of the generated a<uid> name; 1-32 letters, digits and '-'.",
		AppliesTo: "CLB, NLB", Change: Rejected,
	}
	AWSNLBTargetType = &Descriptor{
		Key: awsPrefix + "nlb-target-type", Cloud: AWS, Type: Enum,
		Allowed:   []string{"instance", "ip"},
		Defaults:  []Default{{Always, "instance"}},
		Doc:       "Registers nodes through their NodePorts (instance) or pod IPs directly (ip, needs routable pod IPs such as the VPC CNI).",
		AppliesTo: "NLB", Change: Replace,
	}
	AWSIPAddressType = &Descriptor{
		Key: awsPrefix + "ip-address-type", Cloud: AWS, Type: Enum,
		Allowed:   []string{"ipv4", "dualstack"},
		Defaults:  []Default{{Always, "ipv4"}},
		Doc:       "Addresses of the NLB: ipv4 only, or dualstack (IPv4 and IPv6; needs subnets with IPv6 CIDRs).",
		AppliesTo: "NLB", Change: InPlace,
	}
	AWSIPv6Addresses = &Descriptor{
		Key: awsPrefix + "ipv6-addresses", Cloud: AWS, Type: List, Format: FormatIPv6,
		Validate:  awsValidateUnique,
		Doc:       "IPv6 addresses, one per subnet in subnet order, for a dualstack NLB; fixed at creation, so a change replaces the NLB.",
		AppliesTo: "NLB, dualstack", Change: Replace,
	}
	AWSEnablePrefixForIPv6SourceNAT = &Descriptor{
		Key: awsPrefix + "enable-prefix-for-ipv6-source-nat", Cloud: AWS, Type: Enum,
		Allowed:      []string{"on", "off"},
		Defaults:     []Default{{Always, "off"}},
		ValueAliases: map[string]string{"true": "on", "false": "off"},
		Doc:          "Uses an IPv6 /80 prefix per subnet for source NAT, needed by UDP listeners on a dualstack NLB.",
		AppliesTo:    "NLB, dualstack", Change: Replace,
	}
	AWSSourceNATIPv6Prefixes = &Descriptor{
		Key: awsPrefix + "source-nat-ipv6-prefixes", Cloud: AWS, Type: List, Format: awsFormatSourceNATPrefix,
		Validate:  awsValidateUnique,
		Doc:       "Source-NAT IPv6 prefixes, one per subnet in subnet order: a /80 from the subnet's IPv6 CIDR or auto_assigned; fixed at creation, so a change replaces the NLB.",
		AppliesTo: "NLB, dualstack", Change: Replace,
	}
	AWSHealthCheckSuccessCodes = &Descriptor{
		Key: awsPrefix + "healthcheck-success-codes", Cloud: AWS, Type: String, Format: awsFormatSuccessCodes,
		Defaults:  []Default{{WhenNLB, "200-399"}},
		Doc:       "HTTP status codes of a healthy HTTP or HTTPS check: codes like 200,202 or one range like 200-399, within 200-599.",
		AppliesTo: "NLB", Change: InPlace,
	}
	AWSTargetGroupAttributesPort = &Descriptor{
		Key: awsPrefix + "target-group-attributes.{port}", Cloud: AWS, Type: Map,
		MapKeys: awsTGAttributeKeys, Validate: awsValidateTGAttributes,
		Doc:       "Target-group attributes for the target group of one Service port; they override aws-load-balancer-target-group-attributes key by key.",
		AppliesTo: "NLB", Change: InPlace,
	}
	AWSAttributes = &Descriptor{
		Key: awsPrefix + "attributes", Cloud: AWS, Type: Map,
		MapKeys: awsLBAttributeKeys, Validate: awsValidateLBAttributes,
		Doc:       "NLB attributes k1=v1,k2=v2 such as deletion_protection.enabled=true or dns_record.client_routing_policy=availability_zone_affinity; only listed keys are written.",
		AppliesTo: "NLB", Change: InPlace,
	}
	AWSALPNPolicy = &Descriptor{
		Key: awsPrefix + "alpn-policy", Cloud: AWS, Type: Enum,
		Allowed:   []string{"None", "HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred"},
		Defaults:  []Default{{Always, "None"}},
		Doc:       "ALPN policy of the TLS listeners.",
		AppliesTo: "NLB", Change: InPlace,
	}
	AWSManageBackendSGRules = &Descriptor{
		Key: awsPrefix + "manage-backend-security-group-rules", Cloud: AWS, Type: Bool,
		Defaults:  []Default{{Always, "true"}},
		Doc:       "Adds the node security-group rules that let load balancer and health-check traffic in; false removes the ones cloudlb added. Defaults to false on an NLB when aws-load-balancer-security-groups is set.",
		AppliesTo: "CLB, NLB", Change: InPlace,
	}
	AWSSecurityGroupPrefixLists = &Descriptor{
		Key: awsPrefix + "security-group-prefix-lists", Cloud: AWS, Type: List, Format: idFormat("pl-"),
		Validate:  awsValidateUnique,
		Doc:       "Managed prefix lists allowed in by the NLB's managed security group, in addition to the source ranges.",
		AppliesTo: "NLB", Change: InPlace,
	}
	AWSEnableICMPForPathMTU = &Descriptor{
		Key: awsPrefix + "enable-icmp-for-path-mtu-discovery", Cloud: AWS, Type: Enum,
		Allowed:      []string{"on", "off"},
		Defaults:     []Default{{Always, "on"}},
		ValueAliases: map[string]string{"true": "on", "false": "off"},
		Doc:          "Allows ICMP fragmentation-needed messages (type 3 code 4) from the source ranges for path MTU discovery, as cloud-provider-aws always did.",
		AppliesTo:    "CLB, NLB", Change: InPlace,
	}
	AWSProxyProtocolPerTargetGroup = &Descriptor{
		Key: awsPrefix + "proxy-protocol-per-target-group", Cloud: AWS, Type: List, Format: awsFormatPortNumber,
		Validate:  awsValidateUnique,
		Doc:       "Service port numbers whose target groups get PROXY protocol version 2; aws-load-balancer-proxy-protocol=* covers all ports.",
		AppliesTo: "NLB", Change: InPlace,
	}
	AWSDisableNLBSecurityGroups = &Descriptor{
		Key: awsPrefix + "disable-nlb-sg", Cloud: AWS, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Creates the NLB without security groups; AWS cannot add or remove all of them later, so a change replaces the NLB.",
		AppliesTo: "NLB", Change: Replace,
	}
	AWSEnableTCPUDPListener = &Descriptor{
		Key: awsPrefix + "enable-tcp-udp-listener", Cloud: AWS, Type: Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Allows TCP and UDP ports in one Service; a TCP and a UDP port with the same number share one TCP_UDP listener.",
		AppliesTo: "NLB", Change: Replace,
	}
	AWSInboundSGRulesOnPrivateLink = &Descriptor{
		Key: awsPrefix + "inbound-sg-rules-on-private-link-traffic", Cloud: AWS, Type: Enum,
		Allowed:   []string{"on", "off"},
		Defaults:  []Default{{Always, "on"}},
		Doc:       "Whether the NLB's security-group inbound rules also filter traffic arriving through AWS PrivateLink.",
		AppliesTo: "NLB", Change: InPlace,
	}
	AWSQUICEnabledPorts = &Descriptor{
		Key: awsPrefix + "quic-enabled-ports", Cloud: AWS, Type: List, Format: awsFormatPortNumber,
		Doc:       "UDP ports served as QUIC (or TCP_QUIC) listeners.",
		AppliesTo: "NLB", Change: Replace,
		Unsupported: "QUIC listeners need QUIC-aware targets and server IDs; cloudlb does not create them.",
	}
	AWSMultiClusterTargetGroup = &Descriptor{
		Key: awsPrefix + "multi-cluster-target-group", Cloud: AWS, Type: Bool,
		Doc:       "Shares the target groups with other clusters, managing only this cluster's targets.",
		AppliesTo: "NLB", Change: InPlace,
		Unsupported: "cloudlb owns its target groups and deregisters every target it did not register.",
	}
	AWSMinimumCapacity = &Descriptor{
		Key: awsPrefix + "minimum-load-balancer-capacity", Cloud: AWS, Type: Map,
		Doc:       "Reserved load balancer capacity as CapacityUnits=N.",
		AppliesTo: "NLB", Change: InPlace,
		Unsupported: "LCU capacity reservations are billed commitments that cloudlb does not manage.",
	}
	AWSListenerAttributes = &Descriptor{
		Key: awsPrefix + "listener-attributes.{port}", Cloud: AWS, Type: Map,
		Doc:       "Listener attributes such as tcp.idle_timeout.seconds for the listener PROTOCOL-PORT named in the key.",
		AppliesTo: "NLB", Change: InPlace,
		Unsupported: "per-listener attributes (keys like listener-attributes.TCP-443) are not implemented.",
	}
)

func awsNLBKeys() []*Descriptor {
	return []*Descriptor{
		AWSScheme, AWSName, AWSNLBTargetType, AWSIPAddressType, AWSIPv6Addresses,
		AWSEnablePrefixForIPv6SourceNAT, AWSSourceNATIPv6Prefixes, AWSHealthCheckSuccessCodes,
		AWSTargetGroupAttributesPort, AWSAttributes, AWSALPNPolicy, AWSManageBackendSGRules,
		AWSSecurityGroupPrefixLists, AWSEnableICMPForPathMTU, AWSProxyProtocolPerTargetGroup,
		AWSDisableNLBSecurityGroups, AWSEnableTCPUDPListener, AWSInboundSGRulesOnPrivateLink,
		AWSQUICEnabledPorts, AWSMultiClusterTargetGroup, AWSMinimumCapacity, AWSListenerAttributes,
	}
}

var (
	awsFormatLBName = &Format{Name: "1-32 letters, digits and '-', not starting or ending with '-' nor starting with internal-", Check: func(s string) error {
		switch {
		case len(s) < 1 || len(s) > 32:
			return errReason(fmt.Sprintf("%q is %d characters, 1-32 allowed", s, len(s)))
		case strings.ContainsFunc(s, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
		}):
			return errReason(fmt.Sprintf("%q may contain only letters, digits and '-'", s))
		case strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-"):
			return errReason(fmt.Sprintf("%q must not start or end with '-'", s))
		case strings.HasPrefix(strings.ToLower(s), "internal-"):
			return errReason(fmt.Sprintf("%q must not start with internal-", s))
		}
		return nil
	}}
	awsFormatPortNumber = &Format{Name: "a port number 1-65535", Check: func(s string) error {
		if n, err := strconv.Atoi(s); err != nil || n < 1 || n > 65535 {
			return errReason(fmt.Sprintf("%q is not a port number 1-65535", s))
		}
		return nil
	}}
	awsFormatSourceNATPrefix = &Format{Name: "an IPv6 /80 prefix or auto_assigned", Check: func(s string) error {
		if s == "auto_assigned" {
			return nil
		}
		p, err := parseCIDR(s)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Bits() != 80 {
			return errReason(fmt.Sprintf("%q is neither an IPv6 /80 prefix nor auto_assigned", s))
		}
		return nil
	}}
	awsFormatSuccessCodes = &Format{Name: "HTTP codes 200-599 as a list (200,202) or one range (200-399)", Check: awsCheckSuccessCodes}
)

func awsCheckSuccessCodes(s string) error {
	code := func(t string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || n < 200 || n > 599 {
			return 0, errReason(fmt.Sprintf("%q is not an HTTP code 200-599", strings.TrimSpace(t)))
		}
		return n, nil
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err := code(lo)
		if err != nil {
			return err
		}
		b, err := code(hi)
		if err != nil {
			return err
		}
		if a > b {
			return errReason(fmt.Sprintf("range %q is empty", s))
		}
		return nil
	}
	for _, t := range strings.Split(s, ",") {
		if _, err := code(t); err != nil {
			return err
		}
	}
	return nil
}

// awsAttrRule validates one attribute value; it returns the reason when the value is wrong.
type awsAttrRule func(string) string

func awsAttrBool(v string) string {
	if _, err := parseBool(v); err != nil {
		return "must be true or false"
	}
	return ""
}

func awsAttrEnum(allowed ...string) awsAttrRule {
	return func(v string) string {
		if slices.Contains(allowed, v) {
			return ""
		}
		return "must be one of " + strings.Join(allowed, ", ")
	}
}

func awsAttrInt(lo, hi int, offOK bool) awsAttrRule {
	return func(v string) string {
		if offOK && v == "off" {
			return ""
		}
		n, err := strconv.Atoi(v)
		if err == nil && n >= lo && n <= hi {
			return ""
		}
		r := fmt.Sprintf("must be an integer %d-%d", lo, hi)
		if hi == 1<<31-1 {
			r = fmt.Sprintf("must be an integer of at least %d", lo)
		}
		if offOK {
			r += " or off"
		}
		return r
	}
}

// Target-group attribute names of the NLB target-group attributes.
const (
	awsTGPreserveClientIP   = "preserve_client_ip.enabled"
	awsTGProxyProtocolV2    = "proxy_protocol_v2.enabled"
	awsTGStickinessEnabled  = "stickiness.enabled"
	awsTGStickinessType     = "stickiness.type"
	awsTGUnhealthyTerminate = "target_health_state.unhealthy.connection_termination.enabled"
	awsTGUnhealthyDraining  = "target_health_state.unhealthy.draining_interval_seconds"
)

// awsTGAttributes are the documented Network Load Balancer target-group attributes.
var awsTGAttributes = map[string]awsAttrRule{
	"deregistration_delay.timeout_seconds":                                           awsAttrInt(0, 3600, false),
	"deregistration_delay.connection_termination.enabled":                            awsAttrBool,
	awsTGPreserveClientIP:                                                            awsAttrBool,
	awsTGProxyProtocolV2:                                                             awsAttrBool,
	awsTGStickinessEnabled:                                                           awsAttrBool,
	awsTGStickinessType:                                                              awsAttrEnum("source_ip"),
	"load_balancing.cross_zone.enabled":                                              awsAttrEnum("true", "false", "use_load_balancer_configuration"),
	awsTGUnhealthyTerminate:                                                          awsAttrBool,
	awsTGUnhealthyDraining:                                                           awsAttrInt(0, 360000, false),
	"target_group_health.dns_failover.minimum_healthy_targets.count":                 awsAttrInt(1, 1<<31-1, true),
	"target_group_health.dns_failover.minimum_healthy_targets.percentage":            awsAttrInt(1, 100, true),
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      awsAttrInt(1, 1<<31-1, false),
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": awsAttrInt(1, 100, true),
}

var awsTGAttributeKeys = slices.Sorted(maps.Keys(awsTGAttributes))

// Load balancer attribute names folded into typed AWSConfig fields.
const (
	awsLBAccessLogEnabled = "access_logs.s3.enabled"
	awsLBAccessLogBucket  = "access_logs.s3.bucket"
	awsLBAccessLogPrefix  = "access_logs.s3.prefix"
	awsLBCrossZone        = "load_balancing.cross_zone.enabled"
)

// awsLBAttributes are the documented Network Load Balancer attributes.
var awsLBAttributes = map[string]awsAttrRule{
	"deletion_protection.enabled": awsAttrBool,
	awsLBCrossZone:                awsAttrBool,
	awsLBAccessLogEnabled:         awsAttrBool,
	awsLBAccessLogBucket: func(v string) string {
		if err := awsCheckS3Bucket(v); err != nil {
			return err.Error()
		}
		return ""
	},
	awsLBAccessLogPrefix: func(v string) string {
		if err := awsFormatS3Prefix.Check(v); err != nil {
			return err.Error()
		}
		return ""
	},
	"ipv6.deny_all_igw_traffic":              awsAttrBool,
	"zonal_shift.config.enabled":             awsAttrBool,
	"dns_record.client_routing_policy":       awsAttrEnum("availability_zone_affinity", "partial_availability_zone_affinity", "any_availability_zone"),
	"secondary_ips.auto_assigned.per_subnet": awsAttrInt(0, 7, false),
}

var awsLBAttributeKeys = slices.Sorted(maps.Keys(awsLBAttributes))

func awsValidateAttrs(rules map[string]awsAttrRule, v any) error {
	attrs, _ := v.(map[string]string)
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		rule := rules[k]
		if rule == nil {
			return errReason(fmt.Sprintf("unknown attribute %q", k))
		}
		if reason := rule(attrs[k]); reason != "" {
			return errReason(fmt.Sprintf("%s=%q: %s", k, attrs[k], reason))
		}
	}
	return nil
}

func awsValidateTGAttributes(v any) error {
	if err := awsValidateAttrs(awsTGAttributes, v); err != nil {
		return err
	}
	attrs, _ := v.(map[string]string)
	if _, ok := attrs[awsTGUnhealthyDraining]; ok && !strings.EqualFold(attrs[awsTGUnhealthyTerminate], "false") {
		return errReason(awsTGUnhealthyDraining + " needs " + awsTGUnhealthyTerminate + "=false")
	}
	return nil
}

func awsValidateLBAttributes(v any) error { return awsValidateAttrs(awsLBAttributes, v) }

// awsCanonAttrs lower-cases boolean attribute values, which AWS expects in lower case.
func awsCanonAttrs(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if strings.EqualFold(v, "true") || strings.EqualFold(v, "false") {
			v = strings.ToLower(v)
		}
		out[k] = v
	}
	return out
}

// awsCLBOnly and awsNLBOnly are keys ignored (with a warning) on the other kind.
var (
	awsCLBOnly = []*Descriptor{AWSAccessLogEmitInterval, AWSConnectionDrainingEnabled, AWSConnectionDrainingTimeout, AWSIdleTimeout}
	awsNLBOnly = []*Descriptor{
		AWSTargetGroupAttributes, AWSEIPAllocations, AWSPrivateIPv4Addresses, AWSIPv6Addresses,
		AWSEnablePrefixForIPv6SourceNAT, AWSSourceNATIPv6Prefixes, AWSNLBTargetType, AWSIPAddressType,
		AWSAttributes, AWSALPNPolicy, AWSHealthCheckSuccessCodes, AWSSecurityGroupPrefixLists,
		AWSProxyProtocolPerTargetGroup, AWSDisableNLBSecurityGroups, AWSEnableTCPUDPListener,
		AWSInboundSGRulesOnPrivateLink,
	}
)

// awsMaxSecurityGroups is the AWS limit of security groups per load balancer.
const awsMaxSecurityGroups = 5
