// Package servicecontroller_test runs the real service controller in-process against a real
// etcd and kube-apiserver (one control plane for the package) and the fake cloud provider.
//
// Tests run in parallel without their controllers fighting over Services: each test has its
// own controller serving its own spec.loadBalancerClass ("cloudlb.test/<test>"), its own fake
// cloud and its own namespace. Nodes are cluster-wide, so the tests that create Nodes or count
// every cloud call of a restart do not call t.Parallel: Go runs them before the parallel ones.
package servicecontroller_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/integration/controlplane"
	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// shared is the control plane used by every test and benchmark of this package.
var shared *controlplane.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(controlplane.RunMain(m, controlplane.Options{}, func(cp *controlplane.ControlPlane) error {
		shared = cp
		return nil
	}))
}

// Timing of the controllers under test: short enough that retries and node batches take
// milliseconds, long enough that backoff steps and batch windows are measurable.
const (
	testClusterName  = "it-cluster"
	testMinRetry     = 100 * time.Millisecond
	testMaxRetry     = 2 * time.Second
	testBatchWindow  = 200 * time.Millisecond
	testWaitTimeout  = 30 * time.Second
	testPollInterval = 20 * time.Millisecond
)

// newClient returns an admin clientset of the shared control plane for the tests' own requests.
// Client-side rate limiting is off (negative QPS): setting up a thousand Services must not wait
// on client-go's token bucket. The controller's client is newControllerClient.
func newClient(tb testing.TB) kubernetes.Interface {
	tb.Helper()
	cfg := shared.RESTConfig()
	cfg.QPS, cfg.Burst = -1, 0
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		tb.Fatalf("create client: %v", err)
	}
	return cs
}

// newControllerClient is the controller's client, limited as the controller manager ships
// (servicecontroller.DefaultKubeAPIQPS and DefaultKubeAPIBurst), so that tests and benchmarks
// measure what users run.
func newControllerClient(tb testing.TB) kubernetes.Interface {
	tb.Helper()
	cfg := shared.RESTConfig()
	cfg.QPS, cfg.Burst = servicecontroller.DefaultKubeAPIQPS, servicecontroller.DefaultKubeAPIBurst
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		tb.Fatalf("create controller client: %v", err)
	}
	return cs
}

// testOptions are the controller options of a test serving class.
func testOptions(class string) servicecontroller.Options {
	return servicecontroller.Options{
		ClusterName:       testClusterName,
		LoadBalancerClass: class,
		AnnotationCloud:   annotations.AnyCloud,
		MinRetryDelay:     testMinRetry,
		MaxRetryDelay:     testMaxRetry,
		NodeBatchWindow:   testBatchWindow,
	}
}

// classFor is the load balancer class of a (sub)test using namespace ns: unique per run, so
// that with -count=N a controller never picks up the Services an earlier run left behind.
func classFor(tb testing.TB, ns string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '.'
	}, ns+"."+strings.ToLower(tb.Name()))
	return "cloudlb.test/" + strings.TrimRight(name[:min(len(name), 63)], ".-")
}

// newFakeCloud returns an in-memory fake cloud.
func newFakeCloud(tb testing.TB, cfg fake.Config) *fake.Cloud {
	tb.Helper()
	c, err := fake.New(cfg)
	if err != nil {
		tb.Fatalf("new fake cloud: %v", err)
	}
	return c
}

// runningController is a servicecontroller.Controller running in this process with its own
// informers.
type runningController struct {
	factory informers.SharedInformerFactory
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// startController starts a controller with its own informer factory over cloud; it is stopped
// at the end of tb (or earlier by stop). logger receives the controller's logs; hooks run
// before the informers start (to add event handlers).
func startController(tb testing.TB, logger klog.Logger, opts servicecontroller.Options, cloud cloudprovider.LoadBalancer, hooks ...func(informers.SharedInformerFactory)) *runningController {
	tb.Helper()
	client := newControllerClient(tb)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := servicecontroller.New(opts, cloud, client, factory.Core().V1().Services(), factory.Core().V1().Nodes())
	if err != nil {
		tb.Fatalf("new controller: %v", err)
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
	rc := &runningController{factory: factory, cancel: cancel, done: make(chan struct{})}
	for _, hook := range hooks {
		hook(factory)
	}
	factory.Start(ctx.Done())
	go func() {
		defer close(rc.done)
		c.Run(ctx)
	}()
	tb.Cleanup(rc.stop)
	return rc
}

// testLogger sends the controller's logs to t.Log (shown when the test fails or with -v).
func testLogger(tb testing.TB) klog.Logger {
	return ktesting.NewLogger(tb, ktesting.NewConfig(ktesting.Verbosity(2)))
}

// waitForCacheSync blocks until the controller's informers have synced.
func (rc *runningController) waitForCacheSync(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), testWaitTimeout)
	defer cancel()
	for typ, ok := range rc.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			tb.Fatalf("informer cache for %v did not sync", typ)
		}
	}
}

// stop cancels the controller, waits for Run to return and shuts the informers down.
func (rc *runningController) stop() {
	rc.once.Do(func() {
		rc.cancel()
		<-rc.done
		rc.factory.Shutdown()
	})
}
