package e2e_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudlb/cloudlb/integration/controllermanager"
	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// TestControllerKilledMidCreation SIGKILLs the controller while it provisions 200 Services
// and checks that a new process, sharing the cloud's state, finishes the job without leaking
// or duplicating a load balancer: a crash between the cloud write and the status patch must
// be repaired by adopting the load balancer, not by creating a second one.
func TestControllerKilledMidCreation(t *testing.T) {
	const (
		services  = 200
		killAfter = 50 // Services with an ingress when the first process is killed
	)
	began := time.Now()
	creator, poller := newClient(t), newClient(t)
	ns := createNamespace(t, creator)
	statePath := filepath.Join(t.TempDir(), "fake-cloud.json")

	opts := controllerOptions(t, ns, statePath, "first")
	// Slow enough that the kill lands while cloud calls are in flight.
	opts.CloudConfig.Latency = metav1.Duration{Duration: 5 * time.Millisecond}
	first := controllermanager.StartForTest(t, opts)

	svcs := make([]*v1.Service, services)
	for i := range svcs {
		svcs[i] = lbService(fmt.Sprintf("svc-%03d", i), classFor(ns))
	}
	created := make(chan []error, 1)
	go func() { created <- createServices(t.Context(), creator, ns, svcs, 50) }()

	var atKill int
	pollFor(t, fmt.Sprintf("%d Services with an ingress", killAfter), 10*time.Millisecond, 60*time.Second,
		[]*controllermanager.Process{first}, func(ctx context.Context) (bool, error) {
			list, err := listServices(ctx, poller, ns)
			if err != nil {
				return false, err
			}
			atKill = withIngress(list)
			return atKill >= killAfter, nil
		})
	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Since(began)
	list, err := listServices(t.Context(), poller, ns)
	if err != nil {
		t.Fatal(err)
	}
	atKill = withIngress(list)
	inFlight, orphans := interrupted(list, loadBalancers(t, statePath, ns))
	t.Logf("killed the first controller after %s with %d of %d Services created: with an ingress %d, in flight (finalizer, "+
		"no ingress) %d, of which with a load balancer the status did not report yet %d",
		killedAt.Round(time.Millisecond), len(list), services, atKill, inFlight, orphans)
	if atKill >= services {
		t.Fatalf("all %d Services had an ingress before the kill: the test did not interrupt the controller", services)
	}
	if errs := <-created; len(errs) > 0 {
		t.Fatalf("%d creations failed, first: %v", len(errs), errs[0])
	}

	opts = controllerOptions(t, ns, statePath, "second")
	opts.CloudConfig.Latency = metav1.Duration{Duration: 5 * time.Millisecond}
	restartedAt := time.Now()
	second := controllermanager.StartForTest(t, opts)
	pollFor(t, fmt.Sprintf("all %d Services with an ingress after the restart", services), 50*time.Millisecond, 60*time.Second,
		[]*controllermanager.Process{second}, func(ctx context.Context) (bool, error) {
			list, err = listServices(ctx, poller, ns)
			return err == nil && withIngress(list) == services, err
		})
	t.Logf("the second controller converged %s after its start; test took %s",
		time.Since(restartedAt).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	checkOnePerService(t, list, loadBalancers(t, statePath, ns), services)
}

// interrupted counts the Services the controller had started on (finalizer) but not finished
// (no ingress), and among them those whose load balancer the cloud already holds: the crash
// window the second controller must repair by adopting, not duplicating, the load balancer.
func interrupted(svcs []v1.Service, lbs []fake.LoadBalancer) (inFlight, orphans int) {
	hasLB := map[string]bool{}
	for _, lb := range lbs {
		hasLB[lb.ServiceUID] = true
	}
	for _, svc := range svcs {
		if len(svc.Status.LoadBalancer.Ingress) > 0 || !slices.Contains(svc.Finalizers, servicecontroller.Finalizer) {
			continue
		}
		inFlight++
		if hasLB[string(svc.UID)] {
			orphans++
		}
	}
	return inFlight, orphans
}

// checkOnePerService asserts that the cloud holds exactly one load balancer per Service, with
// distinct addresses, each reported as its Service's ingress, and that every Service carries
// the cleanup finalizer.
func checkOnePerService(t *testing.T, svcs []v1.Service, lbs []fake.LoadBalancer, want int) {
	t.Helper()
	if len(svcs) != want {
		t.Fatalf("%d Services in the namespace, want %d", len(svcs), want)
	}
	if len(lbs) != want {
		t.Errorf("%d load balancers for the namespace in the cloud, want %d (one per Service)", len(lbs), want)
	}
	byUID := map[string]fake.LoadBalancer{}
	byIP := map[string]string{}
	for _, lb := range lbs {
		if prev, dup := byUID[lb.ServiceUID]; dup {
			t.Errorf("two load balancers for Service UID %s: %s and %s", lb.ServiceUID, prev.Name, lb.Name)
		}
		byUID[lb.ServiceUID] = lb
		if other, dup := byIP[lb.IP]; dup {
			t.Errorf("address %s assigned to both %s and %s", lb.IP, other, lb.Name)
		}
		byIP[lb.IP] = lb.Name
		if lb.ClusterName != clusterName {
			t.Errorf("load balancer %s: cluster %q, want %q", lb.Name, lb.ClusterName, clusterName)
		}
	}
	for _, svc := range svcs {
		key := svc.Namespace + "/" + svc.Name
		if !slices.Contains(svc.Finalizers, servicecontroller.Finalizer) {
			t.Errorf("%s: finalizers %q lack %s", key, svc.Finalizers, servicecontroller.Finalizer)
		}
		lb, ok := byUID[string(svc.UID)]
		if !ok {
			t.Errorf("%s (uid %s): no load balancer in the cloud", key, svc.UID)
			continue
		}
		if lb.Service != key {
			t.Errorf("load balancer %s: service %q, want %q", lb.Name, lb.Service, key)
		}
		if ingress := svc.Status.LoadBalancer.Ingress; len(ingress) != 1 || ingress[0].IP != lb.IP {
			t.Errorf("%s: ingress %+v, want exactly the load balancer's address %s", key, ingress, lb.IP)
		}
	}
}
