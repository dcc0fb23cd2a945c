package fakeazure

import (
	"net/netip"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

const lbType = providerNS + "/loadBalancers"

// putLB validates a load balancer PUT and fills what ARM fills: child IDs and types,
// provisioning states, defaults, private IPs of internal frontends and the back
// references between frontends, pools, probes and rules.
func putLB(s *Server, p putCtx, obj, old any) *armError {
	lb := obj.(*lbT)
	var prev *lbT
	if old != nil {
		prev = old.(*lbT)
	}
	if err := requireLocation(lb.Location); err != nil {
		return err
	}
	lb.ID, lb.Name, lb.Type = ptr(p.id), ptr(p.name), ptr(lbType)
	if lb.Properties == nil {
		lb.Properties = &armnetwork.LoadBalancerPropertiesFormat{}
	}
	pr := lb.Properties
	pr.ProvisioningState = succeeded()
	pr.ResourceGUID = nil
	if prev != nil && prev.Properties != nil {
		pr.ResourceGUID = prev.Properties.ResourceGUID
	}
	if pr.ResourceGUID == nil {
		pr.ResourceGUID = ptr(s.uuid())
	}
	if err := checkLBNames(p.id, pr); err != nil {
		return err
	}
	if err := s.checkFrontendsKept(p.id, prev, pr.FrontendIPConfigurations); err != nil {
		return err
	}
	fips, err := s.lbFrontends(lb, pr.FrontendIPConfigurations, prev)
	if err != nil {
		return err
	}
	pools, err := s.lbPools(p.id, pr.BackendAddressPools)
	if err != nil {
		return err
	}
	if err := s.nicBackends(p.id, pools); err != nil {
		return err
	}
	probes, err := lbProbes(p.id, pr.Probes)
	if err != nil {
		return err
	}
	return lbRules(p.id, pr.LoadBalancingRules, fips, pools, probes)
}

func checkLBNames(id string, pr *armnetwork.LoadBalancerPropertiesFormat) *armError {
	var fips, pools, probes, rules []string
	for _, c := range pr.FrontendIPConfigurations {
		if c == nil {
			return errMissingProperty("frontendIPConfigurations item", id)
		}
		fips = append(fips, str(c.Name))
	}
	for _, c := range pr.BackendAddressPools {
		if c == nil {
			return errMissingProperty("backendAddressPools item", id)
		}
		pools = append(pools, str(c.Name))
	}
	for _, c := range pr.Probes {
		if c == nil {
			return errMissingProperty("probes item", id)
		}
		probes = append(probes, str(c.Name))
	}
	for _, c := range pr.LoadBalancingRules {
		if c == nil {
			return errMissingProperty("loadBalancingRules item", id)
		}
		rules = append(rules, str(c.Name))
	}
	for coll, names := range map[string][]string{"frontendIPConfigurations": fips, "backendAddressPools": pools, "probes": probes, "loadBalancingRules": rules} {
		if err := checkNames(names, coll, id); err != nil {
			return err
		}
	}
	return nil
}

// lbFrontends checks the frontends' public IPs and subnets and allocates private IPs.
// It returns the frontends by lower-case ID.
func (s *Server) lbFrontends(lb *lbT, fs []*armnetwork.FrontendIPConfiguration, prev *lbT) (map[string]*armnetwork.FrontendIPConfiguration, *armError) {
	lbID := str(lb.ID)
	out := map[string]*armnetwork.FrontendIPConfiguration{}
	usedPIP := map[string]string{}
	var dynamic []*armnetwork.FrontendIPConfiguration
	taken := map[string]map[netip.Addr]string{} // subnet key -> ip -> frontend ID
	for _, f := range fs {
		id := lbID + "/frontendIPConfigurations/" + str(f.Name)
		f.ID, f.Type = ptr(id), ptr(lbType+"/frontendIPConfigurations")
		out[key(id)] = f
		if f.Properties == nil {
			return nil, errMissingProperty("properties", id)
		}
		fp := f.Properties
		fp.ProvisioningState = succeeded()
		fp.LoadBalancingRules, fp.InboundNatRules, fp.InboundNatPools, fp.OutboundRules = nil, nil, nil, nil
		switch {
		case fp.PublicIPAddress != nil && fp.Subnet != nil:
			return nil, badRequest("InvalidRequestFormat", "Frontend IP configuration %s references both a public IP address and a subnet.", id)
		case fp.PublicIPAddress != nil:
			pid := str(fp.PublicIPAddress.ID)
			e := s.lookup(kindPIP, pid)
			if e == nil {
				return nil, errBadReference(pid, id)
			}
			pip := e.obj.(*pipT)
			if err := checkSKUs(lb, pip); err != nil {
				return nil, err
			}
			if owner := usedPIP[key(pid)]; owner != "" {
				return nil, errPIPInUse(id, e.id, owner)
			}
			if pip.Properties != nil && pip.Properties.IPConfiguration != nil {
				if owner := str(pip.Properties.IPConfiguration.ID); !eq(owner, id) && !isChildOf(owner, lbID) {
					return nil, errPIPInUse(id, e.id, owner)
				}
			}
			usedPIP[key(pid)] = id
			fp.PublicIPAddress = &armnetwork.PublicIPAddress{ID: ptr(e.id)}
			fp.PrivateIPAddress, fp.PrivateIPAllocationMethod, fp.PrivateIPAddressVersion = nil, nil, nil
		case fp.Subnet != nil:
			sid := str(fp.Subnet.ID)
			sn, _ := s.lookupSubnet(sid)
			if sn == nil {
				return nil, errBadReference(sid, id)
			}
			fp.Subnet = &armnetwork.Subnet{ID: sn.ID}
			v6 := fp.PrivateIPAddressVersion != nil && *fp.PrivateIPAddressVersion == armnetwork.IPVersionIPv6
			if v6 && !subnetPrefixFor(sn, true).IsValid() {
				return nil, badRequest("InvalidRequestFormat", "Frontend IP configuration %s asks for an IPv6 address but subnet %s has no IPv6 address prefix.", id, str(sn.ID))
			}
			if !v6 {
				fp.PrivateIPAddressVersion = ptr(armnetwork.IPVersionIPv4)
			}
			sk := key(str(sn.ID))
			if taken[sk] == nil {
				taken[sk] = s.privateIPsInUse(sk, lbID)
			}
			if fp.PrivateIPAllocationMethod == nil {
				fp.PrivateIPAllocationMethod = ptr(armnetwork.IPAllocationMethodDynamic)
			}
			if *fp.PrivateIPAllocationMethod == armnetwork.IPAllocationMethodStatic {
				if err := claimStaticIP(sn, fp, id, taken[sk]); err != nil {
					return nil, err
				}
				continue
			}
			if ip, ok := keptPrivateIP(prev, id, sk); ok {
				if owner, used := taken[sk][ip]; !used || eq(owner, id) {
					taken[sk][ip] = id
					fp.PrivateIPAddress = ptr(ip.String())
					continue
				}
			}
			dynamic = append(dynamic, f)
		default:
			return nil, errMissingProperty("publicIPAddress or subnet", id)
		}
	}
	for _, f := range dynamic {
		sn, _ := s.lookupSubnet(str(f.Properties.Subnet.ID))
		v6 := *f.Properties.PrivateIPAddressVersion == armnetwork.IPVersionIPv6
		ip, ok := nextFreeIP(subnetPrefixFor(sn, v6), taken[key(str(sn.ID))])
		if !ok {
			return nil, badRequest("SubnetIsFull", "Subnet %s has no free IP address for %s.", str(sn.ID), str(f.ID))
		}
		taken[key(str(sn.ID))][ip] = str(f.ID)
		f.Properties.PrivateIPAddress = ptr(ip.String())
	}
	return out, nil
}

// checkSKUs refuses a public IP whose SKU differs from the load balancer's; an LB without
// a SKU is not checked.
func checkSKUs(lb *lbT, pip *pipT) *armError {
	if lb.SKU == nil || lb.SKU.Name == nil || pip.SKU == nil || pip.SKU.Name == nil {
		return nil
	}
	if !eq(string(*lb.SKU.Name), string(*pip.SKU.Name)) {
		return badRequest("PublicIPAndLBSkuDoNotMatch", "%s sku load balancer %s cannot reference %s sku publicIP %s.",
			*lb.SKU.Name, str(lb.ID), *pip.SKU.Name, str(pip.ID))
	}
	return nil
}

func errPIPInUse(from, pip, owner string) *armError {
	return badRequest("PublicIPAddressInUse", "Resource %s is referencing public IP address %s that is already allocated to resource %s.", from, pip, owner)
}

// isChildOf reports whether id is nested under parent (the frontend moved within one LB).
func isChildOf(id, parent string) bool {
	return len(id) > len(parent) && eq(id[:len(parent)], parent) && id[len(parent)] == '/'
}

func claimStaticIP(sn *armnetwork.Subnet, fp *armnetwork.FrontendIPConfigurationPropertiesFormat, id string, taken map[netip.Addr]string) *armError {
	ip, err := netip.ParseAddr(str(fp.PrivateIPAddress))
	prefix := subnetPrefixFor(sn, *fp.PrivateIPAddressVersion == armnetwork.IPVersionIPv6)
	if err != nil || !prefix.Contains(ip) {
		return badRequest("PrivateIPAddressNotInSubnet", "Private static IP address %s does not belong to the range of subnet prefix %s.", str(fp.PrivateIPAddress), prefix)
	}
	if owner, used := taken[ip]; used && !eq(owner, id) {
		return badRequest("PrivateIPAddressInUse", "IP configuration %s is using the private IP address %s which is already allocated to resource %s.", id, ip, owner)
	}
	taken[ip] = id
	fp.PrivateIPAddress = ptr(ip.String())
	return nil
}

// keptPrivateIP is the dynamic IP a frontend already had in the same subnet.
func keptPrivateIP(prev *lbT, id, subnetKey string) (netip.Addr, bool) {
	if prev == nil || prev.Properties == nil {
		return netip.Addr{}, false
	}
	for _, f := range prev.Properties.FrontendIPConfigurations {
		if !eq(str(f.ID), id) || f.Properties == nil || f.Properties.Subnet == nil || key(str(f.Properties.Subnet.ID)) != subnetKey {
			continue
		}
		ip, err := netip.ParseAddr(str(f.Properties.PrivateIPAddress))
		return ip, err == nil
	}
	return netip.Addr{}, false
}

// privateIPsInUse lists the private IPs that frontends of other load balancers and NAT IP
// configurations of other Private Link Services hold in a subnet.
func (s *Server) privateIPsInUse(subnetKey, exceptLB string) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for _, e := range s.res {
		if pls, ok := e.obj.(*plsT); ok && !eq(e.id, exceptLB) && pls.Properties != nil {
			for _, c := range pls.Properties.IPConfigurations {
				if c.Properties == nil || c.Properties.Subnet == nil || key(str(c.Properties.Subnet.ID)) != subnetKey {
					continue
				}
				if ip, err := netip.ParseAddr(str(c.Properties.PrivateIPAddress)); err == nil {
					out[ip] = str(c.ID)
				}
			}
		}
		lb, ok := e.obj.(*lbT)
		if !ok || eq(e.id, exceptLB) || lb.Properties == nil {
			continue
		}
		for _, f := range lb.Properties.FrontendIPConfigurations {
			if f.Properties == nil || f.Properties.Subnet == nil || key(str(f.Properties.Subnet.ID)) != subnetKey {
				continue
			}
			if ip, err := netip.ParseAddr(str(f.Properties.PrivateIPAddress)); err == nil {
				out[ip] = str(f.ID)
			}
		}
	}
	return out
}

