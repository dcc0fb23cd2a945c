package azure

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Tag keys, as upstream writes them on public IPs; cloudlb also puts the cluster tag on the
// load balancers it creates, so it deletes only its own.
const (
	tagService  = "k8s-azure-service"
	tagCluster  = "k8s-azure-cluster-name"
	tagDNSLabel = "k8s-azure-dns-label-service"
	// tagOwnerService marks a Private Link Service with the Service that owns it, as upstream.
	tagOwnerService  = "k8s-azure-owner-service"
	legacyTagService = "service"
	legacyTagCluster = "kubernetes-cluster-name"
)

// Upstream's fixed names.
const (
	internalSuffix  = "-internal"
	sharedProbeName = "cluster-service-shared-health-probe"
	// maxPIPName is upstream's limit on generated public IP names.
	maxPIPName = 75
	// maxRuleName is ARM's limit on rule, probe and security rule names.
	maxRuleName = 80
	// ipv6Suffix ends the names of the IPv6 parts of a dual-stack Service, as upstream.
	ipv6Suffix = "-IPv6"
)

// ServicePrefix is "a" + the Service UID without dashes, cut to 32 characters: upstream's
// GetLoadBalancerName, the prefix of every frontend, rule, probe and security rule the
// Service owns.
func ServicePrefix(svc *v1.Service) string {
	n := "a" + strings.ReplaceAll(string(svc.UID), "-", "")
	if len(n) > 32 {
		n = n[:32]
	}
	return n
}

// frontendName is the Service's frontend IP configuration: the prefix, plus "-<subnet>" when
// an internal subnet is chosen by annotation (cut so the name stays within 75 characters).
func frontendName(prefix, internalSubnet string) string {
	if internalSubnet == "" {
		return prefix
	}
	n := prefix + "-" + internalSubnet
	if len(n) > 75 {
		n = n[:75]
	}
	return n
}

// ipv6Name is the name of the IPv6 twin of a rule or probe of the Service with this prefix:
// name + "-IPv6", the part after the prefix (the subnet segment) cut from its start when the
// result would pass 80 characters, so the protocol and port stay.
func ipv6Name(name, prefix string) string {
	if over := len(name) + len(ipv6Suffix) - maxRuleName; over > 0 && len(name) > len(prefix)+1+over {
		name = name[:len(prefix)+1] + name[len(prefix)+1+over:]
	}
	return name + ipv6Suffix
}

// ruleName is upstream's getLoadBalancerRuleName: "<frontend>-<PROTO>-<port>", the subnet
// segment cut so the whole name stays within 80 characters. Probes share it.
func ruleName(prefix, internalSubnet string, proto v1.Protocol, port int32) string {
	suffix := fmt.Sprintf("-%s-%d", proto, port)
	if internalSubnet == "" {
		return prefix + suffix
	}
	subnet := internalSubnet
	if room := maxRuleName - len(prefix) - 1 - len(suffix); len(subnet) > room {
		subnet = subnet[:max(room, 0)]
	}
	return prefix + "-" + subnet + suffix
}

// ownedBy reports whether an LB part or security rule name belongs to the Service with
// prefix: upstream's serviceOwnsRule, a case-insensitive prefix match.
func ownedBy(name, prefix string) bool {
	return len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix)
}

// loadBalancerName is the cluster's Standard load balancer: the base name (loadBalancerName
// from the cloud config, else the cluster name), "-internal" for internal Services.
func loadBalancerName(base string, internal bool) string {
	if internal {
		return base + internalSuffix
	}
	return base
}

// managedPIPName is upstream's getPublicIPName: "<cluster>-<prefix>", plus "-<prefix name>"
// for a public IP prefix, cut to 75 characters.
func managedPIPName(cluster, prefix, pipPrefixID string) string {
	n := cluster + "-" + prefix
	if pipPrefixID != "" {
		n += "-" + lastSegment(pipPrefixID)
	}
	if len(n) > maxPIPName {
		n = n[:maxPIPName]
	}
	return n
}

// serviceName is "namespace/name".
func serviceName(svc *v1.Service) string { return svc.Namespace + "/" + svc.Name }

// lastSegment is the last path segment of an ARM ID.
func lastSegment(id string) string {
	id = strings.TrimRight(id, "/")
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

// ids builds ARM resource IDs of one subscription.
type ids struct{ subscription string }

// idsOf builds the IDs of the settings' subscription.
func idsOf(s Settings) ids { return ids{s.SubscriptionID} }

func (x ids) resource(rg, typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s", x.subscription, rg, typ, name)
}

func (x ids) loadBalancer(rg, name string) string { return x.resource(rg, "loadBalancers", name) }

func (x ids) publicIP(rg, name string) string { return x.resource(rg, "publicIPAddresses", name) }

func (x ids) vnet(rg, name string) string { return x.resource(rg, "virtualNetworks", name) }

func (x ids) subnet(rg, vnet, name string) string { return x.vnet(rg, vnet) + "/subnets/" + name }

func (x ids) privateLinkService(rg, name string) string {
	return x.resource(rg, "privateLinkServices", name)
}

// child is the ID of a load balancer's part ("frontendIPConfigurations", "probes", ...).
func child(lbID, kind, name string) string { return lbID + "/" + kind + "/" + name }
