package fakeazure

import (
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

const pipType = providerNS + "/publicIPAddresses"

// putPIP fills a public IP's defaults and its address, allocated once and kept across
// updates. ipConfiguration is the server's back reference and cannot be written.
func putPIP(s *Server, p putCtx, obj, old any) *armError {
	pip := obj.(*pipT)
	var prev *pipT
	if old != nil {
		prev = old.(*pipT)
	}
	if err := requireLocation(pip.Location); err != nil {
		return err
	}
	pip.ID, pip.Name, pip.Type = ptr(p.id), ptr(p.name), ptr(pipType)
	if pip.SKU == nil {
		pip.SKU = &armnetwork.PublicIPAddressSKU{Name: ptr(armnetwork.PublicIPAddressSKUNameStandard)}
	}
	if pip.SKU.Tier == nil {
		pip.SKU.Tier = ptr(armnetwork.PublicIPAddressSKUTierRegional)
	}
	if pip.Properties == nil {
		pip.Properties = &armnetwork.PublicIPAddressPropertiesFormat{}
	}
	pr := pip.Properties
	if pr.PublicIPAddressVersion == nil {
		pr.PublicIPAddressVersion = ptr(armnetwork.IPVersionIPv4)
	}
	standard := pip.SKU.Name != nil && *pip.SKU.Name == armnetwork.PublicIPAddressSKUNameStandard
	if pr.PublicIPAllocationMethod == nil {
		pr.PublicIPAllocationMethod = ptr(armnetwork.IPAllocationMethodDynamic)
		if standard {
			pr.PublicIPAllocationMethod = ptr(armnetwork.IPAllocationMethodStatic)
		}
	}
	if standard && *pr.PublicIPAllocationMethod != armnetwork.IPAllocationMethodStatic {
		return badRequest("StandardSkuPublicIPAddressesMustBeStatic", "Standard sku publicIp %s must have AllocationMethod set to Static.", p.id)
	}
	if pr.IdleTimeoutInMinutes == nil {
		pr.IdleTimeoutInMinutes = ptr[int32](4)
	}
	pr.ProvisioningState = succeeded()
	pr.IPAddress, pr.IPConfiguration, pr.ResourceGUID = nil, nil, nil
	if prev != nil && prev.Properties != nil {
		pp := prev.Properties
		if pp.PublicIPAddressVersion != nil && *pp.PublicIPAddressVersion != *pr.PublicIPAddressVersion {
			return badRequest("PublicIPAddressVersionCannotBeChanged", "The IP version of public IP address %s cannot be changed.", p.id)
		}
		pr.IPAddress, pr.IPConfiguration, pr.ResourceGUID = pp.IPAddress, pp.IPConfiguration, pp.ResourceGUID
	}
	if pr.ResourceGUID == nil {
		pr.ResourceGUID = ptr(s.uuid())
	}
	if pr.IPAddress == nil {
		ip, ok := s.allocatePublicIP(*pr.PublicIPAddressVersion == armnetwork.IPVersionIPv6)
		if !ok {
			return badRequest("PublicIPCountLimitReached", "Cannot create more public IP addresses: the fake pool is exhausted.")
		}
		pr.IPAddress = ptr(ip)
	}
	if d := pr.DNSSettings; d != nil && str(d.DomainNameLabel) != "" {
		d.Fqdn = ptr(str(d.DomainNameLabel) + "." + str(pip.Location) + ".cloudapp.azure.com")
	}
	return nil
}

// deletePIPCheck refuses to delete a public IP still used by a frontend.
func deletePIPCheck(_ *Server, e *entry) *armError {
	pip := e.obj.(*pipT)
	if pip.Properties != nil && pip.Properties.IPConfiguration != nil {
		return badRequest("PublicIPAddressCannotBeDeleted",
			"Public IP address %s can not be deleted since it is still allocated to resource %s. In order to delete the public IP, disassociate/detach the Public IP address from the resource.",
			e.id, str(pip.Properties.IPConfiguration.ID))
	}
	return nil
}
