package aws

import (
	"testing"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// TestNLBReplaceKey checks which changes give an NLB Service a new replacement key (and so
// allow a replacement): the Service's replacement fields and the token, not the cloud
// config's security-group mode nor the order of pins.
func TestNLBReplaceKey(t *testing.T) {
	t.Parallel()
	base := func() (*NLBModel, *annotations.AWSConfig, string) {
		return &NLBModel{Subnets: []string{"s1", "s2"}, EIPAllocations: []string{"eipalloc-1", "eipalloc-2"}}, &annotations.AWSConfig{}, ""
	}
	m0, cfg0, tok0 := base()
	key0 := nlbReplaceKey(tok0, m0, cfg0)
	tests := []struct {
		name   string
		mutate func(*NLBModel, *annotations.AWSConfig, *string)
		same   bool
	}{
		{"unchanged", func(*NLBModel, *annotations.AWSConfig, *string) {}, true},
		{"pins in another order", func(m *NLBModel, _ *annotations.AWSConfig, _ *string) {
			m.EIPAllocations = []string{"eipalloc-2", "eipalloc-1"}
		}, true},
		{"cloud config gives a managed group", func(m *NLBModel, _ *annotations.AWSConfig, _ *string) {
			m.ManagedSecurityGroup = &SecurityGroup{Name: "k8s-elb-x"}
		}, true},
		{"scheme", func(m *NLBModel, _ *annotations.AWSConfig, _ *string) { m.Internal = true }, false},
		{"other allocation", func(m *NLBModel, _ *annotations.AWSConfig, _ *string) { m.EIPAllocations[1] = "eipalloc-3" }, false},
		{"disable-nlb-sg", func(_ *NLBModel, c *annotations.AWSConfig, _ *string) { c.DisableNLBSecurityGroups = true }, false},
		{"token", func(_ *NLBModel, _ *annotations.AWSConfig, tok *string) { *tok = "2026-01-01" }, false},
	}
	for _, tt := range tests {
		m, cfg, tok := base()
		tt.mutate(m, cfg, &tok)
		if got := nlbReplaceKey(tok, m, cfg) == key0; got != tt.same {
			t.Errorf("%s: same key = %v, want %v", tt.name, got, tt.same)
		}
	}
	if providers.ReplaceAllowed("", key0) {
		t.Error("a load balancer without a recorded key may be replaced")
	}
}

// TestKeepNLB checks that the configuration keeping an NLB gives a model that needs no
// replacement of it, whatever the Service asks.
func TestKeepNLB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  annotations.AWSConfig
		lb   nlbObserved
		m    NLBModel
	}{
		{"internal wanted", annotations.AWSConfig{Internal: true}, nlbObserved{}, NLBModel{Internal: true}},
		{"groups wanted, NLB has none", annotations.AWSConfig{}, nlbObserved{}, NLBModel{ManagedSecurityGroup: &SecurityGroup{}}},
		{"none wanted, NLB has groups", annotations.AWSConfig{DisableNLBSecurityGroups: true}, nlbObserved{groups: []string{"sg-1"}}, NLBModel{}},
	}
	for _, tt := range tests {
		kept := keepNLB(&tt.cfg, &tt.m, &tt.lb)
		km := &NLBModel{Internal: kept.Internal, SecurityGroups: kept.SecurityGroups}
		if nlbMustReplace(km, &tt.lb) {
			t.Errorf("%s: the kept configuration %+v still replaces the NLB", tt.name, kept)
		}
	}
}
