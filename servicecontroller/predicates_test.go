package servicecontroller

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func taint(key string) func(*v1.Node) {
	return func(n *v1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: key, Effect: v1.TaintEffectNoSchedule})
	}
}

func nodeDeleting(n *v1.Node) {
	now := metav1.Now()
	n.DeletionTimestamp = &now
}

func notReady(n *v1.Node) {
	n.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionFalse}}
}

func TestNodeExclusion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		node     *v1.Node
		eligible bool
	}{
		{"plain node", node("n"), true},
		{"being deleted", node("n", nodeDeleting), false},
		{"exclude label true", node("n", withLabel(v1.LabelNodeExcludeBalancers, "true")), false},
		{"exclude label empty", node("n", withLabel(v1.LabelNodeExcludeBalancers, "")), false},
		{"exclude label garbage", node("n", withLabel(v1.LabelNodeExcludeBalancers, "yes please")), false},
		{"exclude label false", node("n", withLabel(v1.LabelNodeExcludeBalancers, "false")), true},
		{"exclude label False (ParseBool, as upstream)", node("n", withLabel(v1.LabelNodeExcludeBalancers, "False")), true},
		{"autoscaler deletion taint", node("n", taint(toBeDeletedTaint)), false},
		{"another taint", node("n", taint("dedicated")), true},
		{"not ready (left to the load balancer's health checks)", node("n", notReady), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reason := nodeExclusion(tt.node)
			if (reason == "") != tt.eligible {
				t.Errorf("nodeExclusion = %q, want eligible %v", reason, tt.eligible)
			}
		})
	}
}

func TestMatchesSelector(t *testing.T) {
	t.Parallel()
	n := node("n", withLabel("role", "lb"), withLabel("zone", "a"))
	tests := []struct {
		name     string
		selector map[string]string
		want     bool
	}{
		{"no selector", nil, true},
		{"key and value", map[string]string{"role": "lb"}, true},
		{"empty value matches any", map[string]string{"zone": ""}, true},
		{"every key must match", map[string]string{"role": "lb", "zone": "b"}, false},
		{"missing key", map[string]string{"gpu": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := matchesSelector(n, tt.selector); got != tt.want {
				t.Errorf("matchesSelector = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEligibleNodesSorted(t *testing.T) {
	t.Parallel()
	got := eligibleNodes([]*v1.Node{node("c"), node("a", nodeDeleting), node("b")}, nil)
	var names []string
	for _, n := range got {
		names = append(names, n.Name)
	}
	if want := []string{"b", "c"}; !slices.Equal(names, want) {
		t.Errorf("eligible = %v, want %v", names, want)
	}
}

func withProviderID(id string) func(*v1.Node) {
	return func(n *v1.Node) { n.Spec.ProviderID = id }
}

// TestNodeSetDigest: two node sets have one digest exactly when they hold the same names with
// the same providerIDs, whatever order the lister returned them in.
func TestNodeSetDigest(t *testing.T) {
	t.Parallel()
	base := []*v1.Node{node("a"), node("b")}
	for _, tc := range []struct {
		name  string
		other []*v1.Node
		same  bool
	}{
		{"same nodes listed in another order", []*v1.Node{node("b"), node("a")}, true},
		{"a node more", []*v1.Node{node("a"), node("b"), node("c")}, false},
		{"a node less", []*v1.Node{node("a")}, false},
		{"a providerID changed", []*v1.Node{node("a"), node("b", withProviderID("fake://b2"))}, false},
		{"a providerID set late", []*v1.Node{node("a"), node("b", withProviderID(""))}, false},
		{"a node renamed", []*v1.Node{node("a"), node("bb", withProviderID("fake://b"))}, false},
		{"no nodes", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newNodeSet(eligibleNodes(tc.other, nil)) == newNodeSet(eligibleNodes(base, nil))
			if got != tc.same {
				t.Errorf("same digest = %v, want %v", got, tc.same)
			}
		})
	}
	// Name and providerID boundaries: "ab"+"c" must not read as "a"+"bc".
	ab := newNodeSet([]*v1.Node{node("ab", withProviderID("c"))})
	if a := newNodeSet([]*v1.Node{node("a", withProviderID("bc"))}); a == ab {
		t.Error(`node "a" with providerID "bc" has the digest of node "ab" with providerID "c"`)
	}
	if newNodeSet(nil) == "" {
		t.Error(`the empty set's digest is "", which means unknown`)
	}
}

// TestEligibleSetsPerSelector: a pass filters once per distinct selector, whatever the order
// of its keys, and Services with different selectors get their own sets.
func TestEligibleSetsPerSelector(t *testing.T) {
	t.Parallel()
	all := []*v1.Node{node("a", withLabel("pool", "x"), withLabel("zone", "1")), node("b", withLabel("pool", "y"))}
	sets := newEligibleSets(all)
	everyNode, everySet := sets.get(nil)
	if len(everyNode) != 2 {
		t.Fatalf("no selector: %d nodes, want 2", len(everyNode))
	}
	poolX, poolXSet := sets.get(map[string]string{"pool": "x", "zone": "1"})
	if len(poolX) != 1 || poolX[0].Name != "a" {
		t.Fatalf("pool=x,zone=1: %v, want [a]", poolX)
	}
	if poolXSet == everySet {
		t.Error("pool=x,zone=1 has the digest of every node")
	}
	again, againSet := sets.get(map[string]string{"zone": "1", "pool": "x"})
	if &again[0] != &poolX[0] || againSet != poolXSet {
		t.Error("the same selector was filtered twice in one pass")
	}
	if len(sets.by) != 2 {
		t.Errorf("%d memoised selectors, want 2", len(sets.by))
	}
}

func TestNodeChangeRelevant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*v1.Node)
		want   bool
	}{
		{"heartbeat (status only)", notReady, false},
		{"label added", withLabel("role", "lb"), true},
		{"label value changed", withLabel("kubernetes.io/hostname", "other"), true},
		{"exclude label", withLabel(v1.LabelNodeExcludeBalancers, "true"), true},
		{"providerID", func(n *v1.Node) { n.Spec.ProviderID = "fake://other" }, true},
		{"autoscaler deletion taint", taint(toBeDeletedTaint), true},
		{"another taint", taint("dedicated"), false},
		{"deletion started", nodeDeleting, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			old := node("n")
			cur := old.DeepCopy()
			tt.change(cur)
			if got := nodeChangeRelevant(old, cur); got != tt.want {
				t.Errorf("nodeChangeRelevant = %v, want %v", got, tt.want)
			}
		})
	}
}
