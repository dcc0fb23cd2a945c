package fakeazure

import (
	"net/netip"
	"sort"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

const plsType = providerNS + "/privateLinkServices"

// maxPLSIPConfigurations is ARM's limit of NAT IP configurations per Private Link Service.
const maxPLSIPConfigurations = 8

// putPLS validates a Private Link Service PUT: its load balancer frontends must exist, its
// NAT IP configurations need an existing subnet, exactly one of them is primary, static
// addresses must lie in the subnet and be free, and dynamic ones are allocated from it.
// The alias and the provisioning states are filled as ARM does.
func putPLS(s *Server, p putCtx, obj, old any) *armError {
	pls := obj.(*plsT)
	var prev *plsT
	if old != nil {
		prev = old.(*plsT)
	}
	if err := requireLocation(pls.Location); err != nil {
		return err
	}
	pls.ID, pls.Name, pls.Type = ptr(p.id), ptr(p.name), ptr(plsType)
	if pls.Properties == nil {
		return errMissingProperty("properties", p.id)
	}
	pr := pls.Properties
	pr.ProvisioningState = succeeded()
	pr.NetworkInterfaces, pr.PrivateEndpointConnections = nil, nil
	pr.Alias = nil
	if prev != nil && prev.Properties != nil {
		pr.Alias = prev.Properties.Alias
	}
	if pr.Alias == nil {
		pr.Alias = ptr(p.name + "." + s.uuid() + "." + s.opts.Location + ".azure.privatelinkservice")
	}
	if len(pr.LoadBalancerFrontendIPConfigurations) == 0 {
		return errMissingProperty("loadBalancerFrontendIpConfigurations", p.id)
	}
	for i, f := range pr.LoadBalancerFrontendIPConfigurations {
		fid := ""
		if f != nil {
			fid = str(f.ID)
		}
		canon, ok := s.frontendID(fid)
		if !ok {
			return errBadReference(fid, p.id)
		}
		pr.LoadBalancerFrontendIPConfigurations[i] = &armnetwork.FrontendIPConfiguration{ID: ptr(canon)}
	}
	if prev != nil && prev.Properties != nil && !sameFrontends(prev.Properties.LoadBalancerFrontendIPConfigurations, pr.LoadBalancerFrontendIPConfigurations) {
		// Azure documents that the load balancer of a Private Link Service cannot change (it
		// must be recreated); the exact error code was not found in public material.
		return badRequest("CannotChangeLoadBalancerFrontendOfPrivateLinkService",
			"The load balancer frontend IP configurations of private link service %s cannot be changed; delete and recreate the private link service.", p.id)
	}
	return s.plsIPConfigurations(p.id, pr.IPConfigurations, prev)
}

func sameFrontends(a, b []*armnetwork.FrontendIPConfiguration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] == nil || b[i] == nil || !eq(str(a[i].ID), str(b[i].ID)) {
			return false
		}
	}
	return true
}

// frontendID resolves a load balancer frontend ID to the stored frontend's ID.
func (s *Server) frontendID(id string) (string, bool) {
	rt, ok := parseID(id)
	if !ok || rt.kind != kindLB || rt.child == nil || rt.child.coll != "frontendIPConfigurations" {
		return "", false
	}
	e := s.lookup(kindLB, rt.topID())
	if e == nil {
		return "", false
	}
	lb := e.obj.(*lbT)
	if lb.Properties == nil {
		return "", false
	}
	for _, f := range lb.Properties.FrontendIPConfigurations {
		if eq(str(f.Name), rt.childName) {
			return str(f.ID), true
		}
	}
	return "", false
}

