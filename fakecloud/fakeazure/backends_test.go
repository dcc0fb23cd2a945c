package fakeazure

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// TestNICBackends: a pool NICs joined shows them in backendIPConfigurations, refuses IP
// addresses (ARM's mixing rule) and its removal, and the record of empty pools holds every
// write that left a rule on a pool without members, and only those.
func TestNICBackends(t *testing.T) {
	t.Parallel()
	nicPool := []NICBackend{{IPConfigurationID: "/subscriptions/x/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/vmss/virtualMachines/0/networkInterfaces/nic/ipConfigurations/ipconfig1", IP: "10.0.1.4"}}
	nicOnly := func(lb armnetwork.LoadBalancer) armnetwork.LoadBalancer {
		lb.Properties.BackendAddressPools[0].Properties = &armnetwork.BackendAddressPoolPropertiesFormat{}
		return lb
	}
	for _, c := range []struct {
		name     string
		nics     []NICBackend
		edit     func(armnetwork.LoadBalancer) armnetwork.LoadBalancer
		wantCode string
		// wantEmpty is how many empty-pool records the write leaves.
		wantEmpty int
		wantNICs  int
	}{
		{name: "IP pool with a member", edit: func(lb armnetwork.LoadBalancer) armnetwork.LoadBalancer { return lb }},
		{name: "NIC pool with a member", nics: nicPool, edit: nicOnly, wantNICs: 1},
		{name: "NIC pool given IP addresses", nics: nicPool, edit: func(lb armnetwork.LoadBalancer) armnetwork.LoadBalancer { return lb },
			wantCode: "CannotMixIPBasedAddressesAndIPConfigurationsOnLoadBalancerBackendAddressPool"},
		{name: "empty pool behind a rule", edit: nicOnly, wantEmpty: 1},
		{name: "NIC pool removed", nics: nicPool, wantCode: "LoadBalancerBackendAddressPoolInUseByNetworkInterface",
			edit: func(lb armnetwork.LoadBalancer) armnetwork.LoadBalancer {
				lb.Properties.BackendAddressPools = nil
				lb.Properties.LoadBalancingRules[0].Properties.BackendAddressPool = nil
				return lb
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{})
			vn := e.vnet("vnet", "10.0.0.0/16", map[string]string{"nodes": "10.0.1.0/24"})
			pip := e.pip("kube-a1", nil)
			e.srv.SeedNICBackends(e.id("loadBalancers", "kube")+"/backendAddressPools/kube", c.nics)
			lb, err := e.putLB("kube", c.edit(e.publicLB("kube", str(pip.ID), str(vn.ID))))
			if c.wantCode != "" {
				respErr(t, err, http.StatusBadRequest, c.wantCode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(lb.Properties.BackendAddressPools[0].Properties.BackendIPConfigurations); got != c.wantNICs {
				t.Errorf("backendIPConfigurations: %d, want %d", got, c.wantNICs)
			}
			if got := e.srv.EmptyPools(); len(got) != c.wantEmpty {
				t.Errorf("empty pools recorded: %v, want %d", got, c.wantEmpty)
			}
		})
	}
}

// TestSeedNICBackendsShowsOnExistingPool: NICs joining a pool of an existing load balancer
// appear on the next read, as ARM shows a NIC's update on the pool.
func TestSeedNICBackendsShowsOnExistingPool(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	vn := e.vnet("vnet", "10.0.0.0/16", map[string]string{"nodes": "10.0.1.0/24"})
	pip := e.pip("kube-a1", nil)
	lb := e.publicLB("kube", str(pip.ID), str(vn.ID))
	lb.Properties.BackendAddressPools[0].Properties = &armnetwork.BackendAddressPoolPropertiesFormat{}
	if _, err := e.putLB("kube", lb); err != nil {
		t.Fatal(err)
	}
	e.srv.SeedNICBackends(e.id("loadBalancers", "kube")+"/backendAddressPools/kube", []NICBackend{{IPConfigurationID: "/x/ipConfigurations/a", IP: "10.0.1.4"}})
	got, err := e.f.NewLoadBalancersClient().Get(ctx(t), testRG, "kube", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Properties.BackendAddressPools[0].Properties.BackendIPConfigurations); n != 1 {
		t.Fatalf("backendIPConfigurations after NICs joined: %d, want 1", n)
	}
}
