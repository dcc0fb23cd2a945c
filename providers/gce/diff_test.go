package gce

import (
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// applied is what the cloud holds once m was applied with the address ip.
func applied(m *Model, ip string) *Observed {
	o := &Observed{
		Rules: map[string]ObservedRule{}, BackendServices: map[string]ObservedBackendService{},
		HealthChecks: map[string]ObservedHealthCheck{}, Firewalls: map[string]ObservedFirewall{}, Groups: map[string]ObservedGroup{},
	}
	a := m.Address
	a.IP = ip
	o.Address = &ObservedAddress{Address: a, Owned: true, Labels: map[string]string{ownerLabel: m.ClusterID}}
	for _, r := range m.ForwardingRules {
		o.Rules[r.Name] = ObservedRule{Rule: r, IP: ip, Owned: true, Labels: ruleLabels(nil, m)}
	}
	if m.TargetPool != nil {
		o.TargetPool = &ObservedTargetPool{TargetPool: *m.TargetPool, Owned: true}
	}
	if b := m.BackendService; b != nil {
		o.BackendServices[b.Name] = ObservedBackendService{BackendSvc: *b, Owned: true, Fingerprint: "fp"}
	}
	o.HealthChecks[hcKey(m.HealthCheck.Kind, m.HealthCheck.Name)] = ObservedHealthCheck{HealthCheck: m.HealthCheck, Owned: true}
	for _, f := range m.Firewalls {
		if !f.Shared {
			f.DestinationRanges = []string{ip + "/32"}
		}
		o.Firewalls[f.Name] = ObservedFirewall{Firewall: f, Owned: true}
	}
	for _, g := range m.InstanceGroups {
		o.Groups[g.Zone] = ObservedGroup{Exists: true, Owned: true, Instances: g.Instances}
	}
	return o
}

func mustBuild(t *testing.T, svc *v1.Service) *Model {
	t.Helper()
	m, err := buildFor(t, svc, false)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiff(t *testing.T) {
	t.Parallel()
	ext := testService(nil)
	ilb := testService(map[string]string{annType: "Internal"})
	tests := []struct {
		name string
		// before is the Service as applied; after the Service now.
		before, after *v1.Service
		mutate        func(*Observed)
		check         func(t *testing.T, p *Plan)
	}{
		{"unchanged external", ext, ext, nil, func(t *testing.T, p *Plan) {
			if p.Writes() {
				t.Errorf("writes on an unchanged Service: %+v", p)
			}
		}},
		{"unchanged internal", ilb, ilb, nil, func(t *testing.T, p *Plan) {
			if p.Writes() {
				t.Errorf("writes on an unchanged Service: %+v", p)
			}
		}},
		{"nothing exists", nil, ext, nil, func(t *testing.T, p *Plan) {
			if !p.CreateAddress || !p.CreateTargetPool || len(p.CreateRules) != 1 || len(p.Firewalls) != 2 || p.HealthCheck == nil || !p.HealthCheck.Create || !p.SetSpec {
				t.Errorf("not a full create: %+v", p)
			}
		}},
		{"source ranges patch the firewall only", ext, testService(nil, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} }), nil,
			func(t *testing.T, p *Plan) {
				if len(p.Firewalls) != 1 || p.Firewalls[0].Create || p.Firewalls[0].Firewall.SourceRanges[0] != "10.0.0.0/8" {
					t.Errorf("firewalls = %+v", p.Firewalls)
				}
				if len(p.RecreateRules) > 0 || len(p.CreateRules) > 0 || !p.SetSpec {
					t.Errorf("unexpected rule changes: %+v", p)
				}
			}},
		{"Cluster to Local swaps the pool's health check in place", ext, testService(nil, local), nil, func(t *testing.T, p *Plan) {
			if p.HealthCheck == nil || !p.HealthCheck.Create || p.SwapPoolHealthCheck != "k8s-demo-node" {
				t.Errorf("health check: %+v swap %q", p.HealthCheck, p.SwapPoolHealthCheck)
			}
			if p.RecreateTargetPool || len(p.RecreateRules) > 0 {
				t.Errorf("target pool or rule re-created: %+v", p)
			}
			if len(p.DeleteHealthChecks) != 1 || p.DeleteHealthChecks[0].Name != "k8s-demo-node" {
				t.Errorf("old shared check not offered for deletion: %+v", p.DeleteHealthChecks)
			}
		}},
		{"node added", ext, ext, func(o *Observed) {
			o.TargetPool.Instances = slices.DeleteFunc(slices.Clone(o.TargetPool.Instances), func(s string) bool { return s == "projects/test-project/zones/us-central1-b/instances/n3" })
		}, func(t *testing.T, p *Plan) {
			if !slices.Equal(p.AddInstances, []string{"projects/test-project/zones/us-central1-b/instances/n3"}) || len(p.RemoveInstances) > 0 {
				t.Errorf("add %v remove %v", p.AddInstances, p.RemoveInstances)
			}
		}},
		{"protocol change re-creates the rule", ext, testService(nil, func(s *v1.Service) {
			s.Spec.Ports = []v1.ServicePort{{Protocol: v1.ProtocolUDP, Port: 80, NodePort: 30080}}
		}), nil, func(t *testing.T, p *Plan) {
			if !slices.Equal(p.RecreateRules, []string{LoadBalancerName(ext)}) || len(p.CreateRules) != 1 || p.CreateAddress {
				t.Errorf("recreate %v create %v address %v", p.RecreateRules, p.CreateRules, p.CreateAddress)
			}
		}},
		{"global access is patched", ilb, testService(map[string]string{annType: "Internal", "networking.gke.io/internal-load-balancer-allow-global-access": "true"}), nil,
			func(t *testing.T, p *Plan) {
				if len(p.PatchRules) != 1 || len(p.RecreateRules) > 0 {
					t.Errorf("patch %v recreate %v", p.PatchRules, p.RecreateRules)
				}
			}},
		{"session affinity patches the backend service", ilb, testService(map[string]string{annType: "Internal"}, func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP }), nil,
			func(t *testing.T, p *Plan) {
				if p.BackendService == nil || p.BackendService.Create || p.BackendService.Fingerprint != "fp" || len(p.RecreateRules) > 0 {
					t.Errorf("backend service %+v recreate %v", p.BackendService, p.RecreateRules)
				}
			}},
		{"new loadBalancerIP re-reserves our address", ext, testService(nil, func(s *v1.Service) { s.Spec.LoadBalancerIP = "203.0.113.7" }), nil,
			func(t *testing.T, p *Plan) {
				if !p.DeleteAddressFirst || !p.CreateAddress || len(p.RecreateRules) != 1 {
					t.Errorf("address delete %v create %v recreate %v", p.DeleteAddressFirst, p.CreateAddress, p.RecreateRules)
				}
			}},
		{"a zone joins the instance groups", ilb, ilb, func(o *Observed) { delete(o.Groups, "us-central1-b") }, func(t *testing.T, p *Plan) {
			if len(p.Groups) != 1 || !p.Groups[0].Create || !slices.Equal(p.Groups[0].Add, []string{"n3"}) {
				t.Errorf("groups = %+v", p.Groups)
			}
		}},
		{"mixed protocol drops the UDP rule", testService(nil, func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Protocol: v1.ProtocolUDP, Port: 53})
		}), ext, nil, func(t *testing.T, p *Plan) {
			if !slices.Equal(p.DeleteRules, []string{udpRuleName(LoadBalancerName(ext))}) {
				t.Errorf("delete rules %v", p.DeleteRules)
			}
		}},
		{"internal gaining UDP: shared VIP on the same IP, rules around the backend protocol change", ilb, testService(map[string]string{annType: "Internal"}, withUDP), nil,
			func(t *testing.T, p *Plan) {
				lb := LoadBalancerName(ilb)
				if !p.DeleteAddressFirst || !p.CreateAddress || p.IP != "198.51.100.1" {
					t.Errorf("address: delete first %v create %v IP %q, want re-reserved with 198.51.100.1", p.DeleteAddressFirst, p.CreateAddress, p.IP)
				}
				if p.BackendService == nil || p.BackendService.BackendService.Protocol != "UNSPECIFIED" || !slices.Equal(p.RecreateRules, []string{lb}) || len(p.CreateRules) != 2 {
					t.Errorf("backend %+v recreate %v create %v", p.BackendService, p.RecreateRules, p.CreateRules)
				}
			}},
		{"internal losing UDP: the UDP rule goes before the backend protocol change", testService(map[string]string{annType: "Internal"}, withUDP), ilb, nil,
			func(t *testing.T, p *Plan) {
				lb := LoadBalancerName(ilb)
				if !slices.Equal(p.RecreateRules, []string{udpRuleName(lb), lb}) || len(p.CreateRules) != 1 || len(p.DeleteRules) != 0 {
					t.Errorf("recreate %v create %v delete %v", p.RecreateRules, p.CreateRules, p.DeleteRules)
				}
				if p.CreateAddress || p.BackendService == nil || p.BackendService.BackendService.Protocol != "TCP" {
					t.Errorf("address create %v backend %+v", p.CreateAddress, p.BackendService)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := &Observed{Rules: map[string]ObservedRule{}, BackendServices: map[string]ObservedBackendService{},
				HealthChecks: map[string]ObservedHealthCheck{}, Firewalls: map[string]ObservedFirewall{}, Groups: map[string]ObservedGroup{}}
			if tt.before != nil {
				before, err := buildFor(t, tt.before, true)
				if err != nil {
					t.Fatal(err)
				}
				o = applied(before, "198.51.100.1")
			}
			if tt.mutate != nil {
				tt.mutate(o)
			}
			p, err := Diff(mustBuild(t, tt.after), o)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestDiffOwnership(t *testing.T) {
	t.Parallel()
	m := mustBuild(t, testService(nil))
	tests := []struct {
		name   string
		mutate func(*Observed)
	}{
		{"forwarding rule", func(o *Observed) {
			r := o.Rules[m.Name]
			r.Owned = false
			o.Rules[m.Name] = r
		}},
		{"target pool", func(o *Observed) { o.TargetPool.Owned = false }},
		{"traffic firewall", func(o *Observed) {
			f := o.Firewalls[trafficFirewallName(m.Name)]
			f.Owned = false
			o.Firewalls[f.Name] = f
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := applied(m, "198.51.100.1")
			tt.mutate(o)
			_, err := Diff(m, o)
			var ue *providers.UserError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a UserError", err)
			}
		})
	}
	// A shared object of another owner is used, never changed.
	o := applied(m, "198.51.100.1")
	hc := o.HealthChecks[hcKey(m.HealthCheck.Kind, m.HealthCheck.Name)]
	hc.Owned, hc.Port = false, 1234
	o.HealthChecks[hcKey(m.HealthCheck.Kind, m.HealthCheck.Name)] = hc
	p, err := Diff(m, o)
	if err != nil || p.HealthCheck != nil {
		t.Errorf("foreign shared health check: plan %+v err %v", p.HealthCheck, err)
	}
}

func TestSpecHashIgnoresMembership(t *testing.T) {
	t.Parallel()
	a := mustBuild(t, testService(nil))
	b := mustBuild(t, testService(nil))
	b.TargetPool.Instances = b.TargetPool.Instances[:1]
	if a.SpecHash() != b.SpecHash() {
		t.Error("spec hash changed with the instances")
	}
	if a.MembershipHash() == b.MembershipHash() {
		t.Error("membership hash did not change with the instances")
	}
	c := mustBuild(t, testService(nil, local))
	if a.SpecHash() == c.SpecHash() {
		t.Error("spec hash did not change with the traffic policy")
	}
}
