// Package contract is what the cloud contract suites (integration/awscontract,
// azurecontract, gcecontract) share: a Tenant is one test's slice of a shared control plane (a
// namespace, a LoadBalancerClass, and cloudlb's service controller serving that class in this
// process over a provider the suite builds), with the Service helpers the suites use; and the
// tests every suite runs (RunSerial, RunParallel: no-op resyncs, node churn, throttling, the
// controller killed between writes, deletion, lifecycles, every annotation changed, the seed
// examples), written once against a small per-cloud adapter (Cloud) and the cloud's cases
// (Contract). It holds nothing cloud-specific.
package contract

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/integration/controlplane"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// WaitTimeout and PollInterval bound every wait of the suites.
const (
	WaitTimeout  = 40 * time.Second
	PollInterval = 25 * time.Millisecond
)

// Config is what a suite's tenants share.
type Config struct {
	// REST reaches the control plane (admin, without client-side rate limits).
	REST *rest.Config
	// NamespacePrefix names the tenants' namespaces (prefix-<random>).
	NamespacePrefix string
	// ClusterName is the controller's --cluster-name.
	ClusterName     string
	AnnotationCloud annotations.Cloud
	// NewCloud builds a fresh provider for each controller start, as a process start would.
	NewCloud func(t *testing.T) cloudprovider.LoadBalancer
}

// Tenant is one test's namespace, LoadBalancerClass and controller.
type Tenant struct {
	T     *testing.T
	CS    kubernetes.Interface
	NS    string
	Class string
	// Timeout bounds the tenant's waits (WaitIngress, WaitGone, DeleteAll); 0 means
	// WaitTimeout. A test that injects faults slows convergence down on purpose.
	Timeout time.Duration
	cfg     Config
	ctl     *controller
}

func (tn *Tenant) timeout() time.Duration {
	if tn.Timeout > 0 {
		return tn.Timeout
	}
	return WaitTimeout
}

// NewTenant creates the namespace and starts the controller. When the test ends its
// Services are deleted, their load balancers awaited gone, and then the controller stops.
func NewTenant(t *testing.T, cfg Config) *Tenant {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg.REST)
	if err != nil {
		t.Fatal(err)
	}
	tn := &Tenant{T: t, CS: cs, NS: controlplane.CreateNamespace(t, cs, cfg.NamespacePrefix), cfg: cfg}
	tn.Class = ClassFor(tn.NS, t.Name())
	tn.ctl = tn.start()
	// One cleanup, so that the Services are deleted by whichever controller runs last.
	t.Cleanup(func() {
		tn.DeleteAll()
		tn.ctl.stop()
	})
	return tn
}

// ClassFor is a LoadBalancerClass unique to the namespace and test.
func ClassFor(ns, test string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '.'
	}, ns+"."+strings.ToLower(test))
	return "cloudlb.test/" + strings.TrimRight(name[:min(len(name), 63)], ".-")
}

// controller is a service controller running in this process.
type controller struct {
	factory informers.SharedInformerFactory
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// start runs a new controller over a new provider; tune adjusts its options.
func (tn *Tenant) start(tune ...func(*servicecontroller.Options)) *controller {
	t := tn.T
	factory := informers.NewSharedInformerFactory(tn.CS, 0)
	opts := servicecontroller.Options{
		ClusterName:       tn.cfg.ClusterName,
		LoadBalancerClass: tn.Class,
		AnnotationCloud:   tn.cfg.AnnotationCloud,
		MinRetryDelay:     100 * time.Millisecond,
		MaxRetryDelay:     2 * time.Second,
		NodeBatchWindow:   200 * time.Millisecond,
	}
	for _, f := range tune {
		f(&opts)
	}
	c, err := servicecontroller.New(opts, tn.cfg.NewCloud(t), tn.CS, factory.Core().V1().Services(), factory.Core().V1().Nodes())
	if err != nil {
		t.Fatalf("new controller: %v", err)
	}
	logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.Verbosity(2)))
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
	rc := &controller{factory: factory, cancel: cancel, done: make(chan struct{})}
	factory.Start(ctx.Done())
	go func() {
		defer close(rc.done)
		c.Run(ctx)
	}()
	return rc
}