// lbPools checks IP-based backend addresses (ipAddress + virtualNetwork).
func (s *Server) lbPools(lbID string, ps []*armnetwork.BackendAddressPool) (map[string]*armnetwork.BackendAddressPool, *armError) {
	out := map[string]*armnetwork.BackendAddressPool{}
	for _, bp := range ps {
		id := lbID + "/backendAddressPools/" + str(bp.Name)
		bp.ID, bp.Type = ptr(id), ptr(lbType+"/backendAddressPools")
		out[key(id)] = bp
		if bp.Properties == nil {
			bp.Properties = &armnetwork.BackendAddressPoolPropertiesFormat{}
		}
		bpp := bp.Properties
		bpp.ProvisioningState = succeeded()
		bpp.LoadBalancingRules, bpp.BackendIPConfigurations, bpp.InboundNatRules, bpp.OutboundRule, bpp.OutboundRules = nil, nil, nil, nil, nil
		if bpp.VirtualNetwork != nil {
			vid := str(bpp.VirtualNetwork.ID)
			if s.lookup(kindVNet, vid) == nil {
				return nil, errBadReference(vid, id)
			}
		}
		seen := map[string]bool{}
		for _, a := range bpp.LoadBalancerBackendAddresses {
			if a == nil || a.Properties == nil || str(a.Name) == "" {
				return nil, errMissingProperty("loadBalancerBackendAddresses name and properties", id)
			}
			ap := a.Properties
			if ap.NetworkInterfaceIPConfiguration != nil {
				ap.NetworkInterfaceIPConfiguration = nil // read-only; NIC-based membership is not modelled
			}
			ip, err := netip.ParseAddr(str(ap.IPAddress))
			if err != nil {
				return nil, badRequest("InvalidRequestFormat", "Backend address %s of %s has an invalid ipAddress %q.", str(a.Name), id, str(ap.IPAddress))
			}
			if seen[ip.String()] || seen["name:"+key(str(a.Name))] {
				return nil, badRequest("InvalidRequestFormat", "Backend address pool %s lists the address %s or the name %s twice.", id, ip, str(a.Name))
			}
			seen[ip.String()], seen["name:"+key(str(a.Name))] = true, true
			vnet := ap.VirtualNetwork
			if vnet == nil {
				vnet = bpp.VirtualNetwork
			}
			if vnet == nil {
				return nil, errMissingProperty("virtualNetwork of backend address "+str(a.Name), id)
			}
			if e := s.lookup(kindVNet, str(vnet.ID)); e == nil {
				return nil, errBadReference(str(vnet.ID), id)
			}
		}
	}
	return out, nil
}

