package servicecontroller

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// toBeDeletedTaint is set by the cluster autoscaler on a node it is about to remove.
const toBeDeletedTaint = "ToBeDeletedByClusterAutoscaler"

// nodeExclusion returns why node must not back any load balancer, or "" when it may. The
// predicates are upstream's stable node set (KEP-3458): readiness is deliberately not one, the
// load balancer's health checks handle it without rewriting the backend set.
func nodeExclusion(node *v1.Node) string {
	if node.DeletionTimestamp != nil {
		return "being deleted"
	}
	if v, ok := node.Labels[v1.LabelNodeExcludeBalancers]; ok {
		// As upstream: only a value that parses as false keeps the node; "true" and garbage exclude it.
		if include, err := strconv.ParseBool(v); err != nil || include {
			return "labelled " + v1.LabelNodeExcludeBalancers + "=" + v
		}
	}
	for _, t := range node.Spec.Taints {
		if t.Key == toBeDeletedTaint {
			return "tainted " + toBeDeletedTaint
		}
	}
	return ""
}

// matchesSelector reports whether node carries every selector key; an empty selector value
// matches any value.
func matchesSelector(node *v1.Node, selector map[string]string) bool {
	for k, want := range selector {
		got, ok := node.Labels[k]
		if !ok || want != "" && got != want {
			return false
		}
	}
	return true
}

// eligibleNodes returns the nodes that may back a Service with the given node selector,
// sorted by name so providers and tests see a stable order.
func eligibleNodes(nodes []*v1.Node, selector map[string]string) []*v1.Node {
	var out []*v1.Node
	for _, n := range nodes {
		if nodeExclusion(n) == "" && matchesSelector(n, selector) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b *v1.Node) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// nodeChangeRelevant reports whether a node update can change some Service's node set: its
// eligibility, its providerID, or its labels (any label may be in some Service's selector).
// Status-only updates (heartbeats, conditions) are not.
func nodeChangeRelevant(old, cur *v1.Node) bool {
	return (nodeExclusion(old) == "") != (nodeExclusion(cur) == "") ||
		old.Spec.ProviderID != cur.Spec.ProviderID ||
		!maps.Equal(old.Labels, cur.Labels)
}

// nodeSet is a node set as the cloud last accepted it: name -> spec.providerID.
type nodeSet map[string]string

func newNodeSet(nodes []*v1.Node) nodeSet {
	s := make(nodeSet, len(nodes))
	for _, n := range nodes {
		s[n.Name] = n.Spec.ProviderID
	}
	return s
}
