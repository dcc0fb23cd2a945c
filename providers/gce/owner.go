package gce

import (
	"encoding/json"
)

// Ownership. GCE load balancer resources have no tags, so, like cloud-provider-gcp, the
// description holds JSON naming the Service; cloudlb adds the cluster ID. A per-Service
// resource is ours when both match; a shared one (node health check, its firewall, instance
// groups, shared backend services) when the cluster ID matches and no Service is named.
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

// specLabel is the forwarding rule label holding Model.SpecHash. A forwarding rule's
// description cannot change after creation, so the hash, which changes with in-place
// updates, lives in a label (setLabels is in place).
const specLabel = "cloudlb-spec"
