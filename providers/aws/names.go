package aws

import (
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
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

// nameOf is the Service's load balancer name: aws-load-balancer-name, else LoadBalancerName.
func nameOf(svc *v1.Service, cfg *annotations.AWSConfig) string {
	if cfg != nil && cfg.Name != "" {
		return cfg.Name
	}
	return LoadBalancerName(svc)
}

// parsedName is nameOf with the annotations parsed here (invalid ones give the default).
func parsedName(svc *v1.Service) string {
	cfg, _ := annotations.Parse(svc, annotations.AWS)
	return nameOf(svc, cfg.AWS)
}

// candidateNames are the names under which the Service's load balancers may exist: the one
// its annotations give and upstream's default a<uid> (the annotation may have been added after
// creation). A load balancer under a third name is found through the tags (findOwned).
func candidateNames(svc *v1.Service, cfg *annotations.AWSConfig) []string {
	name, def := nameOf(svc, cfg), LoadBalancerName(svc)
	if name == def {
		return []string{name}
	}
	return []string{name, def}
}

// ownedBy is the user error for a load balancer of ours that another Service of the
// cluster uses (possible with aws-load-balancer-name), nil otherwise.
func ownedBy(tags map[string]string, service, name string) error {
	if other := tags[tagServiceName]; other != "" && other != service {
		return providers.NewUserError(service, "load balancer %s belongs to Service %s; choose another %s", name, other, annotations.AWSName.Key)
	}
	return nil
}