func lbProbes(lbID string, ps []*armnetwork.Probe) (map[string]*armnetwork.Probe, *armError) {
	out := map[string]*armnetwork.Probe{}
	for _, pb := range ps {
		id := lbID + "/probes/" + str(pb.Name)
		pb.ID, pb.Type = ptr(id), ptr(lbType+"/probes")
		out[key(id)] = pb
		pp := pb.Properties
		if pp == nil || pp.Protocol == nil || pp.Port == nil {
			return nil, errMissingProperty("probe protocol and port", id)
		}
		if *pp.Port < 1 || *pp.Port > 65535 {
			return nil, badRequest("InvalidRequestFormat", "Probe %s has port %d outside 1-65535.", id, *pp.Port)
		}
		if (*pp.Protocol == armnetwork.ProbeProtocolHTTP || *pp.Protocol == armnetwork.ProbeProtocolHTTPS) && str(pp.RequestPath) == "" {
			return nil, errMissingProperty("requestPath of an Http/Https probe", id)
		}
		if *pp.Protocol == armnetwork.ProbeProtocolTCP && pp.RequestPath != nil {
			return nil, badRequest("InvalidRequestFormat", "Probe %s of protocol Tcp cannot have a requestPath.", id)
		}
		pp.ProvisioningState = succeeded()
		pp.LoadBalancingRules = nil
		if pp.IntervalInSeconds == nil {
			pp.IntervalInSeconds = ptr[int32](15)
		}
		if pp.NumberOfProbes == nil {
			pp.NumberOfProbes = ptr[int32](2)
		}
		if pp.ProbeThreshold == nil {
			pp.ProbeThreshold = ptr[int32](1)
		}
	}
	return out, nil
}

