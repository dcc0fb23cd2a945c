package servicecontroller_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/cloudlb/cloudlb/integration/controlplane"
	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// waitFor polls cond until it reports done, and fails tb after testWaitTimeout with what and
// the last state cond described.
func waitFor(tb testing.TB, what string, cond func() (done bool, state string)) {
	tb.Helper()
	deadline := time.Now().Add(testWaitTimeout)
	for {
		done, state := cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s; last state: %s", testWaitTimeout, what, state)
		}
		select {
		case <-tb.Context().Done():
			tb.Fatalf("test ended while waiting for %s", what)
		case <-time.After(testPollInterval):
		}
	}
}

// newNamespace creates a fresh namespace for one test.
func newNamespace(tb testing.TB, cs kubernetes.Interface) string {
	tb.Helper()
	return controlplane.CreateNamespace(tb, cs, "svcctl")
}

// serviceOption modifies a Service built by newService.
type serviceOption func(*v1.Service)

func withAnnotation(key, value string) serviceOption {
	return func(s *v1.Service) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[key] = value
	}
}

// withoutNodePorts sets allocateLoadBalancerNodePorts=false: the 2,768 node ports of the
// control plane would not cover the benchmarks' thousands of Services.
func withoutNodePorts() serviceOption {
	return func(s *v1.Service) { s.Spec.AllocateLoadBalancerNodePorts = new(false) }
}

