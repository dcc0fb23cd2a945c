package fakeazure

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

func TestPublicLoadBalancerLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	vn := e.vnet("vnet", "10.0.0.0/16", map[string]string{"nodes": "10.0.1.0/24"})
	pip := e.pip("kube-a1", nil)

	lb, err := e.putLB("kube", e.publicLB("kube", str(pip.ID), str(vn.ID)))
	if err != nil {
		t.Fatal(err)
	}
	lbID := e.id("loadBalancers", "kube")
	fip := lb.Properties.FrontendIPConfigurations[0]
	if str(fip.ID) != lbID+"/frontendIPConfigurations/a1" || str(fip.Etag) != str(lb.Etag) || !etagRE.MatchString(str(lb.Etag)) {
		t.Fatalf("frontend id %q etag %q, LB etag %q", str(fip.ID), str(fip.Etag), str(lb.Etag))
	}
	if got := fip.Properties.LoadBalancingRules; len(got) != 1 || str(got[0].ID) != lbID+"/loadBalancingRules/a1-TCP-80" {
		t.Errorf("frontend loadBalancingRules back reference = %v", got)
	}
	rule := lb.Properties.LoadBalancingRules[0].Properties
	if *rule.IdleTimeoutInMinutes != 4 || *rule.LoadDistribution != armnetwork.LoadDistributionDefault || *rule.EnableTCPReset {
		t.Errorf("rule defaults: idle %d distribution %s tcpReset %v", *rule.IdleTimeoutInMinutes, *rule.LoadDistribution, *rule.EnableTCPReset)
	}
	if p := lb.Properties.Probes[0].Properties; *p.IntervalInSeconds != 15 || *p.NumberOfProbes != 2 {
		t.Errorf("probe defaults: interval %d probes %d", *p.IntervalInSeconds, *p.NumberOfProbes)
	}
	addr := lb.Properties.BackendAddressPools[0].Properties.LoadBalancerBackendAddresses[0]
	if str(addr.Properties.IPAddress) != "10.0.1.10" || str(addr.Properties.VirtualNetwork.ID) != str(vn.ID) {
		t.Errorf("backend address = %s in %s", str(addr.Properties.IPAddress), str(addr.Properties.VirtualNetwork.ID))
	}

	// The public IP now points back at the frontend, with a new etag, and cannot be deleted.
	pips := e.f.NewPublicIPAddressesClient()
	got, err := pips.Get(ctx(t), testRG, "kube-a1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Properties.IPConfiguration == nil || str(got.Properties.IPConfiguration.ID) != str(fip.ID) || str(got.Etag) == str(pip.Etag) {
		t.Fatalf("public IP back reference %v, etag %s (was %s)", got.Properties.IPConfiguration, str(got.Etag), str(pip.Etag))
	}
	_, err = pips.BeginDelete(ctx(t), testRG, "kube-a1", nil)
	respErr(t, err, http.StatusBadRequest, "PublicIPAddressCannotBeDeleted")

	// Deleting the load balancer frees the public IP.
	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.LoadBalancersClientDeleteResponse], error) {
		return e.f.NewLoadBalancersClient().BeginDelete(ctx(t), testRG, "kube", nil)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientDeleteResponse], error) {
		return pips.BeginDelete(ctx(t), testRG, "kube-a1", nil)
	}); err != nil {
		t.Fatalf("delete freed public IP: %v", err)
	}
}

