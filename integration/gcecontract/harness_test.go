package gcecontract_test

import (
	"context"
	"fmt"
	"maps"
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
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/integration/controlplane"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// tenant is one test's slice of the cluster: a namespace, a LoadBalancerClass and the
// controller serving it.
type tenant struct {
	t     *testing.T
	cs    kubernetes.Interface
	ns    string
	class string
	ctl   *controller
}

// newTenant creates the namespace and starts the controller. Its Services are deleted (and
// their load balancers awaited gone) when the test ends, before the controller stops.
func newTenant(t *testing.T) *tenant {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cp(shared.cp))
	if err != nil {
		t.Fatal(err)
	}
	tn := &tenant{t: t, cs: cs, ns: controlplane.CreateNamespace(t, cs, "gce")}
	tn.class = classFor(tn.ns, t.Name())
	tn.ctl = tn.start()
	t.Cleanup(func() {
		tn.deleteAll()
		tn.ctl.stop()
	})
	return tn
}

func classFor(ns, test string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '.'
	}, ns+"."+strings.ToLower(test))
	return "cloudlb.test/" + strings.TrimRight(name[:min(len(name), 63)], ".-")
}

// controller is a servicecontroller running in-process over a fresh gce provider, as after
// a process start.
type controller struct {
	factory informers.SharedInformerFactory
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// gceConf is the gce.conf the provider is built from: the fake's endpoint on loopback http,
// so no credentials are used.
func gceConf() string {
	return fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\nnode-tags = %s\ncluster-id = %s\nsubnetwork-name = default\napi-endpoint = %s\n",
		project, region, nodeTag, clusterID, shared.endpoint)
}

func (tn *tenant) start(tune ...func(*servicecontroller.Options)) *controller {
	t := tn.t
	cc, err := cloudgce.ParseCloudConfig(strings.NewReader(gceConf()))
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := cloudgce.NewFromConfig(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(tn.cs, 0)
	opts := servicecontroller.Options{
		ClusterName:       clusterName,
		LoadBalancerClass: tn.class,
		AnnotationCloud:   annotations.GCE,
		MinRetryDelay:     100 * time.Millisecond,
		MaxRetryDelay:     2 * time.Second,
		NodeBatchWindow:   200 * time.Millisecond,
	}
	for _, f := range tune {
		f(&opts)
	}
	c, err := servicecontroller.New(opts, cloud, tn.cs, factory.Core().V1().Services(), factory.Core().V1().Nodes())
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

// restart stops the tenant's controller and starts a new one over a new provider.
func (tn *tenant) restart(tune ...func(*servicecontroller.Options)) {
	tn.ctl.stop()
	tn.ctl = tn.start(tune...)
}

func (rc *controller) stop() {
	rc.once.Do(func() {
		rc.cancel()
		<-rc.done
		rc.factory.Shutdown()
	})
}

// deleteAll deletes the tenant's Services and waits until the controller released them.
func (tn *tenant) deleteAll() {
	t := tn.t
	ctx := context.Background()
	list, err := tn.cs.CoreV1().Services(tn.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("list services: %v", err)
		return
	}
	for _, s := range list.Items {
		if err := tn.cs.CoreV1().Services(tn.ns).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s: %v", s.Name, err)
		}
	}
	for _, s := range list.Items {
		tn.waitGone(s.Name)
	}
}

func (tn *tenant) waitGone(name string) {
	waitFor(tn.t, tn.ns+"/"+name+" to be gone", func() (bool, string) {
		s, err := tn.cs.CoreV1().Services(tn.ns).Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, fmt.Sprintf("finalizers %v", s.Finalizers)
	})
}

// newService is a LoadBalancer Service with one TCP port 80 and the given annotations.
func newService(name string, ann map[string]string, opts ...func(*v1.Service)) *v1.Service {
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

// create creates svc in the tenant's namespace with its class.
func (tn *tenant) create(svc *v1.Service) *v1.Service {
	tn.t.Helper()
	svc = svc.DeepCopy()
	svc.Namespace = tn.ns
	svc.Spec.LoadBalancerClass = &tn.class
	out, err := tn.cs.CoreV1().Services(tn.ns).Create(tn.t.Context(), svc, metav1.CreateOptions{})
	if err != nil {
		tn.t.Fatalf("create service %s: %v", svc.Name, err)
	}
	return out
}

// update applies mutate to the current Service, retrying on conflicts.
func (tn *tenant) update(name string, mutate func(*v1.Service)) *v1.Service {
	tn.t.Helper()
	var out *v1.Service
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := tn.cs.CoreV1().Services(tn.ns).Get(tn.t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(s)
		out, err = tn.cs.CoreV1().Services(tn.ns).Update(tn.t.Context(), s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		tn.t.Fatalf("update service %s: %v", name, err)
	}
	return out
}

// waitIngress waits until the Service reports an ingress IP and returns the Service.
func (tn *tenant) waitIngress(name string) *v1.Service {
	tn.t.Helper()
	var svc *v1.Service
	waitFor(tn.t, "ingress of "+tn.ns+"/"+name, func() (bool, string) {
		var err error
		svc, err = tn.cs.CoreV1().Services(tn.ns).Get(tn.t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ing := svc.Status.LoadBalancer.Ingress
		return len(ing) > 0 && ing[0].IP != "", fmt.Sprintf("status %+v", svc.Status.LoadBalancer)
	})
	return svc
}

// waitFor polls cond until done, failing t after waitTimeout with the last state.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		done, state := cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s", waitTimeout, what, state)
		}
		time.Sleep(pollInterval)
	}
}

// quiet is how long the fake must see no call for the controllers to count as settled.
const quiet = time.Second

// waitSettled waits until the fake has seen at least minCalls calls since its last reset
// and then none for quiet, and returns the calls.
func waitSettled(t *testing.T, minCalls int) map[string]int {
	t.Helper()
	last, changed := shared.fake.Calls(), time.Now()
	total := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	waitFor(t, fmt.Sprintf("at least %d calls and then none for %s", minCalls, quiet), func() (bool, string) {
		cur := shared.fake.Calls()
		if !maps.Equal(cur, last) {
			last, changed = cur, time.Now()
		}
		return total(cur) >= minCalls && time.Since(changed) >= quiet, fmt.Sprint(cur)
	})
	return last
}

// writes counts the writes among calls (everything but reads and operation polls).
func writes(calls map[string]int) int {
	n := 0
	for k, v := range calls {
		api, method, _ := strings.Cut(k, ".")
		if strings.HasSuffix(api, "Operations") {
			continue
		}
		switch method {
		case "Get", "List", "AggregatedList", "ListInstances":
		default:
			n += v
		}
	}
	return n
}

// resources are the fake's resources of one Service (by the description naming it), plus,
// when shared, the cluster's shared ones, as "kind name".
func resources(service string) map[string]string {
	out := map[string]string{}
	for _, r := range shared.fake.Resources() {
		if strings.Contains(r.Description, `"kubernetes.io/service-name":"`+service+`"`) {
			out[strings.TrimPrefix(r.Kind, "compute#")+" "+r.Name] = r.Description
		}
	}
	return out
}

func hasResource(kind, name string) bool {
	for _, r := range shared.fake.Resources() {
		if r.Kind == "compute#"+kind && r.Name == name {
			return true
		}
	}
	return false
}
