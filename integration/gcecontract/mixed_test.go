package gcecontract_test

import (
	"fmt"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/integration/contract"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// TestMixedProtocolAddedAndRemoved adds a UDP port to a TCP Service through the controller
// and removes it again: a second rule <lb>-udp joins the first on the same IP (the internal
// address becomes a shared VIP), the ingress IP never changes, and the UDP rule goes.
func TestMixedProtocolAddedAndRemoved(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ann  map[string]string
	}{{"external", nil}, {"internal", map[string]string{internal: "Internal"}}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := contract.NewTenant(t, shared.tenants)
			svc := tn.WaitIngress(tn.Create(newService("dns", tc.ann)).Name, nil)
			ip, lb := svc.Status.LoadBalancer.Ingress[0].IP, cloudgce.LoadBalancerName(svc)
			tn.Update(svc.Name, func(s *v1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53})
			})
			waitRule(t, lb+"-udp", func(r *computepb.ForwardingRule) error {
				return contract.FirstErr(contract.Want("protocol", r.GetIPProtocol(), "UDP"), contract.Want("IP", r.GetIPAddress(), ip))
			})
			waitRule(t, lb, func(r *computepb.ForwardingRule) error {
				return contract.FirstErr(contract.Want("protocol", r.GetIPProtocol(), "TCP"), contract.Want("IP", r.GetIPAddress(), ip))
			})
			if now := tn.WaitIngress(svc.Name, nil).Status.LoadBalancer.Ingress[0].IP; now != ip {
				t.Errorf("ingress moved from %s to %s", ip, now)
			}
			tn.Update(svc.Name, func(s *v1.Service) { s.Spec.Ports = s.Spec.Ports[:1] })
			waitFor(t, "the UDP rule to go", func() (bool, string) {
				r := rule(t, lb+"-udp")
				return r == nil, fmt.Sprint(r)
			})
			waitRule(t, lb, func(r *computepb.ForwardingRule) error { return contract.Want("IP", r.GetIPAddress(), ip) })
		})
	}
}
