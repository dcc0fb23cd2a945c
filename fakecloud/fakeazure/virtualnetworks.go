package fakeazure

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

const vnetType = providerNS + "/virtualNetworks"

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// putVNet validates the address space and the subnets (inside the space, no overlap,
// existing NSG). A body without "subnets" keeps the existing ones, as ARM does; a body
// that drops a subnet still holding IP configurations is refused.
func putVNet(s *Server, p putCtx, obj, old any) *armError {
	vn := obj.(*vnetT)
	var prev *vnetT
	if old != nil {
		prev = old.(*vnetT)
	}
	if err := requireLocation(vn.Location); err != nil {
		return err
	}
	vn.ID, vn.Name, vn.Type = ptr(p.id), ptr(p.name), ptr(vnetType)
	if vn.Properties == nil {
		vn.Properties = &armnetwork.VirtualNetworkPropertiesFormat{}
	}
	pr := vn.Properties
	pr.ProvisioningState = succeeded()
	if pr.AddressSpace == nil || len(pr.AddressSpace.AddressPrefixes) == 0 {
		return errMissingProperty("addressSpace.addressPrefixes", p.id)
	}
	var space []netip.Prefix
	for _, a := range pr.AddressSpace.AddressPrefixes {
		pf, err := netip.ParsePrefix(str(a))
		if err != nil {
			return badRequest("InvalidAddressPrefixFormat", "Address prefix %s of virtual network %s has an invalid format.", str(a), p.id)
		}
		space = append(space, pf.Masked())
	}
	pr.ResourceGUID = nil
	var prevSubnets []*armnetwork.Subnet
	if prev != nil && prev.Properties != nil {
		pr.ResourceGUID, prevSubnets = prev.Properties.ResourceGUID, prev.Properties.Subnets
	}
	if pr.ResourceGUID == nil {
		pr.ResourceGUID = ptr(s.uuid())
	}
	if pr.Subnets == nil && prevSubnets != nil {
		var copied []*armnetwork.Subnet
		if err := json.Unmarshal(mustJSON(prevSubnets), &copied); err != nil {
			return errDecode(err)
		}
		pr.Subnets = copied
	}
	names := make([]string, 0, len(pr.Subnets))
	for _, sn := range pr.Subnets {
		if sn == nil {
			return errMissingProperty("subnets item", p.id)
		}
		names = append(names, str(sn.Name))
	}
	if err := checkNames(names, "subnets", p.id); err != nil {
		return err
	}
	var placed []netip.Prefix
	for _, sn := range pr.Subnets {
		if err := s.checkSubnet(p.id, sn, space, placed); err != nil {
			return err
		}
		placed = append(placed, subnetPrefix(sn))
	}
	for _, old := range prevSubnets {
		if old.Properties == nil || len(old.Properties.IPConfigurations) == 0 {
			continue
		}
		if !containsName(names, str(old.Name)) {
			return errSubnetInUse(old)
		}
	}
	return nil
}

func (s *Server) checkSubnet(vnetID string, sn *armnetwork.Subnet, space, placed []netip.Prefix) *armError {
	id := vnetID + "/subnets/" + str(sn.Name)
	sn.ID, sn.Type = ptr(id), ptr(vnetType+"/subnets")
	if sn.Properties == nil || (str(sn.Properties.AddressPrefix) == "" && len(sn.Properties.AddressPrefixes) == 0) {
		return errMissingProperty("addressPrefix", id)
	}
	sp := sn.Properties
	pf := subnetPrefix(sn)
	if !pf.IsValid() {
		return badRequest("InvalidAddressPrefixFormat", "Address prefix of subnet %s has an invalid format.", id)
	}
	inside := false
	for _, sp := range space {
		inside = inside || (sp.Bits() <= pf.Bits() && sp.Contains(pf.Addr()))
	}
	if !inside {
		return badRequest("NetcfgInvalidSubnet", "Subnet '%s' is not valid in virtual network '%s': %s is outside its address space.", str(sn.Name), vnetID, pf)
	}
	for _, o := range placed {
		if o.Overlaps(pf) {
			return badRequest("NetcfgInvalidSubnet", "Subnet '%s' is not valid because its IP address range %s overlaps with that of an existing subnet in virtual network '%s'.", str(sn.Name), pf, vnetID)
		}
	}
	sp.ProvisioningState = succeeded()
	if sp.NetworkSecurityGroup != nil {
		nid := str(sp.NetworkSecurityGroup.ID)
		e := s.lookup(kindNSG, nid)
		if e == nil {
			return errBadReference(nid, id)
		}
		sp.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: ptr(e.id)}
	}
	return nil
}

func containsName(names []string, n string) bool {
	for _, x := range names {
		if eq(x, n) {
			return true
		}
	}
	return false
}

func errSubnetInUse(sn *armnetwork.Subnet) *armError {
	var users []string
	for _, c := range sn.Properties.IPConfigurations {
		users = append(users, str(c.ID))
	}
	return badRequest("InUseSubnetCannotBeDeleted",
		"Subnet %s is in use by %s and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet.", str(sn.Name), strings.Join(users, " and "))
}

// deleteVNetCheck refuses to delete a virtual network with a subnet in use.
func deleteVNetCheck(_ *Server, e *entry) *armError {
	vn := e.obj.(*vnetT)
	if vn.Properties == nil {
		return nil
	}
	for _, sn := range vn.Properties.Subnets {
		if sn.Properties != nil && len(sn.Properties.IPConfigurations) > 0 {
			return errSubnetInUse(sn)
		}
	}
	return nil
}
