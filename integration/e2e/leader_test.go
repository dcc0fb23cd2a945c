package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/integration/controllermanager"
)

// Leader election timings: short, so that a hand-over fits in a test.
const (
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = 500 * time.Millisecond
	// acquiredLog is what client-go's leader election logs when it wins the Lease.
	acquiredLog = "Successfully acquired lease"
)

// TestLeaderElectionHandOver runs two controller processes on one Lease and one cloud: only
// the leader reconciles, and when it is killed the other takes over within the lease duration.
func TestLeaderElectionHandOver(t *testing.T) {
	began := time.Now()
	cs := newClient(t)
	ns := createNamespace(t, cs)
	statePath := filepath.Join(t.TempDir(), "fake-cloud.json")
	lease := "cloudlb-" + ns // unique per test run, so no earlier holder has to expire first

	procs := map[string]*controllermanager.Process{}
	for _, id := range []string{"ccm-a", "ccm-b"} {
		opts := controllerOptions(t, ns, statePath, id)
		opts.LeaderElect, opts.LeaseName = true, lease
		opts.LeaseDuration, opts.RenewDeadline, opts.RetryPeriod = leaseDuration, renewDeadline, retryPeriod
		procs[id] = controllermanager.StartForTest(t, opts)
	}
	all := []*controllermanager.Process{procs["ccm-a"], procs["ccm-b"]}

	names := []string{"one", "two", "three"}
	for _, name := range names {
		if _, err := cs.CoreV1().Services(ns).Create(t.Context(), lbService(name, classFor(ns)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pollFor(t, "the first Services to get an ingress", 50*time.Millisecond, 30*time.Second, all, func(ctx context.Context) (bool, error) {
		list, err := listServices(ctx, cs, ns)
		return err == nil && withIngress(list) == len(names), err
	})

	// Only one process wrote to the cloud, and it is the one that holds the Lease.
	leader := ""
	for _, lb := range loadBalancers(t, statePath, ns) {
		if leader == "" {
			leader = lb.LastWriter
		}
		if lb.LastWriter != leader {
			t.Errorf("load balancer of %s written by %q, others by %q: two processes reconciled", lb.Service, lb.LastWriter, leader)
		}
	}
	standby := map[string]string{"ccm-a": "ccm-b", "ccm-b": "ccm-a"}[leader]
	if standby == "" {
		t.Fatalf("load balancers written by %q, want ccm-a or ccm-b", leader)
	}
	if !logContains(t, procs[leader], acquiredLog) || logContains(t, procs[standby], acquiredLog) {
		t.Errorf("want only %s (the writer of the load balancers) to log %q", leader, acquiredLog)
	}
	holder := leaseHolder(t, cs, lease)
	if holder == "" {
		t.Fatalf("Lease kube-system/%s has no holder", lease)
	}
	t.Logf("%s leads (Lease holder %s), %s stands by", leader, holder, standby)

	if err := procs[leader].Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if _, err := cs.CoreV1().Services(ns).Create(t.Context(), lbService("after-handover", classFor(ns)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	survivor := []*controllermanager.Process{procs[standby]}
	var handOver time.Duration
	pollFor(t, "the Lease to change holder", 50*time.Millisecond, 3*leaseDuration, survivor, func(ctx context.Context) (bool, error) {
		h := leaseHolder(t, cs, lease)
		if h != "" && h != holder {
			handOver = time.Since(killed)
			return true, nil
		}
		return false, nil
	})
	pollFor(t, "the new Service to get an ingress", 50*time.Millisecond, 3*leaseDuration, survivor, func(ctx context.Context) (bool, error) {
		svc, err := cs.CoreV1().Services(ns).Get(ctx, "after-handover", metav1.GetOptions{})
		return err == nil && len(svc.Status.LoadBalancer.Ingress) > 0, err
	})
	served := time.Since(killed)
	t.Logf("hand-over: %s took the Lease %s after %s was killed, and served the new Service after %s (lease duration %s, retry period %s); test took %s",
		standby, handOver.Round(time.Millisecond), leader, served.Round(time.Millisecond), leaseDuration, retryPeriod, time.Since(began).Round(time.Millisecond))
	// Expected: at most leaseDuration + retryPeriod; twice the lease duration absorbs a loaded machine.
	if handOver >= 2*leaseDuration {
		t.Errorf("hand-over took %s, want less than %s", handOver, 2*leaseDuration)
	}
	found := false
	for _, lb := range loadBalancers(t, statePath, ns) {
		if lb.Service == ns+"/after-handover" {
			found = true
			if lb.LastWriter != standby {
				t.Errorf("the new Service's load balancer was written by %q, want the new leader %s", lb.LastWriter, standby)
			}
		}
	}
	if !found {
		t.Errorf("no load balancer for %s/after-handover in the cloud", ns)
	}
	if !logContains(t, procs[standby], acquiredLog) {
		t.Errorf("%s did not log %q", standby, acquiredLog)
	}
}

// leaseHolder returns the holder of the Lease kube-system/name, or "" if there is none yet.
func leaseHolder(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(metav1.NamespaceSystem).Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatalf("get Lease kube-system/%s: %v", name, err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// logContains reports whether the process's log contains s.
func logContains(t *testing.T, p *controllermanager.Process, s string) bool {
	t.Helper()
	data, err := os.ReadFile(p.LogPath())
	if err != nil {
		t.Fatalf("read %s: %v", p.LogPath(), err)
	}
	return strings.Contains(string(data), s)
}
