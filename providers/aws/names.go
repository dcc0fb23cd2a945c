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

// statusHost is the ELB hostname the Service's status shows, "" when none.
func statusHost(svc *v1.Service) string {
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if strings.Contains(in.Hostname, ".elb.") {
			return in.Hostname
		}
	}
	return ""
}

// hostOf reports whether an ELB hostname is the one of a load balancer called name: its
// first label is the name (after "internal-" for an internal one), a dash and an ID
// without dashes.
func hostOf(host, name string) bool {
	label, _, _ := strings.Cut(strings.TrimPrefix(strings.ToLower(host), "internal-"), ".")
	i := strings.LastIndex(label, "-")
	return i > 0 && label[:i] == strings.ToLower(name)
}

// checkName rejects a change of aws-load-balancer-name once the load balancer exists (the
// status shows its hostname): AWS cannot rename one, and creating one under the new name
// would leave the old one behind.
func checkName(svc *v1.Service, name string) error {
	if host := statusHost(svc); host != "" && !hostOf(host, name) {
		return providers.NewUserError(serviceName(svc), "%s cannot change once the load balancer exists: it is %s, not %s; restore the annotation as it was, or delete and re-create the Service",
			annotations.AWSName.Key, host, name)
	}
	return nil
}

// deletionName is the name of the load balancer to delete: the annotated one, or the
// default one when the status shows the load balancer still has it (the annotation was
// added afterwards). A status showing a third name is a user error: deleting under the
// annotated name would leave the real one behind.
func deletionName(svc *v1.Service) (string, error) {
	name := parsedName(svc)
	host := statusHost(svc)
	if host == "" || hostOf(host, name) {
		return name, nil
	}
	if def := LoadBalancerName(svc); hostOf(host, def) {
		return def, nil
	}
	return "", checkName(svc, name)
}

// ownedBy is the user error for a load balancer of ours that another Service of the
// cluster uses (possible with aws-load-balancer-name), nil otherwise.
func ownedBy(tags map[string]string, service, name string) error {
	if other := tags[tagServiceName]; other != "" && other != service {
		return providers.NewUserError(service, "load balancer %s belongs to Service %s; choose another %s", name, other, annotations.AWSName.Key)
	}
	return nil
}
