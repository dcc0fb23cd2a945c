package servicecontroller_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// TestDefaultClass runs the one controller serving Services without spec.loadBalancerClass.
// Not parallel: it would act on the class-less Services of other tests (the API server wipes
// the class when a Service stops being a LoadBalancer).
func TestDefaultClass(t *testing.T) {
	cs := newClient(t)
	ns := newNamespace(t, cs)
	cloud := newRecordingCloud(newFakeCloud(t, fake.Config{}))
	startController(t, testLogger(t), testOptions(""), cloud)

	// Created first: the informer delivers it before "mine", so once "mine" is provisioned the
	// controller has seen "other" too.
	other := createService(t, cs, newService(ns, "other", "cloudlb.test/someone-else"))
	createService(t, cs, newService(ns, "mine", ""))

	mine := waitForIngress(t, cs, ns, "mine")
	lb, ok := loadBalancerOf(t, cloud.Cloud, ns+"/mine")
	if !ok {
		t.Fatalf("Service %s/mine has ingress %+v but the fake cloud has no load balancer for it", ns, mine.Status.LoadBalancer)
	}
	if got := mine.Status.LoadBalancer.Ingress[0].IP; got != lb.IP {
		t.Errorf("ingress IP = %q, want the fake load balancer's %q", got, lb.IP)
	}
	if !hasFinalizer(mine) {
		t.Errorf("class-less Service has finalizers %v, want %s", mine.Finalizers, servicecontroller.Finalizer)
	}

	other = getService(t, cs, ns, other.Name)
	if hasFinalizer(other) || len(other.Status.LoadBalancer.Ingress) > 0 {
		t.Errorf("Service of another class was touched: finalizers %v, status %+v", other.Finalizers, other.Status.LoadBalancer)
	}
	if calls := cloud.callsFor(ns + "/other"); len(calls) > 0 {
		t.Errorf("cloud calls for the Service of another class: %+v", calls)
	}
	if _, found := loadBalancerOf(t, cloud.Cloud, ns+"/other"); found {
		t.Error("the fake cloud has a load balancer for the Service of another class")
	}
	if events := serviceEvents(t, cs, other); len(events) > 0 {
		t.Errorf("Events recorded for the Service of another class:%s", describeEvents(events))
	}
}

// TestServiceLifecycle follows Services through create, update, type change and deletion.
func TestServiceLifecycle(t *testing.T) {
	t.Parallel()
	cs := newClient(t)
	ns := newNamespace(t, cs)
	class := classFor(t, ns)
	cloud := newRecordingCloud(newFakeCloud(t, fake.Config{}))
	startController(t, testLogger(t), testOptions(class), cloud)

	createService(t, cs, newService(ns, "web", class))
	createService(t, cs, newService(ns, "api", class))
	web := ns + "/web"

	// Create: ingress from the cloud, finalizer, Ensuring and Ensured Events.
	svc := waitForIngress(t, cs, ns, "web")
	lb, ok := loadBalancerOf(t, cloud.Cloud, web)
	if !ok {
		t.Fatalf("Service %s has ingress %+v but the fake cloud has no load balancer for it", web, svc.Status.LoadBalancer)
	}
	if in := svc.Status.LoadBalancer.Ingress; len(in) != 1 || in[0].IP != lb.IP || lb.IP == "" {
		t.Errorf("ingress = %+v, want exactly the fake load balancer's IP %q", in, lb.IP)
	}
	if !hasFinalizer(svc) {
		t.Errorf("finalizers = %v, want %s", svc.Finalizers, servicecontroller.Finalizer)
	}
	if want := []fake.Port{{Protocol: "TCP", Port: 80, NodePort: svc.Spec.Ports[0].NodePort}}; !slices.Equal(lb.Ports, want) {
		t.Errorf("load balancer ports = %+v, want %+v", lb.Ports, want)
	}
	events := waitForEvents(t, cs, svc, v1.EventTypeNormal, servicecontroller.ReasonEnsuredLoadBalancer, 1)
	if n := eventCount(events, v1.EventTypeNormal, servicecontroller.ReasonEnsuringLoadBalancer); n != 1 {
		t.Errorf("%d EnsuringLoadBalancer Events after the create, want 1:%s", n, describeEvents(events))
	}
	if msgs := eventMessages(events, v1.EventTypeNormal, servicecontroller.ReasonEnsuredLoadBalancer); len(msgs) != 1 || !strings.Contains(msgs[0], lb.IP) {
		t.Errorf("EnsuredLoadBalancer messages = %q, want one naming %s", msgs, lb.IP)
	}

	// Update: a second port reaches the cloud; the address stays.
	updateService(t, cs, ns, "web", func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(8443)})
	})
	lb = waitForLoadBalancer(t, cloud.Cloud, web, "with 2 ports", func(lb fake.LoadBalancer) bool { return len(lb.Ports) == 2 })
	updated := getService(t, cs, ns, "web")
	if want := (fake.Port{Protocol: "TCP", Port: 443, NodePort: updated.Spec.Ports[1].NodePort}); lb.Ports[1] != want {
		t.Errorf("new load balancer port = %+v, want %+v", lb.Ports[1], want)
	}
	waitForEvents(t, cs, svc, v1.EventTypeNormal, servicecontroller.ReasonEnsuredLoadBalancer, 2)
	if updated = getService(t, cs, ns, "web"); !apiequality.Semantic.DeepEqual(updated.Status, svc.Status) {
		t.Errorf("status changed by the update: %+v, was %+v", updated.Status, svc.Status)
	}

	// Type ClusterIP: the load balancer goes, then the finalizer and the status.
	updateService(t, cs, ns, "web", func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeClusterIP })
	waitForNoLoadBalancer(t, cloud.Cloud, web)
	waitFor(t, web+" without finalizer and ingress", func() (bool, string) {
		s := getService(t, cs, ns, "web")
		return !hasFinalizer(s) && len(s.Status.LoadBalancer.Ingress) == 0,
			"finalizers " + strings.Join(s.Finalizers, ",") + ", ingress " + ingressString(s)
	})
	events = waitForEvents(t, cs, svc, v1.EventTypeNormal, servicecontroller.ReasonDeletedLoadBalancer, 1)
	// Checked last, after the type change had time to add more: the port change made exactly
	// one more Ensuring and one more Ensured Event.
	for _, reason := range []string{servicecontroller.ReasonEnsuringLoadBalancer, servicecontroller.ReasonEnsuredLoadBalancer} {
		if n := eventCount(events, v1.EventTypeNormal, reason); n != 2 {
			t.Errorf("%d %s Events for one create and one update, want 2:%s", n, reason, describeEvents(events))
		}
	}

	// Delete: the Service goes once its load balancer is gone.
	waitForIngress(t, cs, ns, "api")
	waitForLoadBalancer(t, cloud.Cloud, ns+"/api", "to exist", func(fake.LoadBalancer) bool { return true })
	if err := cs.CoreV1().Services(ns).Delete(t.Context(), "api", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete service: %v", err)
	}
	waitForServiceGone(t, cs, ns, "api")
	if _, found := loadBalancerOf(t, cloud.Cloud, ns+"/api"); found {
		t.Error("the Service is gone but its load balancer is still in the fake cloud")
	}
}

