package aws

import (
	"slices"
	"testing"

	"github.com/cloudlb/cloudlb/annotations"
	v1 "k8s.io/api/core/v1"
)

func TestPinsMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		have, want map[string]subnetPin
		match      bool
	}{
		{"nothing pinned", nil, nil, true},
		{"AWS-assigned addresses are not pins", map[string]subnetPin{"s1": {PrivateIPv4: "10.0.1.5", IPv6: "2600::5"}}, nil, true},
		{"same allocation", map[string]subnetPin{"s1": {Allocation: "eipalloc-1"}}, map[string]subnetPin{"s1": {Allocation: "eipalloc-1"}}, true},
		{"other allocation", map[string]subnetPin{"s1": {Allocation: "eipalloc-1"}}, map[string]subnetPin{"s1": {Allocation: "eipalloc-2"}}, false},
		{"pin missing", nil, map[string]subnetPin{"s1": {IPv6: "2600::10"}}, false},
		{"assigned prefix matches auto_assigned", map[string]subnetPin{"s1": {NATPrefix: "2600:1:2:3::/80"}}, map[string]subnetPin{"s1": {NATPrefix: autoAssigned}}, true},
		{"no prefix for auto_assigned", nil, map[string]subnetPin{"s1": {NATPrefix: autoAssigned}}, false},
		{"other prefix", map[string]subnetPin{"s1": {NATPrefix: "2600:1:2:3::/80"}}, map[string]subnetPin{"s1": {NATPrefix: "2600:1:2:4::/80"}}, false},
		// cloud-provider-aws gives pin i to the subnet of the i-th zone by name, cloudlb to the
		// i-th subnet by ID: the same pins on other subnets are the same NLB.
		{"same allocations on other subnets", map[string]subnetPin{"s1": {Allocation: "eipalloc-2"}, "s2": {Allocation: "eipalloc-1"}},
			map[string]subnetPin{"s1": {Allocation: "eipalloc-1"}, "s2": {Allocation: "eipalloc-2"}}, true},
		{"one allocation differs", map[string]subnetPin{"s1": {Allocation: "eipalloc-2"}, "s2": {Allocation: "eipalloc-3"}},
			map[string]subnetPin{"s1": {Allocation: "eipalloc-1"}, "s2": {Allocation: "eipalloc-2"}}, false},
	}
	for _, tt := range tests {
		if got := pinsMatch(tt.have, tt.want); got != tt.match {
			t.Errorf("%s: pinsMatch = %v, want %v", tt.name, got, tt.match)
		}
	}
}

func TestNLBMustReplace(t *testing.T) {
	t.Parallel()
	base := func() (*NLBModel, *nlbObserved) {
		return &NLBModel{Subnets: []string{"s1"}}, &nlbObserved{}
	}
	tests := []struct {
		name    string
		mutate  func(*NLBModel, *nlbObserved)
		replace bool
	}{
		{"same", func(*NLBModel, *nlbObserved) {}, false},
		{"scheme", func(m *NLBModel, _ *nlbObserved) { m.Internal = true }, true},
		{"groups where there were none", func(m *NLBModel, _ *nlbObserved) { m.SecurityGroups = []string{"sg-1"} }, true},
		{"no group any more", func(_ *NLBModel, o *nlbObserved) { o.groups = []string{"sg-1"} }, true},
		{"other groups", func(m *NLBModel, o *nlbObserved) { m.SecurityGroups, o.groups = []string{"sg-2"}, []string{"sg-1"} }, false},
		// The cluster's backend group is attached in place, to an NLB that has groups.
		{"backend group to attach", func(m *NLBModel, o *nlbObserved) {
			m.ManagedSecurityGroup, m.BackendGroup, o.groups = &SecurityGroup{}, &BackendGroup{}, []string{"sg-own"}
		}, false},
		{"backend group attached", func(m *NLBModel, o *nlbObserved) {
			m.SecurityGroups, m.BackendGroup, o.groups = []string{"sg-1"}, &BackendGroup{}, []string{"sg-1", "sg-backend"}
		}, false},
		{"source NAT prefixes", func(m *NLBModel, _ *nlbObserved) { m.PrefixForIPv6SourceNAT = true }, true},
		{"dualstack alone is in place", func(m *NLBModel, _ *nlbObserved) { m.IPAddressType = "dualstack" }, false},
		{"pinned IPv6", func(m *NLBModel, _ *nlbObserved) { m.IPv6Addresses = []string{"2600::1"} }, true},
	}
	for _, tt := range tests {
		m, o := base()
		tt.mutate(m, o)
		if got := nlbMustReplace(m, o); got != tt.replace {
			t.Errorf("%s: replace = %v, want %v", tt.name, got, tt.replace)
		}
		if changes := nlbChanges(m, o); !tt.replace && len(changes) > 0 {
			t.Errorf("%s: the guard reports %v", tt.name, changes)
		}
	}
}

func TestExactRules(t *testing.T) {
	t.Parallel()
	a := Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDR: "10.0.0.0/8"}
	b := Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, PrefixList: "pl-1"}
	c := Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, Group: "sg-1"}
	renamed := a
	renamed.Description = "someone else's words"
	add, remove := exactRules([]Rule{renamed, c}, []Rule{a, b})
	if len(add) != 1 || add[0] != b || len(remove) != 1 || remove[0] != c {
		t.Errorf("add %v remove %v, want add the prefix list and remove the group rule (descriptions do not count)", add, remove)
	}
	if b.key() == c.key() || a.key() == b.key() {
		t.Error("rules with different sources share a key")
	}
}

func TestCandidateNames(t *testing.T) {
	t.Parallel()
	svc := testService(nil)
	def := LoadBalancerName(svc)
	named := func(v string) *v1.Service {
		s := svc.DeepCopy()
		s.Annotations = map[string]string{ann + "name": v}
		// A status whose hostname has the shape of another name must change nothing: names
		// are never read from DNS names.
		s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{Hostname: "third-123.us-east-1.elb.amazonaws.com"}}
		return s
	}
	tests := []struct {
		name string
		svc  *v1.Service
		want []string
	}{
		{"default", svc, []string{def}},
		{"annotated", named("custom"), []string{"custom", def}},
		{"annotated with the default", named(def), []string{def}},
		{"invalid annotation falls back to the default", named("-bad-"), []string{def}},
	}
	for _, tt := range tests {
		cfg, _ := annotations.Parse(tt.svc, annotations.AWS)
		if got := candidateNames(tt.svc, cfg.AWS); !slices.Equal(got, tt.want) {
			t.Errorf("%s: candidateNames = %v, want %v", tt.name, got, tt.want)
		}
	}
}
