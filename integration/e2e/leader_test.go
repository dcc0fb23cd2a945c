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

// election is two controller processes on one Lease and one cloud, with three Services served
// by the leader.
type election struct {
	cs              kubernetes.Interface
	ns, lease       string
	statePath       string
	procs           map[string]*controllermanager.Process
	leader, standby string
	holder          string // the leader's identity in the Lease
}

// elect starts ccm-a and ccm-b, creates three Services and checks that only the Lease holder
// reconciled them.
func elect(t *testing.T) *election {
	t.Helper()
	e := &election{cs: newClient(t), statePath: filepath.Join(t.TempDir(), "fake-cloud.json"), procs: map[string]*controllermanager.Process{}}
	e.ns = createNamespace(t, e.cs)
	e.lease = "cloudlb-" + e.ns // unique per test run, so no earlier holder has to expire first
	for _, id := range []string{"ccm-a", "ccm-b"} {
		opts := controllerOptions(t, e.ns, e.statePath, id)
		opts.LeaderElect, opts.LeaseName = true, e.lease
		opts.LeaseDuration, opts.RenewDeadline, opts.RetryPeriod = leaseDuration, renewDeadline, retryPeriod
		e.procs[id] = controllermanager.StartForTest(t, opts)
	}
	all := []*controllermanager.Process{e.procs["ccm-a"], e.procs["ccm-b"]}

	names := []string{"one", "two", "three"}
	for _, name := range names {
		if _, err := e.cs.CoreV1().Services(e.ns).Create(t.Context(), lbService(name, classFor(e.ns)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pollFor(t, "the first Services to get an ingress", 50*time.Millisecond, 30*time.Second, all, func(ctx context.Context) (bool, error) {
		list, err := listServices(ctx, e.cs, e.ns)
		return err == nil && withIngress(list) == len(names), err
	})

	// Only one process wrote to the cloud, and it is the one that holds the Lease.
	for _, lb := range loadBalancers(t, e.statePath, e.ns) {
		if e.leader == "" {
			e.leader = lb.LastWriter
		}
		if lb.LastWriter != e.leader {
			t.Errorf("load balancer of %s written by %q, others by %q: two processes reconciled", lb.Service, lb.LastWriter, e.leader)
		}
	}
	e.standby = map[string]string{"ccm-a": "ccm-b", "ccm-b": "ccm-a"}[e.leader]
	if e.standby == "" {
		t.Fatalf("load balancers written by %q, want ccm-a or ccm-b", e.leader)
	}
	if !logContains(t, e.procs[e.leader], acquiredLog) || logContains(t, e.procs[e.standby], acquiredLog) {
		t.Errorf("want only %s (the writer of the load balancers) to log %q", e.leader, acquiredLog)
	}
	e.holder = leaseHolder(t, e.cs, e.lease)
	if e.holder == "" {
		t.Fatalf("Lease kube-system/%s has no holder", e.lease)
	}
	t.Logf("%s leads (Lease holder %s), %s stands by", e.leader, e.holder, e.standby)
	return e
}

// awaitHandOver creates a Service and returns how long after since the standby took the Lease
// and served it; it checks that the new leader wrote the load balancer.
func (e *election) awaitHandOver(t *testing.T, since time.Time) (took, served time.Duration) {
	t.Helper()
	if _, err := e.cs.CoreV1().Services(e.ns).Create(t.Context(), lbService("after-handover", classFor(e.ns)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	survivor := []*controllermanager.Process{e.procs[e.standby]}
	pollFor(t, "the Lease to change holder", 50*time.Millisecond, 3*leaseDuration, survivor, func(ctx context.Context) (bool, error) {
		h := leaseHolder(t, e.cs, e.lease)
		if h != "" && h != e.holder {
			took = time.Since(since)
			return true, nil
		}
		return false, nil
	})
	pollFor(t, "the new Service to get an ingress", 50*time.Millisecond, 3*leaseDuration, survivor, func(ctx context.Context) (bool, error) {
		svc, err := e.cs.CoreV1().Services(e.ns).Get(ctx, "after-handover", metav1.GetOptions{})
		return err == nil && len(svc.Status.LoadBalancer.Ingress) > 0, err
	})
	served = time.Since(since)
	found := false
	for _, lb := range loadBalancers(t, e.statePath, e.ns) {
		if lb.Service == e.ns+"/after-handover" {
			found = true
			if lb.LastWriter != e.standby {
				t.Errorf("the new Service's load balancer was written by %q, want the new leader %s", lb.LastWriter, e.standby)
			}
		}
	}
	if !found {
		t.Errorf("no load balancer for %s/after-handover in the cloud", e.ns)
	}
	if !logContains(t, e.procs[e.standby], acquiredLog) {
		t.Errorf("%s did not log %q", e.standby, acquiredLog)
	}
	return took, served
}

// TestLeaderElectionHandOver runs two controller processes on one Lease and one cloud: only
// the leader reconciles, and when it is killed the other takes over within the lease duration.
func TestLeaderElectionHandOver(t *testing.T) {
	began := time.Now()
	e := elect(t)
	leader, standby, procs := e.leader, e.standby, e.procs

	if err := procs[leader].Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	handOver, served := e.awaitHandOver(t, killed)
	t.Logf("hand-over: %s took the Lease %s after %s was killed, and served the new Service after %s (lease duration %s, retry period %s); test took %s",
		standby, handOver.Round(time.Millisecond), leader, served.Round(time.Millisecond), leaseDuration, retryPeriod, time.Since(began).Round(time.Millisecond))
	// Expected: at most leaseDuration + retryPeriod; twice the lease duration absorbs a loaded machine.
	if handOver >= 2*leaseDuration {
		t.Errorf("hand-over took %s, want less than %s", handOver, 2*leaseDuration)
	}
}

// TestLeaderStopsOnSIGTERM stops the leader as Kubernetes does (SIGTERM): it stops its service
// controller and exits with status 0 at once. It cannot release the Lease (the upstream app
// runs leader election with context.TODO() and no ReleaseOnCancel, see
// cmd/cloudlb-controller-manager/shutdown.go), so the standby still waits for the Lease to
// expire: the hand-over takes about the lease duration, not the retry period.
func TestLeaderStopsOnSIGTERM(t *testing.T) {
	e := elect(t)
	leader := e.procs[e.leader]
	stopped := time.Now()
	if err := leader.Stop(); err != nil {
		t.Fatal(err)
	}
	stopTook := time.Since(stopped)
	if err := leader.Wait(); err != nil {
		t.Errorf("%s exited with %v after SIGTERM, want status 0 (a clean shutdown)", e.leader, err)
	}
	// The harness SIGKILLs after 10 s; a clean shutdown needs a fraction of that.
	if stopTook > 5*time.Second {
		t.Errorf("%s took %s to exit after SIGTERM, want less than 5s", e.leader, stopTook)
	}
	if !logContains(t, leader, "Stopping service controller") {
		t.Errorf("%s did not log %q: its service controller was not stopped", e.leader, "Stopping service controller")
	}
	handOver, served := e.awaitHandOver(t, stopped)
	t.Logf("after SIGTERM: %s exited in %s; %s took the Lease after %s and served the new Service after %s (lease duration %s, retry period %s)",
		e.leader, stopTook.Round(time.Millisecond), e.standby, handOver.Round(time.Millisecond), served.Round(time.Millisecond), leaseDuration, retryPeriod)
	// Without a release the Lease must expire: the standby waits at least the lease duration
	// minus one renewal interval. A hand-over faster than half the lease duration means the
	// Lease is released now: tighten this to about the retry period.
	if handOver < leaseDuration/2 {
		t.Errorf("hand-over took %s, less than half the lease duration %s: the Lease is released on SIGTERM now; make this test expect about the retry period", handOver, leaseDuration)
	}
	if handOver >= 2*leaseDuration {
		t.Errorf("hand-over took %s, want less than %s", handOver, 2*leaseDuration)
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
