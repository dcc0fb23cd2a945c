package gce

import (
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// TestMixedProtocolRules: a Service with TCP and UDP ports gets two rules on one address
// (GCE allows it for a reserved external address and for an internal SHARED_LOADBALANCER_VIP
// one); adding the second protocol later keeps the IP, and removing it deletes the UDP rule.
func TestMixedProtocolRules(t *testing.T) {
	t.Parallel()
	withUDP := func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053})
	}
	for _, tc := range []struct {
		name    string
		ann     map[string]string
		purpose string
	}{
		{"external", nil, ""},
		{"external-rbs", map[string]string{"cloud.google.com/l4-rbs": "enabled"}, ""},
		{"internal", map[string]string{annType: "Internal"}, "SHARED_LOADBALANCER_VIP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tcpOnly := svc("mixed", tc.ann)
			ip := e.ensure(tcpOnly).Ingress[0].IP
			mixed := svc("mixed", tc.ann, withUDP)
			if got := e.ensure(mixed).Ingress[0].IP; got != ip {
				t.Errorf("adding UDP moved the IP from %s to %s", ip, got)
			}
			m, err := e.build(mixed)
			if err != nil {
				t.Fatal(err)
			}
			tcp, err := e.cloud.observeRule(e.ctx(), m, m.Name)
			if err != nil {
				t.Fatal(err)
			}
			udp, err := e.cloud.observeRule(e.ctx(), m, udpRuleName(m.Name))
			if err != nil {
				t.Fatal(err)
			}
			if tcp == nil || udp == nil || tcp.IP != ip || udp.IP != ip || tcp.Rule.Protocol != "TCP" || udp.Rule.Protocol != "UDP" {
				t.Fatalf("rules %+v %+v, want TCP and UDP on %s", tcp, udp, ip)
			}
			a, err := e.cloud.getAddress(e.ctx(), m, m.Name)
			if err != nil || a == nil || (tc.purpose != "" && a.Purpose != tc.purpose) {
				t.Errorf("address %+v (%v), want purpose %q", a, err, tc.purpose)
			}
			e.fake.ResetCalls()
			e.ensure(mixed)
			if e.fake.Writes() != 0 {
				t.Errorf("no-op ensure wrote: %v", e.fake.Calls())
			}
			if got := e.ensure(tcpOnly).Ingress[0].IP; got != ip || e.has("forwardingRule", udpRuleName(m.Name)) {
				t.Errorf("removing UDP: IP %s (want %s), UDP rule left: %v", got, ip, e.has("forwardingRule", udpRuleName(m.Name)))
			}
			e.delete(mixed)
			if n := e.names(); len(n) != 0 {
				t.Errorf("left after delete: %v", n)
			}
		})
	}
}

// TestNetworkTierChangeRefused: GCE cannot move an address between tiers, so a tier change
// after creation is a user error and the load balancer keeps its address, IP and tier, while
// the rest of the Service (here a node add) is still applied.
func TestNetworkTierChangeRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	premium := svc("tier", nil)
	ip := e.ensure(premium).Ingress[0].IP
	standard := svc("tier", map[string]string{"cloud.google.com/network-tier": "Standard"})
	e.fake.ResetCalls()
	_, err := e.cloud.EnsureLoadBalancer(e.ctx(), "ignored", standard, e.nodes)
	if !providers.IsUserError(err) {
		t.Fatalf("tier change: err = %v, want a user error", err)
	}
	if e.fake.Writes() != 0 {
		t.Errorf("refused change wrote: %v", e.fake.Calls())
	}
	m, err := e.build(premium)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.cloud.observeRule(e.ctx(), m, m.Name)
	if err != nil || r == nil || r.IP != ip || r.Rule.NetworkTier != "PREMIUM" {
		t.Errorf("rule after the refused change: %+v (%v), want %s PREMIUM", r, err, ip)
	}
	// The rest of the Service is still applied: a new node joins the pool.
	e.addNode("n4", "us-central1-b")
	if _, err := e.cloud.EnsureLoadBalancer(e.ctx(), "ignored", standard, e.nodes); !providers.IsUserError(err) {
		t.Errorf("tier change with a new node: err = %v, want a user error", err)
	}
	tp, err := e.cloud.observeTargetPool(e.ctx(), m)
	if err != nil || tp == nil || len(tp.Instances) != 4 {
		t.Errorf("target pool after the node add: %+v (%v), want 4 instances", tp, err)
	}
	if got := e.ensure(premium).Ingress[0].IP; got != ip {
		t.Errorf("back to Premium: IP %s, want %s", got, ip)
	}
	e.delete(premium)
}