// lbRules checks each rule's references within the same load balancer, the backend-port
// conflict ARM refuses, fills defaults and the back references.
func lbRules(lbID string, rs []*armnetwork.LoadBalancingRule, fips map[string]*armnetwork.FrontendIPConfiguration,
	pools map[string]*armnetwork.BackendAddressPool, probes map[string]*armnetwork.Probe) *armError {
	type backendKey struct {
		proto armnetwork.TransportProtocol
		port  int32
		pool  string
	}
	nonFloating := map[backendKey]string{}
	for _, r := range rs {
		id := lbID + "/loadBalancingRules/" + str(r.Name)
		r.ID, r.Type = ptr(id), ptr(lbType+"/loadBalancingRules")
		rp := r.Properties
		if rp == nil || rp.Protocol == nil || rp.FrontendPort == nil || rp.FrontendIPConfiguration == nil {
			return errMissingProperty("rule protocol, frontendPort and frontendIPConfiguration", id)
		}
		rp.ProvisioningState = succeeded()
		if rp.BackendPort == nil {
			rp.BackendPort = ptr(*rp.FrontendPort)
		}
		f := fips[key(str(rp.FrontendIPConfiguration.ID))]
		if f == nil {
			return errBadReference(str(rp.FrontendIPConfiguration.ID), id)
		}
		rp.FrontendIPConfiguration.ID = f.ID
		f.Properties.LoadBalancingRules = append(f.Properties.LoadBalancingRules, &armnetwork.SubResource{ID: ptr(id)})
		poolID := ""
		if rp.BackendAddressPool != nil {
			bp := pools[key(str(rp.BackendAddressPool.ID))]
			if bp == nil {
				return errBadReference(str(rp.BackendAddressPool.ID), id)
			}
			rp.BackendAddressPool.ID, poolID = bp.ID, str(bp.ID)
			bp.Properties.LoadBalancingRules = append(bp.Properties.LoadBalancingRules, &armnetwork.SubResource{ID: ptr(id)})
		}
		if rp.Probe != nil {
			pb := probes[key(str(rp.Probe.ID))]
			if pb == nil {
				return errBadReference(str(rp.Probe.ID), id)
			}
			rp.Probe.ID = pb.ID
			pb.Properties.LoadBalancingRules = append(pb.Properties.LoadBalancingRules, &armnetwork.SubResource{ID: ptr(id)})
		}
		if rp.EnableFloatingIP == nil {
			rp.EnableFloatingIP = ptr(false)
		}
		if rp.IdleTimeoutInMinutes == nil {
			rp.IdleTimeoutInMinutes = ptr[int32](4)
		}
		if rp.LoadDistribution == nil {
			rp.LoadDistribution = ptr(armnetwork.LoadDistributionDefault)
		}
		if rp.EnableTCPReset == nil {
			rp.EnableTCPReset = ptr(false)
		}
		if rp.DisableOutboundSnat == nil {
			rp.DisableOutboundSnat = ptr(false)
		}
		if !*rp.EnableFloatingIP && poolID != "" {
			k := backendKey{*rp.Protocol, *rp.BackendPort, key(poolID)}
			if other, ok := nonFloating[k]; ok {
				return badRequest("RulesUseSameBackendPortProtocolAndPool",
					"Load balancing rules %s and %s with floating IP disabled use the same protocol %s and backend port %d, and must not be used with the same backend address pool %s.",
					other, id, *rp.Protocol, *rp.BackendPort, poolID)
			}
			nonFloating[k] = id
		}
	}
	return nil
}
