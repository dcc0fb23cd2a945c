package gcecontract_test

import (
	"fmt"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	v1 "k8s.io/api/core/v1"

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
			tn := newTenant(t)
			svc := tn.waitIngress(tn.create(newService("dns", tc.ann)).Name)
			ip, lb := svc.Status.LoadBalancer.Ingress[0].IP, cloudgce.LoadBalancerName(svc)
			tn.update(svc.Name, func(s *v1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53})
			})
			waitRule(t, lb+"-udp", func(r *computepb.ForwardingRule) error {
				return firstErr(want("protocol", r.GetIPProtocol(), "UDP"), want("IP", r.GetIPAddress(), ip))
			})
			waitRule(t, lb, func(r *computepb.ForwardingRule) error {
				return firstErr(want("protocol", r.GetIPProtocol(), "TCP"), want("IP", r.GetIPAddress(), ip))
			})
			if now := tn.waitIngress(svc.Name).Status.LoadBalancer.Ingress[0].IP; now != ip {
				t.Errorf("ingress moved from %s to %s", ip, now)
			}
			tn.update(svc.Name, func(s *v1.Service) { s.Spec.Ports = s.Spec.Ports[:1] })
			waitFor(t, "the UDP rule to go", func() (bool, string) {
				r := rule(t, lb+"-udp")
				return r == nil, fmt.Sprint(r)
			})
			waitRule(t, lb, func(r *computepb.ForwardingRule) error { return want("IP", r.GetIPAddress(), ip) })
		})
	}
}
