package gce

import (
	"encoding/json"
	"strings"
)

// Ownership. GCE load balancer resources have no tags, so, like cloud-provider-gcp, the
// description holds JSON naming the Service; cloudlb adds the cluster ID. A per-Service
// resource is ours when both match; a shared one (node health check, its firewall, instance
// groups, shared backend services) when the cluster ID matches and no Service is named.
//
// cloud-provider-gcp (upstream) writes no cluster ID, and descriptions cannot change, so
// cloudlb also takes over what upstream made for the same Service (adoption):
//
//   - a per-Service object is upstream's for this Service when its name is one cloudlb derives
//     from the Service's UID (observe reads only those names, so the UID ties it to this
//     cluster's Service object) and its description names the Service without a cluster
//     (gce_loadbalancer_naming.go makeServiceDescription, makeFirewallDescription,
//     makeBackendServiceDescription); upstream's own quirks are accepted too: the external
//     health check <lb> names itself (makeHTTPHealthCheck passes the check's name to
//     makeHealthCheckDescription) and the internal health-check firewall <lb>-hc has an empty
//     description (ensureInternalFirewalls);
//   - a shared object is upstream's for this cluster when its name carries the cluster ID
//     (k8s-<id>-node, k8s-<id>-node-hc, k8s-<id>-node-http-hc, k8s-ig--<id>,
//     k8s-<id>-internal-...) and its description is upstream's: empty (the internal node
//     health check, shared backend services, instance groups), naming the object itself (the
//     external node health check) or {"kubernetes.io/cluster-id":"<id>"} (the external node
//     health-check firewall, which is cloudlb's shared description too).
//
// A forwarding rule or address cloudlb took over records it in the label ownerLabel
// (adopt.go); a rule labelled for another cluster is never ours.
type ownerDesc struct {
	Service string `json:"kubernetes.io/service-name,omitempty"`
	Cluster string `json:"kubernetes.io/cluster-id,omitempty"`
}

func describe(service, cluster string) string {
	b, _ := json.Marshal(ownerDesc{Service: service, Cluster: cluster})
	return string(b)
}

func parseDesc(d string) ownerDesc {
	var o ownerDesc
	_ = json.Unmarshal([]byte(d), &o) // a description that is not our JSON names no owner
	return o
}

// ownedBy reports whether a per-Service resource's description names this Service and cluster.
func ownedBy(desc, service, cluster string) bool {
	o := parseDesc(desc)
	return o.Service == service && o.Cluster == cluster
}

// sharedOwned reports whether a shared resource belongs to this cluster.
func sharedOwned(desc, cluster string) bool {
	o := parseDesc(desc)
	return o.Service == "" && o.Cluster == cluster
}

// perServiceNames are the names cloudlb and upstream derive from the Service's UID.
func perServiceNames(lb, clusterID string) []string {
	return []string{lb, udpRuleName(lb), trafficFirewallName(lb), hcFirewallName(lb, clusterID, false, true), hcFirewallName(lb, clusterID, false, false)}
}

// upstreamOwned reports whether an object named name with description desc is what
// cloud-provider-gcp made for the Service of model m (see the comment at the top).
func upstreamOwned(m *Model, name, desc string) bool {
	isPerService := false
	for _, n := range perServiceNames(m.Name, m.ClusterID) {
		isPerService = isPerService || n == name
	}
	o := parseDesc(desc)
	switch {
	case isPerService:
		return o.Cluster == "" && (o.Service == m.Service ||
			name == m.Name && o.Service == m.Name || // the external health check <lb>
			desc == "" && name == hcFirewallName(m.Name, m.ClusterID, false, false))
	case m.ClusterID == "" || !sharedName(name, m.ClusterID):
		return false
	}
	return desc == "" || o.Service == name && o.Cluster == "" || o.Service == "" && o.Cluster == m.ClusterID
}

// sharedName reports whether name is one of the cluster's shared object names.
func sharedName(name, clusterID string) bool {
	return name == instanceGroupName(clusterID) || name == nodeHealthCheckName(clusterID) ||
		name == hcFirewallName("", clusterID, true, true) || name == hcFirewallName("", clusterID, true, false) ||
		strings.HasPrefix(name, "k8s-"+clusterID+"-internal-")
}

// owns reports whether an object observed for model m is ours: cloudlb's description for
// this Service and cluster (or the cluster's shared description), or upstream's (adoption).
func owns(m *Model, name, desc string) bool {
	if ownedBy(desc, m.Service, m.ClusterID) || upstreamOwned(m, name, desc) {
		return true
	}
	for _, n := range perServiceNames(m.Name, m.ClusterID) {
		if n == name {
			return false
		}
	}
	return sharedOwned(desc, m.ClusterID)
}

// specLabel is the forwarding rule label holding Model.SpecHash. A forwarding rule's
// description cannot change after creation, so the hash, which changes with in-place
// updates, lives in a label (setLabels is in place).
const specLabel = "cloudlb-spec"

// ownerLabel is the label of forwarding rules and addresses holding the cluster ID of the
// cloudlb that manages them: written at creation, and on adoption of upstream's (whose
// description names no cluster), in the same setLabels call as the spec label.
const ownerLabel = "cloudlb-cluster-id"
