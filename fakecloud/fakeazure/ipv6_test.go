package fakeazure

import (
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// TestIPv6Frontends: an internal frontend asking for IPv6 takes an address of the subnet's
// IPv6 prefix (dynamic or static), one in a subnet without an IPv6 prefix is refused, and an
// IPv6 public IP gets an address of the IPv6 pool.
func TestIPv6Frontends(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	vn := armnetwork.VirtualNetwork{Location: ptr(testLocation), Properties: &armnetwork.VirtualNetworkPropertiesFormat{
		AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{ptr("10.0.0.0/16"), ptr("fd00:1::/48")}},
		Subnets: []*armnetwork.Subnet{
			{Name: ptr("dual"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefixes: []*string{ptr("10.0.1.0/24"), ptr("fd00:1::/64")}}},
			{Name: ptr("v4"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr("10.0.2.0/24")}},
		},
	}}
	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.VirtualNetworksClientCreateOrUpdateResponse], error) {
		return e.f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx(t), testRG, "vnet", vn, nil)
	}); err != nil {
		t.Fatal(err)
	}
	subnet := func(n string) *armnetwork.Subnet {
		return &armnetwork.Subnet{ID: ptr(e.id("virtualNetworks", "vnet") + "/subnets/" + n)}
	}
	v6 := func(name, sn, static string) *armnetwork.FrontendIPConfiguration {
		fp := &armnetwork.FrontendIPConfigurationPropertiesFormat{Subnet: subnet(sn), PrivateIPAddressVersion: ptr(armnetwork.IPVersionIPv6)}
		if static != "" {
			fp.PrivateIPAllocationMethod, fp.PrivateIPAddress = ptr(armnetwork.IPAllocationMethodStatic), ptr(static)
		}
		return &armnetwork.FrontendIPConfiguration{Name: ptr(name), Properties: fp}
	}
	lb := armnetwork.LoadBalancer{Location: ptr(testLocation), Properties: &armnetwork.LoadBalancerPropertiesFormat{
		FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{
			{Name: ptr("a1"), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{Subnet: subnet("dual")}},
			v6("a1-IPv6", "dual", ""), v6("a2-IPv6", "dual", "fd00:1::99"),
		},
	}}
	got, err := e.putLB("kube-internal", lb)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, f := range got.Properties.FrontendIPConfigurations {
		addrs = append(addrs, str(f.Properties.PrivateIPAddress)+" "+string(*f.Properties.PrivateIPAddressVersion))
	}
	if strings.Join(addrs, ", ") != "10.0.1.4 IPv4, fd00:1::4 IPv6, fd00:1::99 IPv6" {
		t.Errorf("frontend addresses %v", addrs)
	}
	lb.Properties.FrontendIPConfigurations = append(lb.Properties.FrontendIPConfigurations, v6("a3-IPv6", "v4", ""))
	_, err = e.putLB("kube-internal", lb)
	respErr(t, err, http.StatusBadRequest, "InvalidRequestFormat")
	lb.Properties.FrontendIPConfigurations[3] = v6("a3-IPv6", "dual", "10.0.1.50")
	_, err = e.putLB("kube-internal", lb)
	respErr(t, err, http.StatusBadRequest, "PrivateIPAddressNotInSubnet")

	pip, err := pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], error) {
		return e.f.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx(t), testRG, "kube-a1-IPv6", armnetwork.PublicIPAddress{
			Location: ptr(testLocation), Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAddressVersion: ptr(armnetwork.IPVersionIPv6)}}, nil)
	})
	if err != nil || !strings.HasPrefix(str(pip.Properties.IPAddress), "2603:1020:0:1::") {
		t.Errorf("IPv6 public IP address %q, err %v", str(pip.Properties.IPAddress), err)
	}
}
