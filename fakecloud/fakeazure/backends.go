package fakeazure

import (
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// NIC-based backend pools and the record of pools left empty.
//
// Azure has two kinds of backend pool membership. An IP-based pool lists its members in
// loadBalancerBackendAddresses, written with the load balancer (or the pool). A NIC-based
// pool is joined from the other side: a NIC's (or a scale set VM's) ipConfigurations[]
// .loadBalancerBackendAddressPools references the pool, and the pool shows the members in
// the read-only backendIPConfigurations. "Backend pools configured via network interface
// cannot be updated as part of an operation on the backend pool", and "you can't create a
// single backend pool that mixes backend addresses targeted by NIC and IP addresses"
// (learn.microsoft.com/azure/load-balancer/backend-pool-management); ARM refuses such a
// write with CannotMixIPBasedAddressesAndIPConfigurationsOnLoadBalancerBackendAddressPool
// (the code terraform-provider-azurerm#25962 shows).
//
// The fake has no networkInterfaces resource: SeedNICBackends stands for the NICs that joined
// a pool, the way cloud-provider-azure's default nodeIPConfiguration mode leaves them.

// NICBackend is one NIC IP configuration that joined a backend pool.
type NICBackend struct {
	// IPConfigurationID is the NIC's (or scale set VM's) IP configuration ID.
	IPConfigurationID string
	// IP is its private address, reported by EmptyPools' callers only.
	IP string
}

// EmptyPool is one load balancing rule found serving from a pool without any member after a
// write: traffic to its frontend had nowhere to go.
type EmptyPool struct {
	LoadBalancer, Rule, Pool string
	// Seq orders the records among all writes.
	Seq uint64
}

// SeedNICBackends makes the NIC IP configurations members of the pool poolID (a load
// balancer's backendAddressPools/<name> ID), as NICs joining it would; nil removes them.
// A load balancer already holding the pool shows them at once.
func (s *Server) SeedNICBackends(poolID string, members []NICBackend) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nics == nil {
		s.nics = map[string][]NICBackend{}
	}
	if len(members) == 0 {
		delete(s.nics, key(poolID))
	} else {
		s.nics[key(poolID)] = slices.Clone(members)
	}
	for _, e := range s.res {
		if lb, ok := e.obj.(*lbT); ok && lb.Properties != nil {
			for _, bp := range lb.Properties.BackendAddressPools {
				if eq(str(bp.ID), poolID) && bp.Properties != nil {
					bp.Properties.BackendIPConfigurations = s.nicRefs(poolID)
				}
			}
		}
	}
}

// EmptyPools lists, in order, every time a write left a rule on a pool without members.
func (s *Server) EmptyPools() []EmptyPool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.emptyPools)
}

func (s *Server) nicRefs(poolID string) []*armnetwork.InterfaceIPConfiguration {
	var out []*armnetwork.InterfaceIPConfiguration
	for _, m := range s.nics[key(poolID)] {
		out = append(out, &armnetwork.InterfaceIPConfiguration{ID: ptr(m.IPConfigurationID)})
	}
	return out
}

// nicBackends fills each written pool's backendIPConfigurations from the NICs that joined
// it, and refuses a pool that would mix them with IP addresses, and the removal of a pool
// NICs still reference (ARM's code for that was not found in public material).
func (s *Server) nicBackends(lbID string, pools map[string]*armnetwork.BackendAddressPool) *armError {
	for poolKey := range s.nics {
		if strings.HasPrefix(poolKey, key(lbID)+"/backendaddresspools/") && pools[poolKey] == nil {
			return badRequest("LoadBalancerBackendAddressPoolInUseByNetworkInterface",
				"Backend address pool %s cannot be removed: network interface IP configurations reference it.", poolKey)
		}
	}
	for k, bp := range pools {
		refs := s.nicRefs(k)
		if len(refs) > 0 && len(bp.Properties.LoadBalancerBackendAddresses) > 0 {
			return badRequest("CannotMixIPBasedAddressesAndIPConfigurationsOnLoadBalancerBackendAddressPool",
				"Backend address pool %s cannot have both IP based addresses (loadBalancerBackendAddresses) and network interface IP configurations.", str(bp.ID))
		}
		bp.Properties.BackendIPConfigurations = refs
	}
	return nil
}

// recordBackends notes the rules of a load balancer just written whose pool has no member.
func (s *Server) recordBackends(e *entry) {
	lb, ok := e.obj.(*lbT)
	if !ok || lb.Properties == nil {
		return
	}
	members := map[string]int{}
	for _, bp := range lb.Properties.BackendAddressPools {
		if bp.Properties != nil {
			members[key(str(bp.ID))] = len(bp.Properties.LoadBalancerBackendAddresses) + len(bp.Properties.BackendIPConfigurations)
		}
	}
	for _, r := range lb.Properties.LoadBalancingRules {
		if r.Properties == nil || r.Properties.BackendAddressPool == nil {
			continue
		}
		pool := str(r.Properties.BackendAddressPool.ID)
		if members[key(pool)] == 0 {
			s.emptyPools = append(s.emptyPools, EmptyPool{LoadBalancer: e.id, Rule: str(r.Name), Pool: pool, Seq: s.seq})
		}
	}
}
