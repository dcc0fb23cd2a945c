package azure

import (
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

const testPrefix = "a0000abcd8b7d4e6f9a1b2c3d4e5f6a7"

func testLB(tags map[string]*string, frontends, rules []string, pipID string) *armnetwork.LoadBalancer {
	lb := &armnetwork.LoadBalancer{Name: to.Ptr("demo"), Tags: tags, Properties: &armnetwork.LoadBalancerPropertiesFormat{}}
	for _, f := range frontends {
		fp := &armnetwork.FrontendIPConfigurationPropertiesFormat{}
		if pipID != "" {
			fp.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to.Ptr(pipID)}
		}
		lb.Properties.FrontendIPConfigurations = append(lb.Properties.FrontendIPConfigurations, &armnetwork.FrontendIPConfiguration{Name: to.Ptr(f), Properties: fp})
	}
	for _, r := range rules {
		lb.Properties.LoadBalancingRules = append(lb.Properties.LoadBalancingRules, &armnetwork.LoadBalancingRule{Name: to.Ptr(r)})
	}
	return lb
}

// TestOwnership: a load balancer with the cluster's name is written only when tagged for this
// cluster or when upstream's objects of this cluster's Services are on it; names alone of
// other Services are not enough.
func TestOwnership(t *testing.T) {
	t.Parallel()
	pipID := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/demo-aother"
	clusterPIP := &armnetwork.PublicIPAddress{ID: to.Ptr(pipID), Name: to.Ptr("demo-aother"),
		Tags: map[string]*string{tagService: to.Ptr("shop/other"), tagCluster: to.Ptr("demo")}}
	otherPIP := &armnetwork.PublicIPAddress{ID: to.Ptr(pipID), Name: to.Ptr("demo-aother"),
		Tags: map[string]*string{tagService: to.Ptr("shop/other"), tagCluster: to.Ptr("elsewhere")}}
	userPIP := &armnetwork.PublicIPAddress{ID: to.Ptr(pipID), Name: to.Ptr("demo-aother"), Tags: map[string]*string{"owner": to.Ptr("me")}}
	for _, c := range []struct {
		name    string
		lb      *armnetwork.LoadBalancer
		pip     *armnetwork.PublicIPAddress
		want    bool
		adopted bool
	}{
		{"tagged for the cluster", testLB(map[string]*string{tagCluster: to.Ptr("demo")}, nil, nil, ""), nil, true, false},
		{"tagged for the cluster (legacy key)", testLB(map[string]*string{legacyTagCluster: to.Ptr("demo")}, nil, nil, ""), nil, true, false},
		{"tagged for another cluster, even with our frontend", testLB(map[string]*string{tagCluster: to.Ptr("x")}, []string{testPrefix}, nil, ""), nil, false, false},
		{"untagged with our frontend", testLB(nil, []string{testPrefix}, nil, ""), nil, true, true},
		{"untagged with our subnet frontend", testLB(nil, []string{testPrefix + "-ilb"}, nil, ""), nil, true, true},
		{"untagged with our rule only", testLB(nil, []string{"aother"}, []string{testPrefix + "-TCP-80"}, ""), nil, true, true},
		{"untagged, another Service's frontend on a cluster public IP", testLB(nil, []string{"aother"}, nil, pipID), clusterPIP, true, true},
		{"untagged, another cluster's public IP", testLB(nil, []string{"aother"}, nil, pipID), otherPIP, false, false},
		{"untagged, a user's public IP", testLB(nil, []string{"aother"}, nil, pipID), userPIP, false, false},
		{"untagged, another Service's frontend, public IP not read", testLB(nil, []string{"aother"}, nil, pipID), nil, false, false},
		{"untagged and empty", testLB(nil, nil, nil, ""), nil, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := newObserved()
			if c.pip != nil {
				o.PublicIPs[key("rg", "demo-aother")] = c.pip
			}
			ok, why := ownership(c.lb, &Model{Prefix: testPrefix, Cluster: "demo"}, o)
			if ok != c.want || (why != "") != c.adopted {
				t.Errorf("ownership = %v, %q; want %v, adopted %v", ok, why, c.want, c.adopted)
			}
		})
	}
}

func allow(name string, prio int32, proto string, ports []string, dst ...string) *armnetwork.SecurityRule {
	r := armSecurityRule(SecurityRule{Name: name, Access: securityRuleAllow, Protocol: proto, Sources: []string{"Internet"}, Ports: ports, Destinations: dst}, prio)
	return r
}

