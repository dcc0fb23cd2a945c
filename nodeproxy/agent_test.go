package nodeproxy

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"
)

// recordingActuator keeps the last Desired and fails while err is set.
type recordingActuator struct {
	mu   sync.Mutex
	last *Desired
	n    int
	err  error
}

func (r *recordingActuator) Apply(_ context.Context, d *Desired) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := *d
	r.last, r.n = &cp, r.n+1
	return r.err
}

func (r *recordingActuator) get() (*Desired, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.n
}

func (r *recordingActuator) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAgentDrivesActuatorsAndHealth(t *testing.T) {
	t.Parallel()
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: thisNode}}
	svc := localLBService("ns", "web")
	svc.Spec.HealthCheckNodePort = freePort(t)
	client := fake.NewClientset(node, svc,
		slice("ns", "web", "s1", "IPv4", 8080, ep("10.0.0.1", thisNode, nil, nil, nil)))
	act := &recordingActuator{}
	const period = 100 * time.Millisecond
	a, err := New(Options{NodeName: thisNode, SyncPeriod: period, NodePortAddresses: loopback}, Deps{Client: client, Actuators: []Actuator{act}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), testLogger(t)))
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()

	poll(t, "the first sync", func() bool {
		d, _ := act.get()
		return d != nil && d.NodeEligible && len(d.Services) == 1 && d.Services[0].LocalEndpoints == 1
	})
	if got := a.HealthServers().Ports(); got[svcName("ns", "web")] != svc.Spec.HealthCheckNodePort {
		t.Errorf("health server ports = %v", got)
	}
	if ok, _, _ := a.Health().Health(); !ok {
		t.Error("unhealthy after a successful sync")
	}

	node.Spec.Taints = []v1.Taint{{Key: TaintToBeDeletedByClusterAutoscaler, Effect: v1.TaintEffectNoSchedule}}
	if _, err := client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the taint", func() bool {
		d, _ := act.get()
		eligible, _ := a.Health().NodeEligibility()
		return !d.NodeEligible && !eligible
	})

	// An actuator that keeps failing: retried, and the agent turns unhealthy after 2x the period.
	act.setErr(errors.New("boom"))
	_, before := act.get()
	poll(t, "unhealthy", func() bool { return !a.Health().Healthy() })
	if _, after := act.get(); after <= before+1 {
		t.Errorf("failed syncs were not retried: %d applies before, %d after", before, after)
	}
	act.setErr(nil)
	poll(t, "healthy again", func() bool { return a.Health().Healthy() })
}

func svcName(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{}, Deps{Client: fake.NewClientset()}); err == nil {
		t.Error("New without a node name succeeded")
	}
	if _, err := New(Options{NodeName: "n"}, Deps{}); err == nil {
		t.Error("New without a client succeeded")
	}
}
