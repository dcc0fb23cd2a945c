package azure

import (
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
)

const testLBID = "/subscriptions/sub/resourceGroups/rg-lb/providers/Microsoft.Network/loadBalancers/demo"

func testModel(t *testing.T, annotations map[string]string, mutate ...func(*v1.Service)) *Model {
	t.Helper()
	m, err := build(t, testService(annotations, mutate...), testSettings())
	if err != nil {
		t.Fatal(err)
	}
	m.Frontend.PublicIPID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/demo-x"
	return m
}

// applied is the load balancer after writing m into obs, as ARM would store it.
func applied(t *testing.T, obs *armnetwork.LoadBalancer, m *Model) *armnetwork.LoadBalancer {
	t.Helper()
	lb, changes, err := DiffLoadBalancer(obs, m, testLBID, false)
	if err != nil || len(changes) == 0 {
		t.Fatalf("DiffLoadBalancer: %v, changes %v", err, changes)
	}
	return lb
}

// otherService is a load balancer holding another Service's frontend, rule and probe.
func otherService() *armnetwork.LoadBalancer {
	return &armnetwork.LoadBalancer{Name: to.Ptr("demo"), Etag: to.Ptr(`W/"1"`), Tags: map[string]*string{tagCluster: to.Ptr("demo")},
		Properties: &armnetwork.LoadBalancerPropertiesFormat{
			FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{Name: to.Ptr("aother"), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{}}},
			LoadBalancingRules:       []*armnetwork.LoadBalancingRule{{Name: to.Ptr("aother-TCP-80"), Properties: &armnetwork.LoadBalancingRulePropertiesFormat{}}},
			Probes:                   []*armnetwork.Probe{{Name: to.Ptr("aother-TCP-80"), Properties: &armnetwork.ProbePropertiesFormat{}}},
		}}
}

func names[T any](items []*T, name func(*T) *string) []string {
	var out []string
	for _, it := range items {
		out = append(out, *name(it))
	}
	return out
}

