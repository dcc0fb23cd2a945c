package fakeazure

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

func TestSecurityGroupRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	nsg, err := e.putNSG("cluster-nsg", allowRule("http", 500, "80"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(nsg.Properties.DefaultSecurityRules); n != 6 {
		t.Errorf("default rules = %d, want 6", n)
	}
	r := nsg.Properties.SecurityRules[0]
	if str(r.ID) != e.id("networkSecurityGroups", "cluster-nsg")+"/securityRules/http" || str(r.Etag) != str(nsg.Etag) {
		t.Errorf("rule id %s etag %s", str(r.ID), str(r.Etag))
	}

	rules := e.f.NewSecurityRulesClient()
	added, err := pollPut(t, func() (*runtime.Poller[armnetwork.SecurityRulesClientCreateOrUpdateResponse], error) {
		return rules.BeginCreateOrUpdate(ctx(t), testRG, "cluster-nsg", "https", *allowRule("ignored", 501, "443"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if str(added.Name) != "https" || *added.Properties.Priority != 501 {
		t.Fatalf("added rule %s prio %d", str(added.Name), *added.Properties.Priority)
	}

	for _, tc := range []struct {
		name, ruleName string
		mutate         func(r *armnetwork.SecurityRulePropertiesFormat)
		code           string
	}{
		{"same priority and direction", "x", func(r *armnetwork.SecurityRulePropertiesFormat) { r.Priority = ptr[int32](500) }, "SecurityRuleConflict"},
		{"priority below range", "x", func(r *armnetwork.SecurityRulePropertiesFormat) { r.Priority = ptr[int32](99) }, "SecurityRuleInvalidPriority"},
		{"priority above range", "x", func(r *armnetwork.SecurityRulePropertiesFormat) { r.Priority = ptr[int32](4097) }, "SecurityRuleInvalidPriority"},
		{"invalid name", "bad*name", func(*armnetwork.SecurityRulePropertiesFormat) {}, "InvalidResourceName"},
		{"no direction", "x", func(r *armnetwork.SecurityRulePropertiesFormat) { r.Direction = nil }, "InvalidRequestFormat"},
		{"no destination", "x", func(r *armnetwork.SecurityRulePropertiesFormat) { r.DestinationAddressPrefix = nil }, "InvalidRequestFormat"},
		{"unsupported protocol", "x", func(r *armnetwork.SecurityRulePropertiesFormat) {
			r.Protocol = ptr(armnetwork.SecurityRuleProtocol("Gre"))
		}, "SecurityRuleParameterContainsUnsupportedValue"},
		{"single and plural prefixes", "x", func(r *armnetwork.SecurityRulePropertiesFormat) {
			r.SourceAddressPrefixes = []*string{ptr("10.0.0.0/8")}
		}, "SecurityRuleParameterContainsMultipleValues"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := allowRule(tc.ruleName, 600, "8080")
			tc.mutate(r.Properties)
			_, err := rules.BeginCreateOrUpdate(ctx(t), testRG, "cluster-nsg", tc.ruleName, *r, nil)
			respErr(t, err, http.StatusBadRequest, tc.code)
		})
	}

	// Whole-NSG PUTs: duplicate names, and the 1,000-rule limit.
	_, err = e.putNSG("cluster-nsg", allowRule("dup", 600, "1"), allowRule("dup", 601, "2"))
	respErr(t, err, http.StatusBadRequest, "InvalidRequestFormat")
	many := make([]*armnetwork.SecurityRule, 0, 1001)
	for i := range 1001 {
		many = append(many, allowRule(fmt.Sprintf("r%d", i), int32(100+i), "80"))
	}
	_, err = e.putNSG("cluster-nsg", many...)
	respErr(t, err, http.StatusBadRequest, "SecurityRuleCountLimitReached")
	// At most 4,000 destination prefixes summed over the rules.
	wide := []*armnetwork.SecurityRule{allowRule("w1", 700, "80"), allowRule("w2", 701, "81")}
	for i, r := range wide {
		r.Properties.DestinationAddressPrefix = nil
		for j := range 2000 + i {
			r.Properties.DestinationAddressPrefixes = append(r.Properties.DestinationAddressPrefixes, ptr(fmt.Sprintf("10.%d.%d.%d", i, j/256, j%256)))
		}
	}
	_, err = e.putNSG("cluster-nsg", wide...)
	respErr(t, err, http.StatusBadRequest, "SecurityRuleAddressesOrPortsPerSecurityGroupLimitReached")

	list := rules.NewListPager(testRG, "cluster-nsg", nil)
	var names []string
	for list.More() {
		page, err := list.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Value {
			names = append(names, str(r.Name))
		}
	}
	if fmt.Sprint(names) != "[http https]" {
		t.Fatalf("rules after refused writes = %v", names)
	}

	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.SecurityRulesClientDeleteResponse], error) {
		return rules.BeginDelete(ctx(t), testRG, "cluster-nsg", "http", nil)
	}); err != nil {
		t.Fatal(err)
	}
	_, err = rules.Get(ctx(t), testRG, "cluster-nsg", "http", nil)
	respErr(t, err, http.StatusNotFound, "NotFound")
}

func TestVirtualNetworkAndSubnets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	nsg, err := e.putNSG("cluster-nsg")
	if err != nil {
		t.Fatal(err)
	}
	vn := e.vnet("vnet", "10.0.0.0/16", map[string]string{"nodes": "10.0.1.0/24"})
	subnets := e.f.NewSubnetsClient()
	put := func(name, prefix string, nsgID *string) (armnetwork.SubnetsClientCreateOrUpdateResponse, error) {
		sn := armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr(prefix)}}
		if nsgID != nil {
			sn.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: nsgID}
		}
		return pollPut(t, func() (*runtime.Poller[armnetwork.SubnetsClientCreateOrUpdateResponse], error) {
			return subnets.BeginCreateOrUpdate(ctx(t), testRG, "vnet", name, sn, nil)
		})
	}
	sn, err := put("lbs", "10.0.2.0/24", nsg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if str(sn.ID) != str(vn.ID)+"/subnets/lbs" || str(sn.Properties.NetworkSecurityGroup.ID) != str(nsg.ID) {
		t.Fatalf("subnet %s nsg %v", str(sn.ID), sn.Properties.NetworkSecurityGroup)
	}
	for _, tc := range []struct {
		name, prefix string
		nsg          *string
		code         string
	}{
		{"outside the address space", "10.1.0.0/24", nil, "NetcfgInvalidSubnet"},
		{"overlapping a subnet", "10.0.1.128/25", nil, "NetcfgInvalidSubnet"},
		{"missing NSG", "10.0.3.0/24", ptr(e.id("networkSecurityGroups", "nope")), "InvalidResourceReference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := put("bad", tc.prefix, tc.nsg)
			respErr(t, err, http.StatusBadRequest, tc.code)
		})
	}

	// The NSG knows its subnet and cannot be deleted while associated.
	got, err := e.f.NewSecurityGroupsClient().Get(ctx(t), testRG, "cluster-nsg", nil)
	if err != nil || len(got.Properties.Subnets) != 1 || str(got.Properties.Subnets[0].ID) != str(sn.ID) {
		t.Fatalf("nsg subnets = %v (%v)", got.Properties, err)
	}
	_, err = e.f.NewSecurityGroupsClient().BeginDelete(ctx(t), testRG, "cluster-nsg", nil)
	respErr(t, err, http.StatusBadRequest, "InUseNetworkSecurityGroupCannotBeDeleted")

	// A vnet PUT without "subnets" keeps them (ARM's documented behaviour).
	vnets := e.f.NewVirtualNetworksClient()
	res, err := pollPut(t, func() (*runtime.Poller[armnetwork.VirtualNetworksClientCreateOrUpdateResponse], error) {
		return vnets.BeginCreateOrUpdate(ctx(t), testRG, "vnet", armnetwork.VirtualNetwork{Location: ptr(testLocation),
			Tags:       map[string]*string{"env": ptr("test")},
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: vn.Properties.AddressSpace}}, nil)
	})
	if err != nil || len(res.Properties.Subnets) != 2 {
		t.Fatalf("vnet update without subnets: %v, %d subnets", err, len(res.Properties.Subnets))
	}

	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.SubnetsClientDeleteResponse], error) {
		return subnets.BeginDelete(ctx(t), testRG, "vnet", "lbs", nil)
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.f.NewSecurityGroupsClient().Get(ctx(t), testRG, "cluster-nsg", nil)
	if len(got.Properties.Subnets) != 0 {
		t.Fatalf("nsg still lists %d subnets after the subnet went", len(got.Properties.Subnets))
	}
	_, err = subnets.Get(ctx(t), testRG, "vnet", "lbs", nil)
	respErr(t, err, http.StatusNotFound, "NotFound")
	_, err = subnets.Get(ctx(t), testRG, "no-vnet", "lbs", nil)
	respErr(t, err, http.StatusNotFound, "ResourceNotFound")

	// Nothing is in use any more: both go.
	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.SecurityGroupsClientDeleteResponse], error) {
		return e.f.NewSecurityGroupsClient().BeginDelete(ctx(t), testRG, "cluster-nsg", nil)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.VirtualNetworksClientDeleteResponse], error) {
		return vnets.BeginDelete(ctx(t), testRG, "vnet", nil)
	}); err != nil {
		t.Fatal(err)
	}
	if res := e.srv.Resources(); len(res) != 0 {
		t.Fatalf("left behind: %+v", res)
	}
}