// TestFinalizerHoldsDeletion checks that a Service whose load balancer cannot be deleted stays
// until it can.
func TestFinalizerHoldsDeletion(t *testing.T) {
	t.Parallel()
	cs := newClient(t)
	ns := newNamespace(t, cs)
	class := classFor(t, ns)
	cloud := newRecordingCloud(newFakeCloud(t, fake.Config{}))
	startController(t, testLogger(t), testOptions(class), cloud)

	createService(t, cs, newService(ns, "web", class))
	svc := waitForIngress(t, cs, ns, "web")
	key := ns + "/web"

	cloud.InjectError(fake.OpDelete, errors.New("boom"), -1)
	if err := cs.CoreV1().Services(ns).Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete service: %v", err)
	}
	var warnings []string
	waitFor(t, "a Warning Event about the failed delete", func() (bool, string) {
		events := serviceEvents(t, cs, svc)
		warnings = append(eventMessages(events, v1.EventTypeWarning, servicecontroller.ReasonDeleteLoadBalancerFailed),
			eventMessages(events, v1.EventTypeWarning, servicecontroller.ReasonSyncLoadBalancerFailed)...)
		return len(warnings) > 0, describeEvents(events)
	})
	if !strings.Contains(warnings[0], "boom") {
		t.Errorf("warning %q does not carry the cloud's error %q", warnings[0], "boom")
	}
	held := getService(t, cs, ns, "web")
	if held.DeletionTimestamp == nil || !hasFinalizer(held) {
		t.Errorf("Service with an undeletable load balancer: deletionTimestamp %v, finalizers %v; want set and %s",
			held.DeletionTimestamp, held.Finalizers, servicecontroller.Finalizer)
	}
	if _, found := loadBalancerOf(t, cloud.Cloud, key); !found {
		t.Error("the load balancer vanished although every delete failed")
	}

	cloud.ClearErrors()
	waitForServiceGone(t, cs, ns, "web")
	if _, found := loadBalancerOf(t, cloud.Cloud, key); found {
		t.Error("the Service is gone but its load balancer is still in the fake cloud")
	}
}

func ingressString(svc *v1.Service) string {
	var s []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		s = append(s, in.IP+in.Hostname)
	}
	return "[" + strings.Join(s, " ") + "]"
}