func (s *Server) plsIPConfigurations(plsID string, cs []*armnetwork.PrivateLinkServiceIPConfiguration, prev *plsT) *armError {
	if len(cs) == 0 {
		return errMissingProperty("ipConfigurations", plsID)
	}
	if len(cs) > maxPLSIPConfigurations {
		return badRequest("PrivateLinkServiceIpConfigurationsLimitExceeded",
			"Private link service %s has %d IP configurations; at most %d are allowed.", plsID, len(cs), maxPLSIPConfigurations)
	}
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		if c == nil {
			return errMissingProperty("ipConfigurations item", plsID)
		}
		names = append(names, str(c.Name))
	}
	if err := checkNames(names, "ipConfigurations", plsID); err != nil {
		return err
	}
	primaries := 0
	taken := map[string]map[netip.Addr]string{}
	var dynamic []*armnetwork.PrivateLinkServiceIPConfiguration
	for _, c := range cs {
		id := plsID + "/ipConfigurations/" + str(c.Name)
		c.ID, c.Type = ptr(id), ptr(plsType+"/ipConfigurations")
		cp := c.Properties
		if cp == nil || cp.Subnet == nil {
			return errMissingProperty("subnet of an ipConfiguration", id)
		}
		if cp.Primary != nil && *cp.Primary {
			primaries++
		}
		sn, _ := s.lookupSubnet(str(cp.Subnet.ID))
		if sn == nil {
			return errBadReference(str(cp.Subnet.ID), id)
		}
		cp.Subnet = &armnetwork.Subnet{ID: sn.ID}
		cp.ProvisioningState = succeeded()
		cp.PrivateIPAddressVersion = ptr(armnetwork.IPVersionIPv4)
		sk := key(str(sn.ID))
		if taken[sk] == nil {
			taken[sk] = s.privateIPsInUse(sk, plsID)
		}
		if cp.PrivateIPAllocationMethod == nil {
			cp.PrivateIPAllocationMethod = ptr(armnetwork.IPAllocationMethodDynamic)
		}
		if *cp.PrivateIPAllocationMethod == armnetwork.IPAllocationMethodStatic {
			ip, err := netip.ParseAddr(str(cp.PrivateIPAddress))
			if err != nil || !subnetPrefix(sn).Contains(ip) {
				return badRequest("PrivateIPAddressNotInSubnet", "Private static IP address %s does not belong to the range of subnet prefix %s.", str(cp.PrivateIPAddress), subnetPrefix(sn))
			}
			if owner, used := taken[sk][ip]; used && !eq(owner, id) {
				return badRequest("PrivateIPAddressInUse", "IP configuration %s is using the private IP address %s which is already allocated to resource %s.", id, ip, owner)
			}
			taken[sk][ip] = id
			cp.PrivateIPAddress = ptr(ip.String())
			continue
		}
		if ip, ok := keptPLSIP(prev, id, sk); ok {
			if owner, used := taken[sk][ip]; !used || eq(owner, id) {
				taken[sk][ip] = id
				cp.PrivateIPAddress = ptr(ip.String())
				continue
			}
		}
		dynamic = append(dynamic, c)
	}
	if primaries != 1 {
		return badRequest("PrivateLinkServiceMustHaveOnePrimaryIpConfiguration",
			"Private link service %s must have exactly one primary IP configuration; it has %d.", plsID, primaries)
	}
	for _, c := range dynamic {
		sk := key(str(c.Properties.Subnet.ID))
		sn, _ := s.lookupSubnet(str(c.Properties.Subnet.ID))
		ip, ok := nextFreeIP(subnetPrefix(sn), taken[sk])
		if !ok {
			return badRequest("SubnetIsFull", "Subnet %s has no free IP address for %s.", str(sn.ID), str(c.ID))
		}
		taken[sk][ip] = str(c.ID)
		c.Properties.PrivateIPAddress = ptr(ip.String())
	}
	return nil
}

// keptPLSIP is the dynamic address an IP configuration already had in the same subnet.
func keptPLSIP(prev *plsT, id, subnetKey string) (netip.Addr, bool) {
	if prev == nil || prev.Properties == nil {
		return netip.Addr{}, false
	}
	for _, c := range prev.Properties.IPConfigurations {
		if !eq(str(c.ID), id) || c.Properties == nil || c.Properties.Subnet == nil || key(str(c.Properties.Subnet.ID)) != subnetKey {
			continue
		}
		ip, err := netip.ParseAddr(str(c.Properties.PrivateIPAddress))
		return ip, err == nil
	}
	return netip.Addr{}, false
}

// plsReferences maps each load balancer frontend (lower-case ID) referenced by a Private
// Link Service to the service's ID.
func (s *Server) plsReferences() map[string]string {
	var es []*entry
	for _, e := range s.res {
		if e.kind == kindPLS {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
	out := map[string]string{}
	for _, e := range es {
		pls := e.obj.(*plsT)
		if pls.Properties == nil {
			continue
		}
		for _, f := range pls.Properties.LoadBalancerFrontendIPConfigurations {
			if _, seen := out[key(str(f.ID))]; !seen {
				out[key(str(f.ID))] = e.id
			}
		}
	}
	return out
}

// checkFrontendsKept refuses a load balancer PUT that drops a frontend a Private Link
// Service still uses. ARM's exact code for this case was not found in public material;
// the code below follows ARM's naming of the whole-load-balancer case.
func (s *Server) checkFrontendsKept(lbID string, prev *lbT, fs []*armnetwork.FrontendIPConfiguration) *armError {
	if prev == nil || prev.Properties == nil {
		return nil
	}
	refs := s.plsReferences()
	for _, old := range prev.Properties.FrontendIPConfigurations {
		pls, used := refs[key(str(old.ID))]
		if !used {
			continue
		}
		kept := false
		for _, f := range fs {
			kept = kept || (f != nil && eq(str(f.Name), str(old.Name)))
		}
		if !kept {
			return badRequest("CannotDeleteFrontendIPConfigurationWithPrivateLinkService",
				"Cannot delete frontend IP configuration %s of load balancer %s since it is referenced by private link service %s. Please delete private link service prior to deleting the frontend IP configuration.",
				str(old.ID), lbID, pls)
		}
	}
	return nil
}

// deleteLBCheck refuses to delete a load balancer a Private Link Service references, with
// ARM's CannotDeleteLoadBalancerWithPrivateLinkService.
func deleteLBCheck(s *Server, e *entry) *armError {
	refs := s.plsReferences()
	lb := e.obj.(*lbT)
	if lb.Properties == nil {
		return nil
	}
	for _, f := range lb.Properties.FrontendIPConfigurations {
		if pls, used := refs[key(str(f.ID))]; used {
			return badRequest("CannotDeleteLoadBalancerWithPrivateLinkService",
				"Cannot delete load balancer %s since it is referenced by private link service %s. Please delete private link service prior to deleting load balancer.", e.id, pls)
		}
	}
	return nil
}
