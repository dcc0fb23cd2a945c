package gce

import (
	"crypto/sha1" //nolint:gosec // names, not security: upstream's shared backend service name uses SHA-1 too
	"encoding/hex"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// Names of the resources cloudlb manages, compatible with cloud-provider-gcp
// (gce_loadbalancer_naming.go) so a cluster can switch controllers without renaming.

// LoadBalancerName is "a" + the Service UID without dashes, cut to 32 characters: the name
// of the forwarding rule, address, target pool and per-Service backend service.
func LoadBalancerName(svc *v1.Service) string { return annotations.GCELoadBalancerName(svc) }

// udpRuleName is the second forwarding rule of a Service with both TCP and UDP ports.
func udpRuleName(lb string) string { return lb + "-udp" }

// trafficFirewallName is the firewall that lets clients reach the nodes.
func trafficFirewallName(lb string) string { return "k8s-fw-" + lb }

// nodeHealthCheckName is the health check on the nodes' kube-proxy (10256) shared by every
// externalTrafficPolicy Cluster Service of the cluster.
func nodeHealthCheckName(clusterID string) string { return "k8s-" + clusterID + "-node" }

// hcFirewallName is the firewall that lets Google's health checkers reach the nodes: shared
// for the node health check, per Service for externalTrafficPolicy Local. The external
// (target pool) and the backend-service variants have different names upstream.
func hcFirewallName(lb, clusterID string, shared, targetPool bool) string {
	switch {
	case shared && targetPool:
		return "k8s-" + clusterID + "-node-http-hc"
	case shared:
		return "k8s-" + clusterID + "-node-hc"
	case targetPool:
		return "k8s-" + lb + "-http-hc"
	default:
		return lb + "-hc"
	}
}

// instanceGroupName is the unmanaged instance group of the cluster, one per zone, shared by
// every internal Service.
func instanceGroupName(clusterID string) string {
	if clusterID == "" {
		return "k8s-ig"
	}
	return "k8s-ig--" + clusterID
}

// sharedBackendServiceName is the backend service shared by internal Services with the
// backend-share annotation: one per protocol and session affinity.
func sharedBackendServiceName(clusterID, protocol, affinity string) string {
	sum := sha1.Sum([]byte(affinity)) //nolint:gosec
	return "k8s-" + clusterID + "-internal-" + strings.ToLower(protocol) + "-nmv1-" + hex.EncodeToString(sum[:])[:16]
}

// maxClusterIDLen keeps the longest derived name (the shared backend service) within GCE's
// 63 characters.
const maxClusterIDLen = 16

// SanitizeClusterID turns a cluster name into a cluster ID usable inside GCE names: lower
// case letters, digits and '-', at most 16 characters (longer names keep a prefix and a
// hash so two long names stay distinct).
func SanitizeClusterID(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == '.':
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > maxClusterIDLen {
		sum := sha1.Sum([]byte(name)) //nolint:gosec
		s = strings.Trim(s[:7], "-") + "-" + hex.EncodeToString(sum[:4])
	}
	if s == "" {
		return "kubernetes"
	}
	return s
}

// serviceName is "namespace/name".
func serviceName(svc *v1.Service) string { return svc.Namespace + "/" + svc.Name }
