package aws

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
)

// NLBModel is the desired Network Load Balancer of one Service (instance targets).
type NLBModel struct {
	Name     string   `json:"name"`
	Service  string   `json:"service"`
	Cluster  string   `json:"cluster"`
	Internal bool     `json:"internal"`
	Subnets  []string `json:"subnets"`
	// EIPAllocations and PrivateIPv4Addresses are per subnet, in Subnets order; fixed at
	// creation, so a change replaces the NLB.
	EIPAllocations       []string `json:"eipAllocations,omitempty"`
	PrivateIPv4Addresses []string `json:"privateIPv4Addresses,omitempty"`
	// IPAddressType is "dualstack", or "" for AWS's default ipv4; it changes in place.
	IPAddressType string `json:"ipAddressType,omitempty"`
	// IPv6Addresses and SourceNATIPv6Prefixes are per subnet, in Subnets order, and
	// PrefixForIPv6SourceNAT turns source NAT prefixes on; all three are fixed at creation.
	IPv6Addresses          []string `json:"ipv6Addresses,omitempty"`
	SourceNATIPv6Prefixes  []string `json:"sourceNATIPv6Prefixes,omitempty"`
	PrefixForIPv6SourceNAT bool     `json:"prefixForIPv6SourceNAT,omitempty"`
	// ManagedSecurityGroup is the group k8s-elb-<name> cloudlb owns (cloud config
	// NLBSecurityGroupMode = Managed); SecurityGroups are the user's own groups instead
	// (aws-load-balancer-security-groups), in which no rule is managed. With neither the NLB
	// has no security group; AWS cannot add the first or remove the last one later, so going
	// from groups to none or back replaces the NLB.
	ManagedSecurityGroup *SecurityGroup `json:"managedSecurityGroup,omitempty"`
	SecurityGroups       []string       `json:"securityGroups,omitempty"`
	// PrivateLinkInboundRules is "off" when the groups' inbound rules must not filter
	// PrivateLink traffic; "" is AWS's default, on.
	PrivateLinkInboundRules string `json:"privateLinkInboundRules,omitempty"`
	// Listeners are sorted by port and protocol.
	Listeners []NLBListener `json:"listeners"`
	// TargetGroups are sorted by name.
	TargetGroups []TargetGroup `json:"targetGroups"`
	CrossZone    bool          `json:"crossZone"`
	AccessLog    AccessLog     `json:"accessLog"`
	// Attributes are the other NLB attributes of aws-load-balancer-attributes; a known one
	// dropped later goes back to AWS's default (lbAttributeDefaults).
	Attributes map[string]string `json:"attributes,omitempty"`
	Instances  []string          `json:"instances"`
	// NodeRules are the ingress rules every instance's security group gets (client
	// traffic, health checks, path MTU discovery), sorted by key.
	NodeRules []Rule `json:"nodeRules"`
	// BackendGroup is the cluster's shared backend group, attached to the NLB when it has
	// security groups: the node groups let that one in, and NodeRules is empty.
	BackendGroup *BackendGroup     `json:"backendGroup,omitempty"`
	Tags         map[string]string `json:"tags"`
	// kindKept says the Service's type names a Classic Load Balancer and this model keeps its
	// NLB (loadbalancer_kind.go): no Classic Load Balancer is looked for, none is created.
	kindKept bool
}

// NLBListener is one listener forwarding to one target group.
type NLBListener struct {
	Port        int32  `json:"port"`
	Protocol    string `json:"protocol"`
	Certificate string `json:"certificate,omitempty"`
	SSLPolicy   string `json:"sslPolicy,omitempty"`
	// ALPNPolicy is set on TLS listeners only; "" is AWS's None.
	ALPNPolicy  string `json:"alpnPolicy,omitempty"`
	TargetGroup string `json:"targetGroup"`
}