func TestInternalLoadBalancerAllocatesPrivateIPs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	vn := e.vnet("vnet", "10.0.0.0/16", map[string]string{"lbs": "10.0.2.0/24"})
	subnetID := str(vn.ID) + "/subnets/lbs"
	frontend := func(name, static string) *armnetwork.FrontendIPConfiguration {
		p := &armnetwork.FrontendIPConfigurationPropertiesFormat{Subnet: &armnetwork.Subnet{ID: ptr(subnetID)}}
		if static != "" {
			p.PrivateIPAllocationMethod, p.PrivateIPAddress = ptr(armnetwork.IPAllocationMethodStatic), ptr(static)
		}
		return &armnetwork.FrontendIPConfiguration{Name: ptr(name), Properties: p}
	}
	lb := armnetwork.LoadBalancer{Location: ptr(testLocation), Properties: &armnetwork.LoadBalancerPropertiesFormat{
		FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{frontend("a", ""), frontend("b", "10.0.2.4")},
	}}
	got, err := e.putLB("kube-internal", lb)
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	for _, f := range got.Properties.FrontendIPConfigurations {
		ips[str(f.Name)] = str(f.Properties.PrivateIPAddress)
	}
	// The static 10.0.2.4 is taken first; the dynamic one gets the next usable address.
	if ips["a"] != "10.0.2.5" || ips["b"] != "10.0.2.4" {
		t.Fatalf("private IPs = %v, want a=10.0.2.5 b=10.0.2.4", ips)
	}

	// An update keeps a dynamic IP.
	lb.Properties.FrontendIPConfigurations = append(lb.Properties.FrontendIPConfigurations, frontend("c", ""))
	got, err = e.putLB("kube-internal", lb)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got.Properties.FrontendIPConfigurations {
		if want := map[string]string{"a": "10.0.2.5", "b": "10.0.2.4", "c": "10.0.2.6"}[str(f.Name)]; str(f.Properties.PrivateIPAddress) != want {
			t.Errorf("frontend %s ip %s, want %s", str(f.Name), str(f.Properties.PrivateIPAddress), want)
		}
	}

	for _, tc := range []struct {
		name, ip, code string
	}{
		{"outside subnet", "10.0.3.9", "PrivateIPAddressNotInSubnet"},
		{"taken by another LB", "10.0.2.4", "PrivateIPAddressInUse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := armnetwork.LoadBalancer{Location: ptr(testLocation), Properties: &armnetwork.LoadBalancerPropertiesFormat{
				FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{frontend("x", tc.ip)}}}
			_, err := e.putLB("other", other)
			respErr(t, err, http.StatusBadRequest, tc.code)
		})
	}

	// The subnet and its virtual network are in use.
	subnets := e.f.NewSubnetsClient()
	sn, err := subnets.Get(ctx(t), testRG, "vnet", "lbs", nil)
	if err != nil || len(sn.Properties.IPConfigurations) != 3 {
		t.Fatalf("subnet ipConfigurations = %v (%v), want the 3 frontends", sn.Properties, err)
	}
	_, err = subnets.BeginDelete(ctx(t), testRG, "vnet", "lbs", nil)
	respErr(t, err, http.StatusBadRequest, "InUseSubnetCannotBeDeleted")
	_, err = e.f.NewVirtualNetworksClient().BeginDelete(ctx(t), testRG, "vnet", nil)
	respErr(t, err, http.StatusBadRequest, "InUseSubnetCannotBeDeleted")
	// A vnet PUT whose subnet list drops the subnet in use is refused as well.
	vn.Properties.Subnets = []*armnetwork.Subnet{}
	_, err = e.f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx(t), testRG, "vnet", *vn, nil)
	respErr(t, err, http.StatusBadRequest, "InUseSubnetCannotBeDeleted")
}

func TestLoadBalancerValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	vn := e.vnet("vnet", "10.0.0.0/16", map[string]string{"nodes": "10.0.1.0/24"})
	pip := e.pip("kube-a1", nil)
	otherPIP := e.pip("taken", nil)
	owner := e.publicLB("owner", str(otherPIP.ID), str(vn.ID))
	if _, err := e.putLB("owner", owner); err != nil {
		t.Fatal(err)
	}
	lbID := e.id("loadBalancers", "kube")

	for _, tc := range []struct {
		name   string
		mutate func(lb *armnetwork.LoadBalancer)
		code   string
	}{
		{"rule references missing probe", func(lb *armnetwork.LoadBalancer) {
			lb.Properties.LoadBalancingRules[0].Properties.Probe.ID = ptr(lbID + "/probes/nope")
		}, "InvalidResourceReference"},
		{"rule references missing frontend", func(lb *armnetwork.LoadBalancer) {
			lb.Properties.LoadBalancingRules[0].Properties.FrontendIPConfiguration.ID = ptr(lbID + "/frontendIPConfigurations/nope")
		}, "InvalidResourceReference"},
		{"rule references missing pool", func(lb *armnetwork.LoadBalancer) {
			lb.Properties.LoadBalancingRules[0].Properties.BackendAddressPool.ID = ptr(lbID + "/backendAddressPools/nope")
		}, "InvalidResourceReference"},
		{"frontend references missing public IP", func(lb *armnetwork.LoadBalancer) {
			lb.Properties.FrontendIPConfigurations[0].Properties.PublicIPAddress.ID = ptr(e.id("publicIPAddresses", "nope"))
		}, "InvalidResourceReference"},
		{"public IP used by another LB", func(lb *armnetwork.LoadBalancer) {
			lb.Properties.FrontendIPConfigurations[0].Properties.PublicIPAddress.ID = otherPIP.ID
		}, "PublicIPAddressInUse"},
		{"backend address in missing vnet", func(lb *armnetwork.LoadBalancer) {
			lb.Properties.BackendAddressPools[0].Properties.LoadBalancerBackendAddresses[0].Properties.VirtualNetwork.ID = ptr(e.id("virtualNetworks", "nope"))
		}, "InvalidResourceReference"},
		{"two non-floating rules on one backend port", func(lb *armnetwork.LoadBalancer) {
			r := lb.Properties.LoadBalancingRules[0]
			r.Properties.EnableFloatingIP = ptr(false)
			var dup armnetwork.LoadBalancingRule
			b, _ := json.Marshal(r)
			_ = json.Unmarshal(b, &dup)
			dup.Name, dup.Properties.FrontendPort = ptr("a1-TCP-81"), ptr[int32](81)
			lb.Properties.LoadBalancingRules = append(lb.Properties.LoadBalancingRules, &dup)
		}, "RulesUseSameBackendPortProtocolAndPool"},
		{"duplicate probe name", func(lb *armnetwork.LoadBalancer) {
			lb.Properties.Probes = append(lb.Properties.Probes, lb.Properties.Probes[0])
		}, "InvalidRequestFormat"},
		{"invalid child name", func(lb *armnetwork.LoadBalancer) {
			lb.Properties.Probes[0].Name = ptr("bad/name?")
		}, "InvalidResourceName"},
		{"no location", func(lb *armnetwork.LoadBalancer) { lb.Location = nil }, "LocationRequired"},
		{"SKU differs from the public IP's", func(lb *armnetwork.LoadBalancer) {
			lb.SKU.Name = ptr(armnetwork.LoadBalancerSKUNameBasic)
		}, "PublicIPAndLBSkuDoNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lb := e.publicLB("kube", str(pip.ID), str(vn.ID))
			tc.mutate(&lb)
			_, err := e.f.NewLoadBalancersClient().BeginCreateOrUpdate(ctx(t), testRG, "kube", lb, nil)
			respErr(t, err, http.StatusBadRequest, tc.code)
		})
	}
	if _, ok := e.srv.Get(lbID); ok {
		t.Fatal("a refused PUT stored the load balancer")
	}
	if got, _ := e.f.NewPublicIPAddressesClient().Get(ctx(t), testRG, "kube-a1", nil); got.Properties.IPConfiguration != nil {
		t.Fatalf("a refused PUT linked the public IP to %s", str(got.Properties.IPConfiguration.ID))
	}
}

