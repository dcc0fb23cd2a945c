package aws

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Model is the desired Classic Load Balancer of one Service. It is plain data: it marshals
// to stable JSON (maps are sorted by encoding/json, slices are sorted by Build).
type Model struct {
	// Name is the load balancer name, "a" + the Service UID without dashes, cut to 32.
	Name string `json:"name"`
	// Service is "namespace/name".
	Service string `json:"service"`
	// Cluster is the cluster name of the ownership tag.
	Cluster  string `json:"cluster"`
	Internal bool   `json:"internal"`
	// Listeners are sorted by load balancer port.
	Listeners   []Listener  `json:"listeners"`
	HealthCheck HealthCheck `json:"healthCheck"`
	Attributes  Attributes  `json:"attributes"`
	// ProxyProtocolPorts are the instance ports that receive PROXY protocol v1.
	ProxyProtocolPorts []int32 `json:"proxyProtocolPorts,omitempty"`
	// SSLNegotiationPolicy is the predefined AWS policy applied to the SSL and HTTPS listeners.
	SSLNegotiationPolicy string `json:"sslNegotiationPolicy,omitempty"`
	// Subnets are subnet IDs, sorted.
	Subnets []string `json:"subnets"`
	// Instances are EC2 instance IDs, sorted.
	Instances []string `json:"instances"`
	// ManagedSecurityGroup is the k8s-elb-<name> group cloudlb owns; nil when the Service (or
	// the cloud config's ElbSecurityGroup) names its groups.
	ManagedSecurityGroup *SecurityGroup `json:"managedSecurityGroup,omitempty"`
	// SecurityGroups are groups the user owns that replace the managed one, then the extra
	// groups, in the order given.
	SecurityGroups []string `json:"securityGroups,omitempty"`
	// Tags are the user's additional tags plus the ownership tags.
	Tags map[string]string `json:"tags"`
	// kindKept says the Service's type names an NLB and this model keeps its Classic Load
	// Balancer (loadbalancer_kind.go): no NLB is looked for, none is created.
	kindKept bool
}

// Listener is one CLB listener.
type Listener struct {
	Protocol         string `json:"protocol"`
	Port             int32  `json:"port"`
	InstanceProtocol string `json:"instanceProtocol"`
	InstancePort     int32  `json:"instancePort"`
	SSLCertificateID string `json:"sslCertificateId,omitempty"`
}

// HealthCheck is the CLB health check.
type HealthCheck struct {
	Target             string `json:"target"`
	Interval           int32  `json:"interval"`
	Timeout            int32  `json:"timeout"`
	HealthyThreshold   int32  `json:"healthyThreshold"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold"`
}

// Attributes are the CLB attributes we manage, normalised: fields that do not apply while a
// feature is off are zero, so equal values mean an equal effect.
type Attributes struct {
	AccessLog          AccessLog          `json:"accessLog"`
	ConnectionDraining ConnectionDraining `json:"connectionDraining"`
	IdleTimeout        int32              `json:"idleTimeout"`
	CrossZone          bool               `json:"crossZone"`
}

// AccessLog is the access-log attribute.
type AccessLog struct {
	Enabled      bool   `json:"enabled"`
	EmitInterval int32  `json:"emitInterval,omitempty"`
	Bucket       string `json:"bucket,omitempty"`
	Prefix       string `json:"prefix,omitempty"`
}

// ConnectionDraining is the connection-draining attribute.
type ConnectionDraining struct {
	Enabled bool  `json:"enabled"`
	Timeout int32 `json:"timeout,omitempty"`
}

// normalize zeroes the fields that have no effect.
func (a Attributes) normalize() Attributes {
	if !a.AccessLog.Enabled {
		a.AccessLog = AccessLog{}
	}
	if !a.ConnectionDraining.Enabled {
		a.ConnectionDraining.Timeout = 0
	}
	return a
}

// SecurityGroup is the managed security group and its exact ingress rules.
type SecurityGroup struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Tags        map[string]string `json:"tags"`
	// Rules are sorted by ruleKey.
	Rules []Rule `json:"rules"`
}

// Rule is one ingress rule with one source: a CIDR (IPv4 or IPv6), or, on the NLB path, a
// security group (Group) or a managed prefix list (PrefixList), CIDR then being empty.
type Rule struct {
	Protocol    string `json:"protocol"`
	FromPort    int32  `json:"fromPort"`
	ToPort      int32  `json:"toPort"`
	CIDR        string `json:"cidr"`
	Group       string `json:"group,omitempty"`
	PrefixList  string `json:"prefixList,omitempty"`
	Description string `json:"description,omitempty"`
}

// key identifies a rule the way EC2 does: the description is not part of it.
func (r Rule) key() string {
	src := []any{r.Protocol, r.FromPort, r.ToPort, r.CIDR}
	if r.Group != "" || r.PrefixList != "" {
		src = append(src, r.Group, r.PrefixList)
	}
	b, _ := json.Marshal(src)
	return string(b)
}

// DeepHash summarises the parts of the model that DescribeLoadBalancers does not return (the
// attributes and the managed security group); see the package documentation.
func (m *Model) DeepHash() string {
	b, _ := json.Marshal(struct {
		A  Attributes     `json:"a"`
		SG *SecurityGroup `json:"sg"`
	}{m.Attributes.normalize(), m.ManagedSecurityGroup})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