// TargetGroup is an instance target group on a NodePort. Its name hashes the fields AWS
// cannot change, so a change of those creates a new group.
type TargetGroup struct {
	Name        string         `json:"name"`
	Protocol    string         `json:"protocol"`
	Port        int32          `json:"port"`
	HealthCheck NLBHealthCheck `json:"healthCheck"`
	// Attributes are the target group attributes we set (proxy protocol v2, client IP
	// preservation, ...). A known key dropped later goes back to AWS's default
	// (tgAttributeDefaults), unlike upstream which leaves the last value.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// NLBHealthCheck is a target group's health check.
type NLBHealthCheck struct {
	Protocol           string `json:"protocol"`
	Port               string `json:"port"`
	Path               string `json:"path,omitempty"`
	Interval           int32  `json:"interval"`
	Timeout            int32  `json:"timeout"`
	HealthyThreshold   int32  `json:"healthyThreshold"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold"`
	// SuccessCodes are the HTTP codes of a healthy HTTP or HTTPS check; "" is AWS's
	// default, defaultSuccessCodes.
	SuccessCodes string `json:"successCodes,omitempty"`
}

// Values AWS uses for "nothing chosen", and its defaults the model leaves out.
const (
	alpnNone     = "None"
	autoAssigned = "auto_assigned"
	enforceOn    = "on"
	// defaultSuccessCodes is AWS's matcher of HTTP and HTTPS health checks.
	defaultSuccessCodes = "200-399"
	// attrDeletionProtection is the NLB attribute that makes AWS refuse DeleteLoadBalancer.
	attrDeletionProtection = "deletion_protection.enabled"
)

// Hash summarises the whole model; an NLB whose spec-hash tag equals it needs no other read.
func (m *NLBModel) Hash() string {
	b, _ := json.Marshal(m)
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:8])
}

// subnetPin is what a subnet mapping fixes at creation: an Elastic IP allocation, a private
// IPv4 address, an IPv6 address, a source NAT IPv6 prefix ("auto_assigned" lets AWS choose).
type subnetPin struct {
	Allocation, PrivateIPv4, IPv6, NATPrefix string
}

// subnetMappings are the create-time subnet mappings, nil when nothing is pinned.
func (m *NLBModel) subnetMappings() map[string]subnetPin {
	if len(m.EIPAllocations)+len(m.PrivateIPv4Addresses)+len(m.IPv6Addresses)+len(m.SourceNATIPv6Prefixes) == 0 {
		return nil
	}
	at := func(list []string, i int) string {
		if i < len(list) {
			return list[i]
		}
		return ""
	}
	out := map[string]subnetPin{}
	for i, s := range m.Subnets {
		out[s] = subnetPin{at(m.EIPAllocations, i), at(m.PrivateIPv4Addresses, i), at(m.IPv6Addresses, i), at(m.SourceNATIPv6Prefixes, i)}
	}
	return out
}

// sourceGroup is the group the node rules let in when the NLB has groups: the managed one
// (its ID is known only at apply, managedGroupRef stands for it), else the first of the
// user's, as for a Classic Load Balancer.
func (m *NLBModel) sourceGroup() string {
	if m.ManagedSecurityGroup != nil {
		return managedGroupRef
	}
	return sourceGroup(m.SecurityGroups)
}

// hasGroups reports whether the NLB is created with security groups.
func (m *NLBModel) hasGroups() bool {
	return m.ManagedSecurityGroup != nil || len(m.SecurityGroups) > 0
}

// isHTTP reports whether a health check protocol has a path and a matcher.
func isHTTP(proto string) bool { return proto == "HTTP" || proto == "HTTPS" }

// ruleProtocols are the security-group protocols of a listener or target group protocol.
func ruleProtocols(proto string) []string {
	switch proto {
	case "UDP":
		return []string{"udp"}
	case "TCP_UDP":
		return []string{"tcp", "udp"}
	}
	return []string{"tcp"}
}
