package contract

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// CreateReadyNode creates node and marks it Ready, with the status addresses it carries (the
// API server drops the status of a create).
func CreateReadyNode(ctx context.Context, cs kubernetes.Interface, node *v1.Node) error {
	addrs := node.Status.Addresses
	out, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create node %s: %w", node.Name, err)
	}
	out.Status.Addresses = addrs
	out.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue,
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("mark node %s ready: %w", node.Name, err)
	}
	return nil
}

// NodeChurn are Services whose load balancers follow the cluster's Nodes.
type NodeChurn struct {
	Services []*v1.Service
	// Node is added and removed again; its instance exists in the cloud.
	Node *v1.Node
	// Labels are set on Nodes before the Services are created and put back at the end
	// (name → label → value).
	Labels map[string]map[string]string
	// Relabel, when set, changes these labels after the Node was added and puts them back
	// before it is removed: the load balancers that select Nodes by label follow.
	Relabel map[string]map[string]string
	// Holds checks that the cloud targets exactly the ready Nodes given, for svcs.
	Holds func(t *testing.T, svcs []*v1.Service, nodes []v1.Node) error
	// Added checks the calls the addition made (nil: not bounded).
	Added func(calls fakecore.Tally) error
}

// NodeChurnTest adds a Node, relabels Nodes and removes the Node again under Services: at
// each step the cloud targets exactly the ready Nodes, and the addition stays within the
// cloud's write budget.
func NodeChurnTest(t *testing.T, c Cloud, nc NodeChurn) {
	tn := NewTenant(t, c.Tenants())
	label := func(changes map[string]map[string]string) map[string]map[string]string {
		t.Helper()
		// Not t.Context(): this also runs in the cleanup, after it is canceled.
		ctx := context.Background()
		undo := map[string]map[string]string{}
		for name, labels := range changes {
			n, err := tn.CS.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			undo[name] = map[string]string{}
			for k, v := range labels {
				undo[name][k] = n.Labels[k]
				if v == "" {
					delete(n.Labels, k)
				} else {
					n.Labels[k] = v
				}
			}
			if _, err := tn.CS.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		return undo
	}
	undo := label(nc.Labels)
	added := false
	// Nodes are cluster-wide: whatever happens, the next test finds them as they were.
	t.Cleanup(func() {
		if added {
			_ = tn.CS.CoreV1().Nodes().Delete(context.Background(), nc.Node.Name, metav1.DeleteOptions{})
		}
		label(undo)
	})
	for _, s := range nc.Services {
		tn.Create(s)
	}
	var svcs []*v1.Service
	for _, s := range nc.Services {
		svcs = append(svcs, tn.WaitIngress(s.Name, nil))
	}
	expect := func(step string) {
		t.Helper()
		WaitForWithin(t, tn.timeout(), step+": the load balancers to target the ready Nodes", func() (bool, string) {
			nodes, err := tn.CS.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			if err := nc.Holds(t, svcs, nodes.Items); err != nil {
				return false, err.Error()
			}
			return true, ""
		})
	}
	expect("created")

	fake := c.Fake()
	if fake != nil {
		WaitSettled(t, fake, 0)
		fake.ResetCalls()
	}
	added = true
	if err := CreateReadyNode(t.Context(), tn.CS, nc.Node.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	expect("node added")
	if fake != nil && nc.Added != nil {
		calls := WaitSettled(t, fake, 0)
		t.Logf("node added: %d writes\n%s", calls.Writes, calls)
		if err := nc.Added(calls); err != nil {
			t.Errorf("adding a node under %d Services: %v\n%s", len(svcs), err, calls)
		}
	}

	if nc.Relabel != nil {
		back := label(nc.Relabel)
		expect("labels changed")
		label(back)
	}
	if err := tn.CS.CoreV1().Nodes().Delete(t.Context(), nc.Node.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	added = false
	expect("node removed")
}
