package gcecontract_test

import (
	"net/http"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/integration/contract"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// TestFailedOperations: writes GCE refuses (quota, a conflict that created nothing, an
// operation that ends in an error, a delete refused while in use) surface as Warning Events
// and are retried until the load balancer is whole, with nothing duplicated or left behind.
func TestFailedOperations(t *testing.T) {
	tn := contract.NewTenant(t, shared.tenants)
	t.Cleanup(func() { shared.fake.SetFaults(fakecore.Faults{}) })

	// Quota: the rule cannot be created; the controller retries with backoff.
	shared.fake.FailNext("ForwardingRules.Insert", 1, &fakecore.APIError{Status: http.StatusForbidden, Code: "QUOTA_EXCEEDED"})
	// A 409 that reserved nothing: the provider reads the address back and does not find it.
	shared.fake.FailNext("Addresses.Insert", 1, &fakecore.APIError{Status: http.StatusConflict, Code: "alreadyExists"})
	// Every firewall insert's operation ends in an error until the faults are cleared.
	shared.fake.SetFaults(fakecore.Faults{OperationErrorRate: 1, Operations: []string{"Firewalls.Insert"}})
	ext := tn.Create(newService("quota", nil, localPolicy))
	tn.WaitEvent(ext.Name, v1.EventTypeWarning, servicecontroller.ReasonSyncLoadBalancerFailed, "Firewalls.Insert")
	shared.fake.SetFaults(fakecore.Faults{})
	tn.WaitIngress(ext.Name, nil)
	tn.WaitEvent(ext.Name, v1.EventTypeWarning, servicecontroller.ReasonSyncLoadBalancerFailed, "ForwardingRules.Insert: googleapi: Error 403")
	tn.WaitEvent(ext.Name, v1.EventTypeWarning, servicecontroller.ReasonSyncLoadBalancerFailed, "not found after its creation")
	tn.WaitCheck(ext.Name, "the objects of a Local Service", ownedExactly(externalLocalOwned))
	if calls := shared.fake.Calls(); calls["ForwardingRules.Insert"] < 2 || calls["Addresses.Insert"] < 2 {
		t.Errorf("the refused writes were not retried: %v", calls)
	}

	// An internal Service whose backend service delete is refused once: the delete is retried.
	ilb := tn.Create(newService("refused-delete", map[string]string{internal: "Internal"}))
	tn.WaitIngress(ilb.Name, nil)
	shared.fake.FailNext("RegionBackendServices.Delete", 1, &fakecore.APIError{Status: http.StatusBadRequest, Code: "resourceInUseByAnotherResource"})
	tn.Delete(ilb.Name)
	tn.WaitEvent(ilb.Name, v1.EventTypeWarning, servicecontroller.ReasonDeleteLoadBalancerFailed, "RegionBackendServices.Delete")
	tn.WaitGone(ilb.Name)
	contract.WaitNothingOwned(t, cloud{}, ilb)
}

// TestNetworkTierChangeRefused: cloud.google.com/network-tier is fixed at creation (GCE
// cannot move an address between tiers); a change is a Warning Event and the load balancer
// keeps its tier and IP.
func TestNetworkTierChangeRefused(t *testing.T) {
	t.Parallel()
	tn := contract.NewTenant(t, shared.tenants)
	svc := tn.WaitIngress(tn.Create(newService("tier", nil)).Name, nil)
	ip, lb := svc.Status.LoadBalancer.Ingress[0].IP, cloudgce.LoadBalancerName(svc)
	tn.Update(svc.Name, func(s *v1.Service) {
		s.Annotations = map[string]string{"cloud.google.com/network-tier": "Standard"}
	})
	tn.WaitEvent(svc.Name, v1.EventTypeWarning, servicecontroller.ReasonSyncLoadBalancerFailed, "cloud.google.com/network-tier")
	waitRule(t, lb, func(r *computepb.ForwardingRule) error {
		return contract.FirstErr(contract.Want("tier", r.GetNetworkTier(), "PREMIUM"), contract.Want("IP", r.GetIPAddress(), ip))
	})
}
