package aws

import (
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Tag keys cloudlb writes. The first two decide ownership; the cloudlb.io ones are
// bookkeeping that only Apply writes.
const (
	tagClusterPrefix = "kubernetes.io/cluster/"
	tagServiceName   = "kubernetes.io/service-name"
	tagOwned         = "owned"
	// tagSpecHash holds Model.DeepHash of the last fully applied model.
	tagSpecHash = "cloudlb.io/spec-hash"
	// tagSecurityGroup holds the ID of the managed security group, so a no-op reconcile can
	// check the load balancer's group list without reading EC2.
	tagSecurityGroup = "cloudlb.io/security-group"
	// tagUserKeys lists the additional-tag keys we applied, so a key dropped from the
	// annotation is removed while tags others added are left alone.
	tagUserKeys = "cloudlb.io/additional-tag-keys"
)

// Policy names, compatible with cloud-provider-aws so an adopted load balancer keeps them.
const (
	proxyProtocolPolicy = "k8s-proxyprotocol-enabled"
	sslPolicyPrefix     = "k8s-SSLNegotiationPolicy-"
)

// LoadBalancerName is "a" + the Service UID without dashes, cut to 32 characters, as
// upstream names it, so load balancers created by cloud-provider-aws keep their names.
func LoadBalancerName(svc *v1.Service) string {
	n := "a" + strings.ReplaceAll(string(svc.UID), "-", "")
	if len(n) > 32 {
		n = n[:32]
	}
	return n
}

// securityGroupName is the managed group's name, upstream's "k8s-elb-" + the LB name.
func securityGroupName(lbName string) string { return "k8s-elb-" + lbName }

// clusterTag is the ownership tag key of cluster.
func clusterTag(cluster string) string { return tagClusterPrefix + cluster }

// owned reports whether tags mark the resource as cluster's.
func owned(tags map[string]string, cluster string) bool {
	v, ok := tags[clusterTag(cluster)]
	return ok && v == tagOwned
}

// serviceName is "namespace/name".
func serviceName(svc *v1.Service) string { return svc.Namespace + "/" + svc.Name }