// newService is a LoadBalancer Service of class (nil class when "") with one TCP port 80.
func newService(ns, name, class string, opts ...serviceOption) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{
			Type:     v1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if class != "" {
		svc.Spec.LoadBalancerClass = new(class)
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

func createService(tb testing.TB, cs kubernetes.Interface, svc *v1.Service) *v1.Service {
	tb.Helper()
	out, err := cs.CoreV1().Services(svc.Namespace).Create(tb.Context(), svc, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create service %s/%s: %v", svc.Namespace, svc.Name, err)
	}
	return out
}

func getService(tb testing.TB, cs kubernetes.Interface, ns, name string) *v1.Service {
	tb.Helper()
	svc, err := cs.CoreV1().Services(ns).Get(tb.Context(), name, metav1.GetOptions{})
	if err != nil {
		tb.Fatalf("get service %s/%s: %v", ns, name, err)
	}
	return svc
}

// updateService applies mutate to the current Service, retrying on conflicts (the controller
// writes the same object).
func updateService(tb testing.TB, cs kubernetes.Interface, ns, name string, mutate func(*v1.Service)) *v1.Service {
	tb.Helper()
	var out *v1.Service
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		svc, err := cs.CoreV1().Services(ns).Get(tb.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(svc)
		out, err = cs.CoreV1().Services(ns).Update(tb.Context(), svc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		tb.Fatalf("update service %s/%s: %v", ns, name, err)
	}
	return out
}

func hasFinalizer(svc *v1.Service) bool {
	return slices.Contains(svc.Finalizers, servicecontroller.Finalizer)
}

// waitForIngress waits until the Service reports a load balancer ingress and returns it.
func waitForIngress(tb testing.TB, cs kubernetes.Interface, ns, name string) *v1.Service {
	tb.Helper()
	var svc *v1.Service
	waitFor(tb, "ingress of "+ns+"/"+name, func() (bool, string) {
		var err error
		svc, err = cs.CoreV1().Services(ns).Get(tb.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(svc.Status.LoadBalancer.Ingress) > 0, fmt.Sprintf("status %+v", svc.Status.LoadBalancer)
	})
	return svc
}

// waitForServiceGone waits until the Service no longer exists.
func waitForServiceGone(tb testing.TB, cs kubernetes.Interface, ns, name string) {
	tb.Helper()
	waitFor(tb, ns+"/"+name+" to be gone", func() (bool, string) {
		svc, err := cs.CoreV1().Services(ns).Get(tb.Context(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, fmt.Sprintf("finalizers %v, deletionTimestamp %v", svc.Finalizers, svc.DeletionTimestamp)
	})
}

// loadBalancerOf returns the fake cloud's load balancer of the Service ns/name.
func loadBalancerOf(tb testing.TB, cloud *fake.Cloud, service string) (fake.LoadBalancer, bool) {
	tb.Helper()
	lbs, err := cloud.LoadBalancers()
	if err != nil {
		tb.Fatalf("list fake load balancers: %v", err)
	}
	for _, lb := range lbs {
		if lb.Service == service {
			return lb, true
		}
	}
	return fake.LoadBalancer{}, false
}

// waitForLoadBalancer waits until the fake cloud's load balancer of service satisfies ok.
func waitForLoadBalancer(tb testing.TB, cloud *fake.Cloud, service, what string, ok func(fake.LoadBalancer) bool) fake.LoadBalancer {
	tb.Helper()
	var lb fake.LoadBalancer
	waitFor(tb, "load balancer of "+service+" "+what, func() (bool, string) {
		var found bool
		lb, found = loadBalancerOf(tb, cloud, service)
		if !found {
			return false, "no load balancer"
		}
		return ok(lb), fmt.Sprintf("%+v", lb)
	})
	return lb
}

// waitForNoLoadBalancer waits until the fake cloud holds no load balancer for service.
func waitForNoLoadBalancer(tb testing.TB, cloud *fake.Cloud, service string) {
	tb.Helper()
	waitFor(tb, "no load balancer for "+service, func() (bool, string) {
		lb, found := loadBalancerOf(tb, cloud, service)
		return !found, fmt.Sprintf("%+v", lb)
	})
}

// serviceEvents returns the core/v1 Events about the Service object (matched by UID, so a
// re-created Service does not see its predecessor's). The controller records through
// client-go's EventBroadcaster into the core/v1 API; Events written through events.k8s.io/v1
// are the same objects and would show up here too.
func serviceEvents(tb testing.TB, cs kubernetes.Interface, svc *v1.Service) []v1.Event {
	tb.Helper()
	list, err := cs.CoreV1().Events(svc.Namespace).List(tb.Context(), metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.kind": "Service", "involvedObject.name": svc.Name}.String(),
	})
	if err != nil {
		tb.Fatalf("list events of %s/%s: %v", svc.Namespace, svc.Name, err)
	}
	var out []v1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.UID == svc.UID {
			out = append(out, e)
		}
	}
	return out
}

// eventCount is how many times an Event of type and reason was recorded ("" matches any):
// the recorder aggregates repeats into one object with a count.
func eventCount(events []v1.Event, typ, reason string) int {
	n := 0
	for _, e := range events {
		if (typ == "" || e.Type == typ) && (reason == "" || e.Reason == reason) {
			c := max(1, int(e.Count))
			if e.Series != nil {
				c = max(c, int(e.Series.Count)) // written through events.k8s.io/v1
			}
			n += c
		}
	}
	return n
}

// eventMessages returns the messages of the Events of type and reason.
func eventMessages(events []v1.Event, typ, reason string) []string {
	var out []string
	for _, e := range events {
		if e.Type == typ && e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}

// describeEvents renders events for failure messages.
func describeEvents(events []v1.Event) string {
	s := ""
	for _, e := range events {
		s += fmt.Sprintf("\n  %s %s x%d: %s", e.Type, e.Reason, e.Count, e.Message)
	}
	return s
}

// waitForEvents waits until the Service has at least min Events of type and reason and
// returns all its Events.
func waitForEvents(tb testing.TB, cs kubernetes.Interface, svc *v1.Service, typ, reason string, min int) []v1.Event {
	tb.Helper()
	var events []v1.Event
	waitFor(tb, fmt.Sprintf("%d %s %s event(s) on %s/%s", min, typ, reason, svc.Namespace, svc.Name), func() (bool, string) {
		events = serviceEvents(tb, cs, svc)
		return eventCount(events, typ, reason) >= min, describeEvents(events)
	})
	return events
}

// quietPeriod is how long the cloud calls must stay unchanged for a controller to count as
// settled.
const quietPeriod = time.Second

// waitSettled waits until the controller has ensured at least minEnsures Services through
// cloud since since (a restarted controller's first pass reads the cloud once for all of them,
// so counting reads would prove nothing) and the fake cloud has seen no call for quietPeriod,
// and returns the calls and when the last one was first seen.
func waitSettled(tb testing.TB, cloud *recordingCloud, since time.Time, minEnsures int) (fake.Calls, time.Time) {
	tb.Helper()
	last, changed := cloud.Calls(), time.Now()
	waitFor(tb, fmt.Sprintf("at least %d Services ensured and then no cloud call for %s", minEnsures, quietPeriod), func() (bool, string) {
		cur := cloud.Calls()
		if !maps.Equal(cur.ByOp, last.ByOp) {
			last, changed = cur, time.Now()
		}
		ensured := cloud.ensuredSince(since)
		return ensured >= minEnsures && time.Since(changed) >= quietPeriod, fmt.Sprintf("%d ensured, %+v", ensured, cur)
	})
	return last, changed
}
