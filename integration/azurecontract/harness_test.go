package azurecontract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
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
	"github.com/cloudlb/cloudlb/integration/fakeazure"
	"github.com/cloudlb/cloudlb/providers/azure"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

const (
	waitTimeout  = 40 * time.Second
	pollInterval = 50 * time.Millisecond
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

func newTenant(t *testing.T) *tenant {
	t.Helper()
	cs, err := kubernetes.NewForConfig(restConfig())
	if err != nil {
		t.Fatal(err)
	}
	tn := &tenant{t: t, cs: cs, ns: controlplane.CreateNamespace(t, cs, "azure")}
	tn.class = "cloudlb.test/" + tn.ns
	tn.ctl = tn.start()
	t.Cleanup(func() {
		tn.deleteAll()
		tn.ctl.stop()
	})
	return tn
}

// controller is a servicecontroller over a fresh azure provider, as after a process start.
type controller struct {
	factory informers.SharedInformerFactory
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

func (tn *tenant) start(tune ...func(*servicecontroller.Options)) *controller {
	t := tn.t
	cc, err := azure.ParseCloudConfig(strings.NewReader(fmt.Sprintf(`{"subscriptionId": %q, "resourceGroup": %q, "location": %q,
		"vnetName": "vnet", "subnetName": "nodes", "securityGroupName": %q, "resourceManagerEndpoint": %q}`, sub, rg, location, nsgName, shared.url)))
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := azure.NewWithCredential(cc, fakeazure.Credential(), fakeazure.ClientOptions(shared.url),
		// Above the default 10 QPS: the rate limiter is not what the suite measures, and it
		// would pace every test of the shared fake.
		azure.Limits{QPS: 200, Burst: 200, RetryDelay: 20 * time.Millisecond, Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(tn.cs, 0)
	opts := servicecontroller.Options{
		ClusterName:       clusterName,
		LoadBalancerClass: tn.class,
		AnnotationCloud:   annotations.Azure,
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
	ctx := context.Background()
	list, err := tn.cs.CoreV1().Services(tn.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		tn.t.Errorf("list services: %v", err)
		return
	}
	for _, s := range list.Items {
		if err := tn.cs.CoreV1().Services(tn.ns).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			tn.t.Errorf("delete %s: %v", s.Name, err)
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

// newService is a LoadBalancer Service with TCP ports 80 and 443.
func newService(name string, ann map[string]string, opts ...func(*v1.Service)) *v1.Service {
	if ann == nil {
		ann = map[string]string{}
	}
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec: v1.ServiceSpec{
			Type:     v1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports: []v1.ServicePort{
				{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)},
				{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(8443)},
			},
		},
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

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

func (tn *tenant) update(name string, mutate func(*v1.Service)) *v1.Service {
	tn.t.Helper()
	var out *v1.Service
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := tn.cs.CoreV1().Services(tn.ns).Get(tn.t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
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

// waitIngress waits until the Service's first ingress IP satisfies ok.
func (tn *tenant) waitIngress(name string, ok func(ip string) bool) *v1.Service {
	tn.t.Helper()
	var svc *v1.Service
	waitFor(tn.t, "ingress of "+tn.ns+"/"+name, func() (bool, string) {
		var err error
		svc, err = tn.cs.CoreV1().Services(tn.ns).Get(tn.t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ing := svc.Status.LoadBalancer.Ingress
		return len(ing) > 0 && ing[0].IP != "" && ok(ing[0].IP), fmt.Sprintf("status %+v", svc.Status.LoadBalancer)
	})
	return svc
}

func anyIP(string) bool { return true }

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

func resourceID(typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s", sub, rg, typ, name)
}

// read decodes a resource from the fake's state; false when it does not exist.
func read[T any](typ, name string, out *T) bool {
	raw, ok := shared.fake.Get(resourceID(typ, name))
	return ok && json.Unmarshal(raw, out) == nil
}

// frontendOf is the Service's frontend on load balancer lbName, or nil.
func frontendOf(lbName string, svc *v1.Service) (*armnetwork.LoadBalancer, *armnetwork.FrontendIPConfiguration) {
	var lb armnetwork.LoadBalancer
	if !read("loadBalancers", lbName, &lb) {
		return nil, nil
	}
	for _, f := range lb.Properties.FrontendIPConfigurations {
		if strings.EqualFold(*f.Name, azure.ServicePrefix(svc)) {
			return &lb, f
		}
	}
	return &lb, nil
}

func ruleOf(lb *armnetwork.LoadBalancer, name string) *armnetwork.LoadBalancingRulePropertiesFormat {
	for _, r := range lb.Properties.LoadBalancingRules {
		if strings.EqualFold(*r.Name, name) {
			return r.Properties
		}
	}
	return nil
}

// counts are the fake's calls since its last reset: writes and reads (async polls excluded).
type counts struct {
	writes, reads int
	summary       string
}

func countCalls(calls map[string]int) counts {
	var c counts
	var parts []string
	for k, n := range calls {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
		if strings.HasPrefix(k, "AsyncOperation") {
			continue
		}
		if strings.HasSuffix(k, ".Get") || strings.HasSuffix(k, ".List") {
			c.reads += n
		} else {
			c.writes += n
		}
	}
	c.summary = strings.Join(parts, " ")
	return c
}
