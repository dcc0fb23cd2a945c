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
