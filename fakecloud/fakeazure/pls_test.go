package fakeazure

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// internalLB is a load balancer with internal frontends (each in subnetID).
func internalLB(subnetID string, frontends ...string) armnetwork.LoadBalancer {
	lb := armnetwork.LoadBalancer{Location: ptr(testLocation), Properties: &armnetwork.LoadBalancerPropertiesFormat{}}
	for _, f := range frontends {
		lb.Properties.FrontendIPConfigurations = append(lb.Properties.FrontendIPConfigurations, &armnetwork.FrontendIPConfiguration{
			Name: ptr(f), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{Subnet: &armnetwork.Subnet{ID: ptr(subnetID)}},
		})
	}
	return lb
}

// plsOn is a Private Link Service on one frontend with NAT IP configurations (a static
// address, or "" for Dynamic); the first is primary.
func plsOn(frontendID, subnetID string, addrs ...string) armnetwork.PrivateLinkService {
	p := armnetwork.PrivateLinkService{Location: ptr(testLocation), Properties: &armnetwork.PrivateLinkServiceProperties{
		LoadBalancerFrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{ID: ptr(frontendID)}},
	}}
	for i, a := range addrs {
		cp := &armnetwork.PrivateLinkServiceIPConfigurationProperties{Primary: ptr(i == 0), Subnet: &armnetwork.Subnet{ID: ptr(subnetID)}}
		if a != "" {
			cp.PrivateIPAllocationMethod, cp.PrivateIPAddress = ptr(armnetwork.IPAllocationMethodStatic), ptr(a)
		}
		p.Properties.IPConfigurations = append(p.Properties.IPConfigurations, &armnetwork.PrivateLinkServiceIPConfiguration{
			Name: ptr("nat-" + string(rune('a'+i))), Properties: cp})
	}
	return p
}

func (e *env) putPLS(name string, p armnetwork.PrivateLinkService) (*armnetwork.PrivateLinkService, error) {
	e.t.Helper()
	res, err := pollPut(e.t, func() (*runtime.Poller[armnetwork.PrivateLinkServicesClientCreateOrUpdateResponse], error) {
		return e.f.NewPrivateLinkServicesClient().BeginCreateOrUpdate(ctx(e.t), testRG, name, p, nil)
	})
	return &res.PrivateLinkService, err
}

func TestPrivateLinkServiceLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	vn := e.vnet("vnet", "10.0.0.0/16", map[string]string{"nodes": "10.0.1.0/24", "pls": "10.0.2.0/24"})
	nodes, plsSubnet := str(vn.ID)+"/subnets/nodes", str(vn.ID)+"/subnets/pls"
	if _, err := e.putLB("kube-internal", internalLB(nodes, "a1", "a2")); err != nil {
		t.Fatal(err)
	}
	fe := e.id("loadBalancers", "kube-internal") + "/frontendIPConfigurations/a1"

	// A frontend that does not exist is a bad reference.
	_, err := e.putPLS("pls-a9", plsOn(e.id("loadBalancers", "kube-internal")+"/frontendIPConfigurations/a9", plsSubnet, ""))
	respErr(t, err, http.StatusBadRequest, "InvalidResourceReference")
	// Exactly one primary NAT IP configuration.
	bad := plsOn(fe, plsSubnet, "", "")
	bad.Properties.IPConfigurations[1].Properties.Primary = ptr(true)
	_, err = e.putPLS("pls-a1", bad)
	respErr(t, err, http.StatusBadRequest, "PrivateLinkServiceMustHaveOnePrimaryIpConfiguration")
	// A static address outside the subnet.
	_, err = e.putPLS("pls-a1", plsOn(fe, plsSubnet, "10.0.1.50"))
	respErr(t, err, http.StatusBadRequest, "PrivateIPAddressNotInSubnet")

	got, err := e.putPLS("pls-a1", plsOn(fe, plsSubnet, "10.0.2.50", ""))
	if err != nil {
		t.Fatal(err)
	}
	cfgs := got.Properties.IPConfigurations
	if str(cfgs[0].Properties.PrivateIPAddress) != "10.0.2.50" || str(cfgs[1].Properties.PrivateIPAddress) != "10.0.2.4" ||
		*cfgs[1].Properties.PrivateIPAllocationMethod != armnetwork.IPAllocationMethodDynamic {
		t.Errorf("NAT addresses %s %s", str(cfgs[0].Properties.PrivateIPAddress), str(cfgs[1].Properties.PrivateIPAddress))
	}
	if str(got.Properties.Alias) == "" || !etagRE.MatchString(str(got.Etag)) || str(got.Type) != "Microsoft.Network/privateLinkServices" {
		t.Errorf("alias %q etag %q type %q", str(got.Properties.Alias), str(got.Etag), str(got.Type))
	}
	// The NAT addresses are taken in the subnet, and referenced from it.
	_, err = e.putPLS("pls-a2", plsOn(e.id("loadBalancers", "kube-internal")+"/frontendIPConfigurations/a2", plsSubnet, "10.0.2.50"))
	respErr(t, err, http.StatusBadRequest, "PrivateIPAddressInUse")
	sn, err := e.f.NewSubnetsClient().Get(ctx(t), testRG, "vnet", "pls", nil)
	if err != nil || len(sn.Properties.IPConfigurations) != 2 {
		t.Errorf("subnet ipConfigurations %v, err %v", sn.Properties.IPConfigurations, err)
	}

	// A stale etag is refused; an update keeps the alias and the dynamic address.
	stale := plsOn(fe, plsSubnet, "10.0.2.50", "")
	stale.Etag = ptr(`W/"stale"`)
	_, err = e.f.NewPrivateLinkServicesClient().BeginCreateOrUpdate(withHeader(ctx(t), "If-Match", `W/"stale"`), testRG, "pls-a1", stale, nil)
	respErr(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
	upd := plsOn(fe, plsSubnet, "10.0.2.50", "")
	upd.Properties.EnableProxyProtocol = ptr(true)
	again, err := e.putPLS("pls-a1", upd)
	if err != nil {
		t.Fatal(err)
	}
	if str(again.Properties.Alias) != str(got.Properties.Alias) || str(again.Properties.IPConfigurations[1].Properties.PrivateIPAddress) != "10.0.2.4" || !*again.Properties.EnableProxyProtocol {
		t.Errorf("update: alias %q, dynamic address %q", str(again.Properties.Alias), str(again.Properties.IPConfigurations[1].Properties.PrivateIPAddress))
	}

	// The frontend of a Private Link Service cannot change.
	_, err = e.putPLS("pls-a1", plsOn(e.id("loadBalancers", "kube-internal")+"/frontendIPConfigurations/a2", plsSubnet, "10.0.2.50", ""))
	respErr(t, err, http.StatusBadRequest, "CannotChangeLoadBalancerFrontendOfPrivateLinkService")

	// The frontend and its load balancer cannot go while the Private Link Service uses them;
	// the other frontend can.
	_, err = e.putLB("kube-internal", internalLB(nodes, "a2"))
	respErr(t, err, http.StatusBadRequest, "CannotDeleteFrontendIPConfigurationWithPrivateLinkService")
	if _, err := e.putLB("kube-internal", internalLB(nodes, "a1")); err != nil {
		t.Errorf("removing the frontend without a private link service: %v", err)
	}
	_, err = e.f.NewLoadBalancersClient().BeginDelete(ctx(t), testRG, "kube-internal", nil)
	respErr(t, err, http.StatusBadRequest, "CannotDeleteLoadBalancerWithPrivateLinkService")

	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.PrivateLinkServicesClientDeleteResponse], error) {
		return e.f.NewPrivateLinkServicesClient().BeginDelete(ctx(t), testRG, "pls-a1", nil)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.LoadBalancersClientDeleteResponse], error) {
		return e.f.NewLoadBalancersClient().BeginDelete(ctx(t), testRG, "kube-internal", nil)
	}); err != nil {
		t.Errorf("deleting the load balancer after its private link service: %v", err)
	}
	c := e.srv.Calls()
	if c["PrivateLinkServices.CreateOrUpdate"] != 8 || c["PrivateLinkServices.Delete"] != 1 {
		t.Errorf("calls:\n%s", fakecore.Summary(c))
	}
}