func TestBackendAddressPoolChildResource(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	vn := e.vnet("vnet", "10.0.0.0/16", map[string]string{"nodes": "10.0.1.0/24"})
	pip := e.pip("kube-a1", nil)
	lb, err := e.putLB("kube", e.publicLB("kube", str(pip.ID), str(vn.ID)))
	if err != nil {
		t.Fatal(err)
	}
	pools := e.f.NewLoadBalancerBackendAddressPoolsClient()
	addrs := []*armnetwork.LoadBalancerBackendAddress{}
	for _, n := range []string{"node-1", "node-2"} {
		ip := map[string]string{"node-1": "10.0.1.10", "node-2": "10.0.1.11"}[n]
		addrs = append(addrs, &armnetwork.LoadBalancerBackendAddress{Name: ptr(n), Properties: &armnetwork.LoadBalancerBackendAddressPropertiesFormat{
			IPAddress: ptr(ip), VirtualNetwork: &armnetwork.SubResource{ID: vn.ID}}})
	}
	res, err := pollPut(t, func() (*runtime.Poller[armnetwork.LoadBalancerBackendAddressPoolsClientCreateOrUpdateResponse], error) {
		return pools.BeginCreateOrUpdate(ctx(t), testRG, "kube", "kube", armnetwork.BackendAddressPool{
			Properties: &armnetwork.BackendAddressPoolPropertiesFormat{LoadBalancerBackendAddresses: addrs}}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Properties.LoadBalancerBackendAddresses); n != 2 || str(res.Etag) == str(lb.Etag) {
		t.Fatalf("pool has %d addresses, etag %s (LB had %s)", n, str(res.Etag), str(lb.Etag))
	}
	if len(res.Properties.LoadBalancingRules) != 1 {
		t.Errorf("pool loadBalancingRules back reference = %v", res.Properties.LoadBalancingRules)
	}
	after, err := e.f.NewLoadBalancersClient().Get(ctx(t), testRG, "kube", nil)
	if err != nil || str(after.Etag) != str(res.Etag) || len(after.Properties.BackendAddressPools[0].Properties.LoadBalancerBackendAddresses) != 2 {
		t.Fatalf("LB after pool PUT: etag %s, err %v", str(after.Etag), err)
	}
	// The pool is referenced by the rule, so it cannot go.
	_, err = pools.BeginDelete(ctx(t), testRG, "kube", "kube", nil)
	respErr(t, err, http.StatusBadRequest, "InvalidResourceReference")

	for _, c := range []struct {
		name string
		get  func() error
	}{
		{"frontend", func() error {
			_, err := e.f.NewLoadBalancerFrontendIPConfigurationsClient().Get(ctx(t), testRG, "kube", "a1", nil)
			return err
		}},
		{"probe", func() error {
			_, err := e.f.NewLoadBalancerProbesClient().Get(ctx(t), testRG, "kube", "a1-TCP-80", nil)
			return err
		}},
		{"rule", func() error {
			_, err := e.f.NewLoadBalancerLoadBalancingRulesClient().Get(ctx(t), testRG, "kube", "a1-TCP-80", nil)
			return err
		}},
	} {
		if err := c.get(); err != nil {
			t.Errorf("get %s: %v", c.name, err)
		}
	}
	_, err = e.f.NewLoadBalancerProbesClient().Get(ctx(t), testRG, "kube", "nope", nil)
	respErr(t, err, http.StatusNotFound, "NotFound")
}
