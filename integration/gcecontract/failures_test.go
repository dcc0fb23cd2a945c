package gcecontract_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// waitEvent waits for a Warning Event of reason on the Service whose message contains text.
func (tn *tenant) waitEvent(svc, reason, text string) {
	tn.t.Helper()
	waitFor(tn.t, fmt.Sprintf("a %s Event on %s mentioning %q", reason, svc, text), func() (bool, string) {
		list, err := tn.cs.CoreV1().Events(tn.ns).List(tn.t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + svc})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.Type == v1.EventTypeWarning && e.Reason == reason && strings.Contains(e.Message, text) {
				return true, ""
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return false, strings.Join(seen, "; ")
	})
}

// TestFailedOperations: writes GCE refuses (quota, a conflict that created nothing, an
// operation that ends in an error, a delete refused while in use) surface as Warning Events
// and are retried until the load balancer is whole, with nothing duplicated or left behind.
func TestFailedOperations(t *testing.T) {
	tn := newTenant(t)
	t.Cleanup(func() { shared.fake.SetFaults(fakecore.Faults{}) })

	// Quota: the rule cannot be created; the controller retries with backoff.
	shared.fake.FailNext("ForwardingRules.Insert", 1, &fakecore.APIError{Status: http.StatusForbidden, Code: "QUOTA_EXCEEDED"})
	// A 409 that reserved nothing: the provider reads the address back and does not find it.
	shared.fake.FailNext("Addresses.Insert", 1, &fakecore.APIError{Status: http.StatusConflict, Code: "alreadyExists"})
	// Every firewall insert's operation ends in an error until the faults are cleared.
	shared.fake.SetFaults(fakecore.Faults{OperationErrorRate: 1, Operations: []string{"Firewalls.Insert"}})
	ext := tn.create(newService("quota", nil, localPolicy))
	tn.waitEvent(ext.Name, servicecontroller.ReasonSyncLoadBalancerFailed, "Firewalls.Insert")
	shared.fake.SetFaults(fakecore.Faults{})
	tn.waitIngress(ext.Name)
	tn.waitEvent(ext.Name, servicecontroller.ReasonSyncLoadBalancerFailed, "ForwardingRules.Insert: googleapi: Error 403")
	tn.waitEvent(ext.Name, servicecontroller.ReasonSyncLoadBalancerFailed, "not found after its creation")
	ownedExactly(t, ext, crashCases[0].owned) // the same objects as crashCases[0] (Local)
	if calls := shared.fake.Calls(); calls["ForwardingRules.Insert"] < 2 || calls["Addresses.Insert"] < 2 {
		t.Errorf("the refused writes were not retried: %v", calls)
	}

	// An internal Service whose backend service delete is refused once: the delete is retried.
	ilb := tn.create(newService("refused-delete", map[string]string{internal: "Internal"}))
	tn.waitIngress(ilb.Name)
	shared.fake.FailNext("RegionBackendServices.Delete", 1, &fakecore.APIError{Status: http.StatusBadRequest, Code: "resourceInUseByAnotherResource"})
	tn.deleteService(ilb.Name)
	tn.waitEvent(ilb.Name, servicecontroller.ReasonDeleteLoadBalancerFailed, "RegionBackendServices.Delete")
	tn.waitGone(ilb.Name)
	ownedExactly(t, ilb, nil)
}

// TestNetworkTierChangeRefused: cloud.google.com/network-tier is fixed at creation (GCE
// cannot move an address between tiers); a change is a Warning Event and the load balancer
// keeps its tier and IP.
func TestNetworkTierChangeRefused(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	svc := tn.waitIngress(tn.create(newService("tier", nil)).Name)
	ip, lb := svc.Status.LoadBalancer.Ingress[0].IP, cloudgce.LoadBalancerName(svc)
	tn.update(svc.Name, func(s *v1.Service) {
		s.Annotations = map[string]string{"cloud.google.com/network-tier": "Standard"}
	})
	tn.waitEvent(svc.Name, servicecontroller.ReasonSyncLoadBalancerFailed, "cloud.google.com/network-tier")
	waitRule(t, lb, func(r *computepb.ForwardingRule) error {
		return firstErr(want("tier", r.GetNetworkTier(), "PREMIUM"), want("IP", r.GetIPAddress(), ip))
	})
}
