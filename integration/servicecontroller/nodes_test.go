package servicecontroller_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/cloudlb/cloudlb/providers/fake"
)

const (
	nodePrefix        = "svcctl-"
	testNodeFinalizer = "cloudlb.test/hold"
	targetNodeLabels  = "service.beta.kubernetes.io/aws-load-balancer-target-node-labels"
)

// newNode is a Node named nodePrefix+name.
func newNode(name string, labels map[string]string, mutate ...func(*v1.Node)) *v1.Node {
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodePrefix + name, Labels: labels}}
	for _, m := range mutate {
		m(node)
	}
	return node
}

// createNodes creates the Nodes concurrently (as a scale-up adds them) and removes them when
// tb ends, test finalizer included.
func createNodes(tb testing.TB, cs kubernetes.Interface, nodes ...*v1.Node) {
	tb.Helper()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() {
			_, errs[i] = cs.CoreV1().Nodes().Create(tb.Context(), node, metav1.CreateOptions{})
		})
	}
	wg.Wait()
	for i, node := range nodes {
		if errs[i] != nil {
			tb.Fatalf("create node %s: %v", node.Name, errs[i])
		}
		tb.Cleanup(func() { deleteNode(tb, cs, node) })
	}
}

// deleteNode removes the test finalizer, if any, and deletes the Node.
func deleteNode(tb testing.TB, cs kubernetes.Interface, node *v1.Node) {
	ctx := context.Background() // tb.Context() is already cancelled during cleanup
	if len(node.Finalizers) > 0 {
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := cs.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			tb.Errorf("remove finalizers of node %s: %v", node.Name, err)
		}
	}
	if err := cs.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		tb.Errorf("delete node %s: %v", node.Name, err)
	}
}

// updateNode applies mutate to the current Node, retrying on conflicts.
func updateNode(tb testing.TB, cs kubernetes.Interface, name string, mutate func(*v1.Node)) {
	tb.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := cs.CoreV1().Nodes().Get(tb.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(node)
		_, err = cs.CoreV1().Nodes().Update(tb.Context(), node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		tb.Fatalf("update node %s: %v", name, err)
	}
}

func taintToBeDeleted(n *v1.Node) {
	n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: "ToBeDeletedByClusterAutoscaler", Value: "1700000000", Effect: v1.TaintEffectNoSchedule})
}

// waitForNodes waits until the load balancer of service has exactly the nodes want.
func waitForNodes(tb testing.TB, cloud *fake.Cloud, service string, want ...string) {
	tb.Helper()
	want = slices.Sorted(slices.Values(want))
	waitFor(tb, fmt.Sprintf("nodes %v behind %s", want, service), func() (bool, string) {
		lb, found := loadBalancerOf(tb, cloud, service)
		return found && slices.Equal(lb.Nodes, want), fmt.Sprintf("nodes %v", lb.Nodes)
	})
}

// TestNodes checks which nodes back a load balancer and that node changes are batched. Not
// parallel: Nodes are cluster-wide, and every running controller would send them to its cloud.
func TestNodes(t *testing.T) {
	cs := newClient(t)
	ns := newNamespace(t, cs)
	class := classFor(t, ns)
	cloud := newRecordingCloud(newFakeCloud(t, fake.Config{}))

	blue := map[string]string{"pool": "blue"}
	ready1, ready2 := nodePrefix+"ready-1", nodePrefix+"ready-2"
	deleting := newNode("deleting", blue, func(n *v1.Node) { n.Finalizers = []string{testNodeFinalizer} })
	createNodes(t, cs,
		newNode("ready-1", blue),
		newNode("ready-2", nil),
		newNode("excluded", map[string]string{v1.LabelNodeExcludeBalancers: "true"}),
		newNode("tainted", blue, taintToBeDeleted),
		deleting,
	)
	if err := cs.CoreV1().Nodes().Delete(t.Context(), deleting.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete node %s: %v", deleting.Name, err)
	}

	startController(t, testLogger(t), testOptions(class), cloud)
	createService(t, cs, newService(ns, "plain", class))
	createService(t, cs, newService(ns, "blue", class, withAnnotation(targetNodeLabels, "pool=blue")))
	plainKey, blueKey := ns+"/plain", ns+"/blue"

	// Excluded, tainted and deleted nodes never back a load balancer; the node selector
	// narrows the rest.
	waitForNodes(t, cloud.Cloud, plainKey, ready1, ready2)
	waitForNodes(t, cloud.Cloud, blueKey, ready1)

	// Ten nodes arriving together are one or two node passes, not ten.
	before := cloud.Calls().ByOp[fake.OpUpdateNodes]
	plainUpdates := len(cloud.callsFor(plainKey, methodUpdate))
	blueUpdates := len(cloud.callsFor(blueKey, methodUpdate))
	wantPlain, wantBlue := []string{ready1, ready2}, []string{ready1}
	var added []*v1.Node
	for i := range 10 {
		labels := map[string]string{}
		if i%2 == 0 {
			labels["pool"] = "blue"
			wantBlue = append(wantBlue, fmt.Sprintf("%snew-%d", nodePrefix, i))
		}
		added = append(added, newNode(fmt.Sprintf("new-%d", i), labels))
		wantPlain = append(wantPlain, added[i].Name)
	}
	createNodes(t, cs, added...)
	waitForNodes(t, cloud.Cloud, plainKey, wantPlain...)
	waitForNodes(t, cloud.Cloud, blueKey, wantBlue...)
	writes := cloud.Calls().ByOp[fake.OpUpdateNodes] - before
	plainUpdates = len(cloud.callsFor(plainKey, methodUpdate)) - plainUpdates
	blueUpdates = len(cloud.callsFor(blueKey, methodUpdate)) - blueUpdates
	t.Logf("10 new nodes: %d %s writes, UpdateLoadBalancer calls: plain %d, blue %d", writes, fake.OpUpdateNodes, plainUpdates, blueUpdates)
	if writes > 4 || plainUpdates > 2 || blueUpdates > 2 {
		t.Errorf("10 new nodes caused %d %s writes (plain %d, blue %d UpdateLoadBalancer calls), want at most 2 per Service: not batched",
			writes, fake.OpUpdateNodes, plainUpdates, blueUpdates)
	}

	// Relabelling a node into the selector updates only the Service that selects it.
	plainUpdates = len(cloud.callsFor(plainKey, methodUpdate))
	updateNode(t, cs, ready2, func(n *v1.Node) { n.Labels = blue })
	wantBlue = append(wantBlue, ready2)
	waitForNodes(t, cloud.Cloud, blueKey, wantBlue...)
	if n := len(cloud.callsFor(plainKey, methodUpdate)) - plainUpdates; n > 0 {
		t.Errorf("relabelling a node made %d UpdateLoadBalancer calls for the Service without a node selector, want 0", n)
	}

	// A node the autoscaler is about to remove leaves every load balancer.
	gone := wantBlue[1] // a new node behind both load balancers
	updateNode(t, cs, gone, taintToBeDeleted)
	waitForNodes(t, cloud.Cloud, plainKey, slices.DeleteFunc(slices.Clone(wantPlain), func(n string) bool { return n == gone })...)
	waitForNodes(t, cloud.Cloud, blueKey, slices.DeleteFunc(slices.Clone(wantBlue), func(n string) bool { return n == gone })...)
}