func (rc *controller) stop() {
	rc.once.Do(func() {
		rc.cancel()
		<-rc.done
		rc.factory.Shutdown()
	})
}

// Restart stops the controller and starts a new one over a new provider, as a process
// restart would; tune adjusts the new one's options.
func (tn *Tenant) Restart(tune ...func(*servicecontroller.Options)) {
	tn.ctl.stop()
	tn.ctl = tn.start(tune...)
}

// Stop stops the controller; Restart starts one again (the cleanup needs one to delete).
func (tn *Tenant) Stop() { tn.ctl.stop() }

// DeleteAll deletes the tenant's Services and waits until the controller released them.
func (tn *Tenant) DeleteAll() {
	t := tn.T
	ctx := context.Background()
	list, err := tn.CS.CoreV1().Services(tn.NS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("list services: %v", err)
		return
	}
	for _, s := range list.Items {
		if err := tn.CS.CoreV1().Services(tn.NS).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s: %v", s.Name, err)
		}
	}
	for _, s := range list.Items {
		tn.WaitGone(s.Name)
	}
}

// WaitGone waits until the Service is gone (its finalizer removed by the controller).
func (tn *Tenant) WaitGone(name string) {
	WaitForWithin(tn.T, tn.timeout(), tn.NS+"/"+name+" to be gone", func() (bool, string) {
		s, err := tn.CS.CoreV1().Services(tn.NS).Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, fmt.Sprintf("finalizers %v", s.Finalizers)
	})
}

// NewService is a LoadBalancer Service with one TCP port 80 (target 8080) and the given
// annotations; opts adjust it.
func NewService(name string, ann map[string]string, opts ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec: v1.ServiceSpec{
			Type:     v1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

// Create creates svc in the tenant's namespace with its class.
func (tn *Tenant) Create(svc *v1.Service) *v1.Service {
	tn.T.Helper()
	svc = svc.DeepCopy()
	svc.Namespace = tn.NS
	svc.Spec.LoadBalancerClass = &tn.Class
	out, err := tn.CS.CoreV1().Services(tn.NS).Create(tn.T.Context(), svc, metav1.CreateOptions{})
	if err != nil {
		tn.T.Fatalf("create service %s: %v", svc.Name, err)
	}
	return out
}

// Update applies mutate to the current Service (its Annotations never nil), retrying on
// conflicts.
func (tn *Tenant) Update(name string, mutate func(*v1.Service)) *v1.Service {
	tn.T.Helper()
	var out *v1.Service
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := tn.CS.CoreV1().Services(tn.NS).Get(tn.T.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		mutate(s)
		out, err = tn.CS.CoreV1().Services(tn.NS).Update(tn.T.Context(), s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		tn.T.Fatalf("update service %s: %v", name, err)
	}
	return out
}

// WaitIngress waits until the Service's first ingress satisfies ok (a hostname or an IP
// when ok is nil) and returns the Service.
func (tn *Tenant) WaitIngress(name string, ok func(v1.LoadBalancerIngress) bool) *v1.Service {
	tn.T.Helper()
	if ok == nil {
		ok = func(i v1.LoadBalancerIngress) bool { return i.Hostname != "" || i.IP != "" }
	}
	var svc *v1.Service
	WaitForWithin(tn.T, tn.timeout(), "ingress of "+tn.NS+"/"+name, func() (bool, string) {
		var err error
		svc, err = tn.CS.CoreV1().Services(tn.NS).Get(tn.T.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ing := svc.Status.LoadBalancer.Ingress
		return len(ing) > 0 && ok(ing[0]), fmt.Sprintf("status %+v", svc.Status.LoadBalancer)
	})
	return svc
}

// WaitFor polls cond until done, failing t after WaitTimeout with the last state.
func WaitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	WaitForWithin(t, WaitTimeout, what, cond)
}

// WaitForWithin is WaitFor with its own timeout.
func WaitForWithin(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, state := cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, state)
		}
		time.Sleep(PollInterval)
	}
}