func TestDiffLoadBalancer(t *testing.T) {
	t.Parallel()
	m := testModel(t, nil)
	withOurs := applied(t, otherService(), m)
	upper := applied(t, otherService(), m)
	// ARM may return IDs and names in another case.
	for _, r := range upper.Properties.LoadBalancingRules {
		if r.Properties.Probe != nil {
			r.Properties.Probe.ID = to.Ptr(strings.ToUpper(*r.Properties.Probe.ID))
		}
	}
	dynamic := testModel(t, map[string]string{ann + "azure-load-balancer-internal": "true"})
	dynObs := applied(t, nil, dynamic)
	dynObs.Properties.FrontendIPConfigurations[0].Properties.PrivateIPAddress = to.Ptr("10.240.0.77")
	changed := testModel(t, map[string]string{ann + "azure-load-balancer-tcp-idle-timeout": "10"})
	fewerNodes := testModel(t, nil)
	fewerNodes.Pool.Addresses = fewerNodes.Pool.Addresses[:1]

	for _, tc := range []struct {
		name          string
		obs           *armnetwork.LoadBalancer
		m             *Model
		remove        bool
		wantChanges   []string
		wantFrontends []string
		wantRules     []string
	}{
		{name: "remove from nothing", m: m, remove: true},
		{name: "create", m: m, wantChanges: []string{"create load balancer demo", "add frontend a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7",
			"add probe a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "add probe a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80",
			"add rule a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "add rule a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80", "add pool demo with 2 addresses"},
			wantFrontends: []string{"a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"}, wantRules: []string{"a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80"}},
		{name: "unchanged next to another Service", obs: withOurs, m: m,
			wantFrontends: []string{"aother", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"}, wantRules: []string{"aother-TCP-80", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80"}},
		{name: "IDs in another case", obs: upper, m: m,
			wantFrontends: []string{"aother", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"}, wantRules: []string{"aother-TCP-80", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80"}},
		{name: "dynamic private IP kept", obs: dynObs, m: dynamic, wantFrontends: []string{"a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"},
			wantRules: []string{"a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80"}},
		{name: "changed rules", obs: withOurs, m: changed, wantChanges: []string{"update rule a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "update rule a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80"},
			wantFrontends: []string{"aother", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"}, wantRules: []string{"aother-TCP-80", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80"}},
		{name: "node left", obs: withOurs, m: fewerNodes, wantChanges: []string{"update pool demo: 2 -> 1 addresses"},
			wantFrontends: []string{"aother", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"}, wantRules: []string{"aother-TCP-80", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80"}},
		{name: "remove ours only", obs: withOurs, m: m, remove: true, wantChanges: []string{"remove frontend a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7",
			"remove probe a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "remove probe a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80",
			"remove rule a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "remove rule a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-80"},
			wantFrontends: []string{"aother"}, wantRules: []string{"aother-TCP-80"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var before []byte
			if tc.obs != nil {
				before, _ = tc.obs.MarshalJSON()
			}
			lb, changes, err := DiffLoadBalancer(tc.obs, tc.m, testLBID, tc.remove)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(changes, tc.wantChanges) {
				t.Errorf("changes\n got %q\nwant %q", changes, tc.wantChanges)
			}
			if tc.obs != nil {
				if after, _ := tc.obs.MarshalJSON(); string(after) != string(before) {
					t.Error("DiffLoadBalancer modified the observed load balancer")
				}
			}
			if lb == nil {
				if tc.wantFrontends != nil {
					t.Fatal("no load balancer")
				}
				return
			}
			if got := names(lb.Properties.FrontendIPConfigurations, func(f *armnetwork.FrontendIPConfiguration) *string { return f.Name }); !slices.Equal(got, tc.wantFrontends) {
				t.Errorf("frontends %v, want %v", got, tc.wantFrontends)
			}
			if got := names(lb.Properties.LoadBalancingRules, func(f *armnetwork.LoadBalancingRule) *string { return f.Name }); !slices.Equal(got, tc.wantRules) {
				t.Errorf("rules %v, want %v", got, tc.wantRules)
			}
		})
	}
}

func TestDiffLoadBalancerSharedProbe(t *testing.T) {
	t.Parallel()
	s := testSettings()
	s.SharedProbe = &SharedProbe{Port: 10256, Path: "/healthz"}
	m, err := build(t, testService(nil), s)
	if err != nil {
		t.Fatal(err)
	}
	lb := applied(t, otherService(), m)
	if !slices.ContainsFunc(lb.Properties.Probes, func(p *armnetwork.Probe) bool { return *p.Name == sharedProbeName }) {
		t.Fatal("shared probe not added")
	}
	out, changes, err := DiffLoadBalancer(lb, m, testLBID, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(changes, "remove probe "+sharedProbeName+" (no rule uses it)") {
		t.Errorf("changes %q: the unused shared probe must go", changes)
	}
	if got := names(out.Properties.Probes, func(p *armnetwork.Probe) *string { return p.Name }); !slices.Equal(got, []string{"aother-TCP-80"}) {
		t.Errorf("probes %v", got)
	}
}

func TestDiffSecurityGroup(t *testing.T) {
	t.Parallel()
	user := &armnetwork.SecurityRule{Name: to.Ptr("user"), Properties: &armnetwork.SecurityRulePropertiesFormat{
		Priority: to.Ptr[int32](500), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound), Access: to.Ptr(armnetwork.SecurityRuleAccessAllow)}}
	nsg := &armnetwork.SecurityGroup{Etag: to.Ptr("e"), Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{user}}}
	allow := SecurityRule{Name: "ap-TCP-Internet", Access: "Allow", Protocol: "Tcp", Sources: []string{"Internet"}, Ports: []string{"80", "443"}, Destinations: []string{"20.0.0.1"}}
	deny := SecurityRule{Name: "ap-DenyAll", Access: "Deny", Protocol: "*", Sources: []string{"*"}, Ports: []string{"*"}, Destinations: []string{"20.0.0.1"}}

	first, changes, err := DiffSecurityGroup(nsg, "ap", []SecurityRule{allow, deny})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changes, []string{"add security rule ap-DenyAll", "add security rule ap-TCP-Internet"}) {
		t.Errorf("changes %q", changes)
	}
	prio := map[string]int32{}
	for _, r := range first.Properties.SecurityRules {
		prio[*r.Name] = *r.Properties.Priority
	}
	if prio["user"] != 500 || prio["ap-TCP-Internet"] != 501 || prio["ap-DenyAll"] != 4096 {
		t.Errorf("priorities %v: allow takes the lowest free, deny the highest", prio)
	}
	if _, changes, _ := DiffSecurityGroup(first, "ap", []SecurityRule{deny, allow}); len(changes) != 0 {
		t.Errorf("unchanged rules in another order: changes %q", changes)
	}
	moved := allow
	moved.Ports = []string{"8443"}
	second, changes, _ := DiffSecurityGroup(first, "ap", []SecurityRule{moved})
	if !slices.Equal(changes, []string{"remove security rule ap-DenyAll", "update security rule ap-TCP-Internet"}) {
		t.Errorf("changes %q", changes)
	}
	for _, r := range second.Properties.SecurityRules {
		if *r.Name == "ap-TCP-Internet" && *r.Properties.Priority != 501 {
			t.Errorf("a changed rule moved from 501 to %d", *r.Properties.Priority)
		}
	}
	empty, changes, _ := DiffSecurityGroup(second, "ap", nil)
	if len(empty.Properties.SecurityRules) != 1 || *empty.Properties.SecurityRules[0].Name != "user" || len(changes) != 1 {
		t.Errorf("removing ours: rules %d changes %q", len(empty.Properties.SecurityRules), changes)
	}

	full := &armnetwork.SecurityGroup{Properties: &armnetwork.SecurityGroupPropertiesFormat{}}
	for p := int32(minPriority); p <= maxPriority; p++ {
		full.Properties.SecurityRules = append(full.Properties.SecurityRules, &armnetwork.SecurityRule{Name: to.Ptr("u"),
			Properties: &armnetwork.SecurityRulePropertiesFormat{Priority: to.Ptr(p), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound)}})
	}
	if _, _, err := DiffSecurityGroup(full, "ap", []SecurityRule{allow}); err == nil || !strings.Contains(err.Error(), "no free priority") {
		t.Errorf("full NSG: err = %v", err)
	}
}
