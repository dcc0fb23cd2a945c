package servicecontroller_test

import (
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// TestRestartIsQuiet checks that a controller started over converged Services and an
// unchanged cloud only reads: no cloud write, no status patch, no Event. Not parallel: it
// counts every call, and other tests' Services would be looked at too.
func TestRestartIsQuiet(t *testing.T) {
	cs := newClient(t)
	ns := newNamespace(t, cs)
	class := classFor(t, ns)
	cloud := newRecordingCloud(newFakeCloud(t, fake.Config{}))
	// Nodes, as in any real cluster: without them every sync warns that none is available.
	createNodes(t, cs, newNode("restart-1", nil), newNode("restart-2", nil))
	first := startController(t, testLogger(t), testOptions(class), cloud)

	const services = 20
	for i := range services {
		createService(t, cs, newService(ns, fmt.Sprintf("web-%02d", i), class))
	}
	converged := make([]*v1.Service, services)
	events := make([]int, services)
	for i := range converged {
		svc := waitForIngress(t, cs, ns, fmt.Sprintf("web-%02d", i))
		// Wait for the last Event too, so none of the first controller's lands after the restart.
		events[i] = eventCount(waitForEvents(t, cs, svc, v1.EventTypeNormal, servicecontroller.ReasonEnsuredLoadBalancer, 1), "", "")
		converged[i] = svc
	}
	first.stop()
	// Re-read after the stop: the first controller may have written since waitForIngress.
	for i, svc := range converged {
		converged[i] = getService(t, cs, ns, svc.Name)
	}
	cloud.ResetCalls()
	restarted := time.Now()

	second := startController(t, testLogger(t), testOptions(class), cloud)
	second.waitForCacheSync(t)
	// Every Service must have been ensured, else "no writes" proves nothing.
	calls, _ := waitSettled(t, cloud, restarted, services)
	t.Logf("restart over %d converged Services: %+v", services, calls)
	if calls.Writes != 0 {
		t.Errorf("restart made %d cloud writes, want 0: %v", calls.Writes, calls.ByOp)
	}
	// The first pass lists the cluster's load balancers once instead of reading each.
	if calls.ByOp[fake.OpList] != 1 || calls.ByOp[fake.OpGet] != 0 {
		t.Errorf("restart read the cloud %v, want one %s and no %s", calls.ByOp, fake.OpList, fake.OpGet)
	}
	for i, before := range converged {
		after := getService(t, cs, ns, before.Name)
		if after.ResourceVersion != before.ResourceVersion {
			t.Errorf("Service %s was written by the restarted controller: resourceVersion %s -> %s, status %+v",
				before.Name, before.ResourceVersion, after.ResourceVersion, after.Status.LoadBalancer)
		}
		evs := serviceEvents(t, cs, after)
		if n := eventCount(evs, "", ""); n != events[i] {
			t.Errorf("Service %s: %d Events after the restart, %d before:%s", before.Name, n, events[i], describeEvents(evs))
		}
	}
}