// TestNarrowUpstream: the Service's destinations leave upstream's rules of its protocol whose
// ports are all its own, and its deny-all; other rules, and a rule that also serves another
// Service on other ports of the same address, are kept as they are.
func TestNarrowUpstream(t *testing.T) {
	t.Parallel()
	ours := []SecurityRule{{Name: testPrefix + "-TCP-Internet", Access: securityRuleAllow, Protocol: "Tcp", Ports: []string{"443", "80"}, Destinations: []string{"20.0.0.1"}}}
	for _, c := range []struct {
		name string
		rule *armnetwork.SecurityRule
		// wantDst is the rule's destinations afterwards; nil means removed.
		wantDst []string
	}{
		{"shared with another Service", allow("k8s-azure-lb_allow_IPv4_h1", 501, "Tcp", []string{"443", "80"}, "20.0.0.1", "20.0.0.2"), []string{"20.0.0.2"}},
		{"only ours", allow("k8s-azure-lb_allow_IPv4_h2", 502, "Tcp", []string{"80"}, "20.0.0.1"), nil},
		{"other ports on our address (a secondary Service)", allow("k8s-azure-lb_allow_IPv4_h3", 503, "Tcp", []string{"8080"}, "20.0.0.1"), []string{"20.0.0.1"}},
		{"other protocol", allow("k8s-azure-lb_allow_IPv4_h4", 504, "Udp", []string{"80"}, "20.0.0.1"), []string{"20.0.0.1"}},
		{"not upstream's (a user's)", allow("allow-web", 505, "Tcp", []string{"80"}, "20.0.0.1"), []string{"20.0.0.1"}},
		{"upstream's name, priority out of its range", allow("k8s-azure-lb_allow_IPv4_h5", 4100, "Tcp", []string{"80"}, "20.0.0.1"), []string{"20.0.0.1"}},
		{"deny-all", armSecurityRule(SecurityRule{Name: "k8s-azure-lb_deny-all_IPv4", Access: securityRuleDeny, Protocol: "*", Sources: []string{"*"}, Ports: []string{"*"}, Destinations: []string{"20.0.0.1", "20.0.0.9"}}, 4095), []string{"20.0.0.9"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			before := observedRule(c.rule).Destinations
			out, changes := narrowUpstream([]*armnetwork.SecurityRule{c.rule}, ours)
			switch {
			case c.wantDst == nil && len(out) != 0:
				t.Errorf("rule kept with %v, want it removed", observedRule(out[0]).Destinations)
			case c.wantDst != nil && (len(out) != 1 || !slices.Equal(observedRule(out[0]).Destinations, c.wantDst)):
				t.Errorf("rules %v, want one to %v", out, c.wantDst)
			}
			if changed := c.wantDst == nil || !slices.Equal(c.wantDst, before); changed != (len(changes) == 1) {
				t.Errorf("changes %v", changes)
			}
			if !slices.Equal(observedRule(c.rule).Destinations, before) {
				t.Errorf("the observed rule was modified")
			}
		})
	}
}

// TestJudge: a change that needs a new address is refused unless the recorded key differs
// from the Service's; the kept configuration is where the Service is.
func TestJudge(t *testing.T) {
	t.Parallel()
	s := Settings{Cluster: "demo", LoadBalancerName: "demo", LoadBalancerResourceGroup: "rg"}
	pubFrontend := &armnetwork.FrontendIPConfiguration{Name: to.Ptr(testPrefix), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{
		PublicIPAddress: &armnetwork.PublicIPAddress{ID: to.Ptr("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/demo-" + testPrefix)}}}
	ilbFrontend := &armnetwork.FrontendIPConfiguration{Name: to.Ptr(testPrefix + "-ilb"), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{
		Subnet: &armnetwork.Subnet{ID: to.Ptr("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/ilb")}}}
	pip := func(key string) *armnetwork.PublicIPAddress {
		p := &armnetwork.PublicIPAddress{Tags: map[string]*string{}}
		if key != "" {
			p.Tags[providers.ReplaceKeyTag] = to.Ptr(key)
		}
		return p
	}
	lbWith := func(key string) *armnetwork.LoadBalancer {
		lb := &armnetwork.LoadBalancer{Tags: map[string]*string{}}
		if key != "" {
			lb.Tags[replaceKeyLBTag(testPrefix)] = to.Ptr(key)
		}
		return lb
	}
	for _, c := range []struct {
		name       string
		az         annotations.AzureConfig
		cur        current
		pip        *armnetwork.PublicIPAddress
		wantFields []string
	}{
		{"public, unchanged", annotations.AzureConfig{}, current{lb: lbWith(""), frontend: pubFrontend}, pip(""), nil},
		{"to internal, no key (adopted)", annotations.AzureConfig{Internal: true}, current{lb: lbWith(""), frontend: pubFrontend}, pip(""), []string{annotations.AzureInternal.Key}},
		{"to internal, older key", annotations.AzureConfig{Internal: true}, current{lb: lbWith(""), frontend: pubFrontend}, pip("0123456789abcdef"), nil},
		{"to internal, same key", annotations.AzureConfig{Internal: true}, current{lb: lbWith(""), frontend: pubFrontend}, pip("KEY"), []string{annotations.AzureInternal.Key}},
		{"subnet change, no key", annotations.AzureConfig{Internal: true, InternalSubnet: "other"}, current{lb: lbWith(""), internal: true, frontend: ilbFrontend}, nil, []string{annotations.AzureInternalSubnet.Key}},
		{"subnet change, older key on the load balancer", annotations.AzureConfig{Internal: true, InternalSubnet: "other"}, current{lb: lbWith("0123456789abcdef"), internal: true, frontend: ilbFrontend}, nil, nil},
		{"prefix change, no key", annotations.AzureConfig{PIPPrefixID: "/x/publicIPPrefixes/p2"}, current{lb: lbWith(""), frontend: pubFrontend}, pip(""), []string{annotations.AzurePIPPrefixID.Key}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := &Model{Prefix: testPrefix, Frontend: Frontend{Name: frontendName(testPrefix, c.az.InternalSubnet)}}
			if !c.az.Internal {
				m.PublicIP = &PublicIP{Managed: true, Name: managedPIPName("demo", testPrefix, c.az.PIPPrefixID)}
			}
			d := judge(m, &c.az, s, "KEY", c.cur, c.pip)
			var got []string
			for _, ch := range d.changes {
				got = append(got, ch.Field)
			}
			if !slices.Equal(got, c.wantFields) || (len(got) > 0) != (d.kept != nil) {
				t.Fatalf("refused %v (kept %v), want %v", got, d.kept, c.wantFields)
			}
			if d.kept != nil && (d.kept.Internal != c.cur.internal || (c.cur.internal && d.kept.InternalSubnet != "ilb")) {
				t.Errorf("kept %+v does not keep the current frontend", d.kept)
			}
		})
	}
}
