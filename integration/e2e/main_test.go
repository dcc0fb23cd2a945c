// Package e2e_test runs cloudlb end to end: a real etcd and kube-apiserver (one shared control
// plane per package), cloudlb-controller-manager as separate processes with the fake cloud
// persisted to a state file, and the `cloudlb demo` binary. The binaries come from `make build
// testbin` (the test-integration target builds them first).
//
// The tests run one after the other: each starts its own controller processes, and they would
// compete for CPU and skew the timings they measure. Each test serves only its own Services
// through a per-test --load-balancer-class, so the controllers of one test never touch the
// Services another test left behind in the shared control plane.
package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/integration/controllermanager"
	"github.com/cloudlb/cloudlb/integration/controlplane"
	"github.com/cloudlb/cloudlb/providers/fake"
)

// clusterName is --cluster-name of every controller of this package: the owner tag of its load balancers.
const clusterName = "e2e"

var (
	// shared is the control plane used by all tests of this package.
	shared *controlplane.ControlPlane
	// binDir holds cloudlb-controller-manager and cloudlb, built by `make build`.
	binDir string
)

func TestMain(m *testing.M) {
	// Fail, never skip: `make test-integration` builds the binaries first.
	ccm, err := controllermanager.ResolveBinary("")
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		os.Exit(1)
	}
	binDir = filepath.Dir(ccm)
	if _, err := os.Stat(filepath.Join(binDir, "cloudlb")); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: cloudlb binary next to %s: %v (run `make build`)\n", ccm, err)
		os.Exit(1)
	}
	os.Exit(controlplane.RunMain(m, controlplane.Options{}, func(cp *controlplane.ControlPlane) error {
		shared = cp
		return nil
	}))
}

// newClient returns a clientset with its own client-side rate limiter, so a poller does not
// slow down a burst of creations made through another one.
func newClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(shared.RESTConfig())
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return cs
}

// createNamespace creates a fresh namespace for one test.
func createNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	return controlplane.CreateNamespace(t, cs, "e2e")
}

// classFor returns the load balancer class a test's controllers serve, unique per namespace.
func classFor(ns string) string { return "e2e.cloudlb.io/" + ns }

// lbService returns a LoadBalancer Service of the given class with one TCP port.
func lbService(name, class string) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.ServiceSpec{
			Type:              v1.ServiceTypeLoadBalancer,
			LoadBalancerClass: &class,
			Selector:          map[string]string{"app": name},
			Ports:             []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

// controllerOptions returns the options shared by the tests' controller processes: the fake
// cloud in statePath, this test's class, and a log file that outlives Stop.
func controllerOptions(t *testing.T, ns, statePath, identity string) controllermanager.Options {
	return controllermanager.Options{
		Kubeconfig:  shared.KubeconfigPath(),
		CloudConfig: fake.Config{StatePath: statePath, Identity: identity},
		ClusterName: clusterName,
		LogPath:     filepath.Join(t.TempDir(), identity+".log"),
		ExtraArgs: []string{
			"--load-balancer-class=" + classFor(ns),
			// The upstream default (20 QPS) would make the API client, not the controller, the
			// bottleneck when hundreds of Services arrive at once.
			"--kube-api-qps=500", "--kube-api-burst=1000",
			"--v=2",
		},
	}
}

// pollFor polls cond every interval until it holds; it fails the test after timeout or as soon
// as one of procs (which must keep running) has exited.
func pollFor(t *testing.T, what string, interval, timeout time.Duration, procs []*controllermanager.Process, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), interval, timeout, true, func(ctx context.Context) (bool, error) {
		for _, p := range procs {
			if p.Exited() {
				return false, fmt.Errorf("controller manager (pid %d) exited:\n%s", p.PID(), p.Tail(20))
			}
		}
		return cond(ctx)
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// listServices returns the Services of ns.
func listServices(ctx context.Context, cs kubernetes.Interface, ns string) ([]v1.Service, error) {
	list, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return list.Items, nil
}

// withIngress counts the Services that have an ingress address.
func withIngress(svcs []v1.Service) int {
	n := 0
	for _, s := range svcs {
		if len(s.Status.LoadBalancer.Ingress) > 0 {
			n++
		}
	}
	return n
}

// loadBalancers returns the fake cloud's load balancers of Services in ns, read from the state file.
func loadBalancers(t *testing.T, statePath, ns string) []fake.LoadBalancer {
	t.Helper()
	cloud, err := fake.New(fake.Config{StatePath: statePath})
	if err != nil {
		t.Fatalf("open the fake cloud state: %v", err)
	}
	all, err := cloud.LoadBalancers()
	if err != nil {
		t.Fatalf("read the fake cloud state: %v", err)
	}
	return slices.DeleteFunc(all, func(lb fake.LoadBalancer) bool { return !strings.HasPrefix(lb.Service, ns+"/") })
}

// createServices creates svcs concurrently, at most parallel at a time, and returns the errors.
func createServices(ctx context.Context, cs kubernetes.Interface, ns string, svcs []*v1.Service, parallel int) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, parallel)
	)
	for _, svc := range svcs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("create %s: %w", svc.Name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}
