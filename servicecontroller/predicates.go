package servicecontroller

import (
	"crypto/sha256"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

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

// nodeSet identifies a node set as the cloud last accepted it: the SHA-256 digest of its nodes'
// names and spec.providerIDs in name order; "" means unknown. A Service's state keeps only this
// digest, not a copy of the set, so the controller's memory does not grow as Services x Nodes.
type nodeSet string

// newNodeSet returns the digest of nodes, which eligibleNodes sorted by name.
func newNodeSet(nodes []*v1.Node) nodeSet {
	h := sha256.New()
	for _, n := range nodes {
		// Names and providerIDs contain no NUL, so the encoding is unambiguous.
		h.Write([]byte(n.Name))
		h.Write([]byte{0})
		h.Write([]byte(n.Spec.ProviderID))
		h.Write([]byte{0})
	}
	return nodeSet(h.Sum(nil))
}

// eligibleSets memoises, within one node pass, the eligible nodes and their digest per node
// selector: most Services share one (no selector), so a pass over S Services filters and
// hashes the N nodes once per distinct selector instead of S times.
type eligibleSets struct {
	all []*v1.Node
	mu  sync.Mutex
	by  map[string]eligibleSet
}

type eligibleSet struct {
	nodes []*v1.Node
	set   nodeSet
}

func newEligibleSets(all []*v1.Node) *eligibleSets {
	return &eligibleSets{all: all, by: map[string]eligibleSet{}}
}

// get returns the nodes eligible under selector and their digest; callers must not modify nodes.
func (e *eligibleSets) get(selector map[string]string) ([]*v1.Node, nodeSet) {
	key := selectorKey(selector)
	e.mu.Lock()
	defer e.mu.Unlock()
	if got, ok := e.by[key]; ok {
		return got.nodes, got.set
	}
	nodes := eligibleNodes(e.all, selector)
	got := eligibleSet{nodes: nodes, set: newNodeSet(nodes)}
	e.by[key] = got
	return got.nodes, got.set
}

// selectorKey is a canonical form of a node selector: its pairs in key order.
func selectorKey(selector map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(selector)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(selector[k])
		b.WriteByte(0)
	}
	return b.String()
}
