package scale_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The node burst of issue 16: burstNodes Ready Nodes join a converged cluster within
// burstSpread, one every burstSpread/burstNodes (as a cluster autoscaler's scale-up brings them
// Ready one after the other), and every load balancer should get its new backends in one write.
const (
	burstNodes  = 100
	burstSpread = 10 * time.Second
	// burstQuiet is how long the fake's write count must stay still for the burst to be over.
	burstQuiet = 5 * time.Second
	// burstTimeout bounds the wait for every load balancer's write.
	burstTimeout = 3 * time.Minute
)

// fakeWrites are the fake cloud's write operations (providers/fake's Op values other than the
// reads): every change of a load balancer is one of them.
var fakeWrites = []string{"CreateLoadBalancer", "ModifyLoadBalancer", "SetLoadBalancerBackends", "DeleteLoadBalancer"}

// burstRun is what one burst measured.
type burstRun struct {
	writes int           // the fake cloud's writes from the burst until quiet
	settle time.Duration // from the first node's creation until the last write
}

// nodeBurst adds burstNodes Ready Nodes to the converged cluster and counts the fake cloud's
// writes (cloudlb_cloud_api_calls_total of the controller manager at base) until every one of
// the services load balancers got one and burstQuiet passed without another. It returns the
// Nodes' names for deletion once the controller manager is stopped.
func nodeBurst(b *testing.B, cs kubernetes.Interface, base string, services int) (burstRun, []string) {
	b.Helper()
	before, err := fakeCalls(base)
	if err != nil {
		b.Errorf("node burst: %v", err)
		return burstRun{}, nil
	}
	began := time.Now()
	var names []string
	tick := time.NewTicker(burstSpread / burstNodes)
	for i := range burstNodes {
		names = append(names, createNodes(b, cs, "burst-node-", scaleNodes+i, 1)...)
		<-tick.C
	}
	tick.Stop()
	b.Logf("created %d Ready Nodes over %s", burstNodes, time.Since(began).Round(time.Millisecond))
	var run burstRun
	last, lastChange := -1, time.Now()
	for deadline := time.Now().Add(burstTimeout); ; {
		now, err := fakeCalls(base)
		if err != nil {
			b.Errorf("node burst: %v", err)
			return run, names
		}
		writes := 0
		for _, op := range fakeWrites {
			writes += int(now[op] - before[op])
		}
		if writes != last {
			last, lastChange = writes, time.Now()
			run = burstRun{writes: writes, settle: time.Since(began)}
		}
		if writes >= services && time.Since(lastChange) >= burstQuiet {
			break
		}
		if time.Now().After(deadline) {
			b.Errorf("node burst: %d writes for %d load balancers after %s", writes, services, burstTimeout)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	after, _ := fakeCalls(base)
	b.Logf("node burst of %d Nodes: %d writes for %d load balancers (%.2f each), the last %s after the first Node; fake calls by operation %v",
		burstNodes, run.writes, services, float64(run.writes)/float64(services), run.settle.Round(time.Millisecond), delta(before, after))
	return run, names
}

// fakeCalls reads cloudlb_cloud_api_calls_total{cloud="fake"} by operation (all results).
func fakeCalls(base string) (map[string]float64, error) {
	body, err := get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	return counterByLabel(string(body), "cloudlb_cloud_api_calls_total", "operation", `cloud="fake"`), nil
}

// delta is after minus before, by operation, leaving out the unchanged ones.
func delta(before, after map[string]float64) map[string]int {
	out := map[string]int{}
	for op, v := range after {
		if d := int(v - before[op]); d != 0 {
			out[op] = d
		}
	}
	return out
}

// deleteNodes removes the Nodes names.
func deleteNodes(b *testing.B, cs kubernetes.Interface, names []string) {
	b.Helper()
	parallel(b, names, func(ctx context.Context, name string) error {
		return cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	})
}
