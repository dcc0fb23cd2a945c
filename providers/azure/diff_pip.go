package azure

import (
	"maps"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/cloudlb/cloudlb/providers"
)

// tagValue reads a tag, falling back to its legacy key.
func tagValue(tags map[string]*string, key, legacy string) (string, bool) {
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return sval(v), true
		}
	}
	for k, v := range tags {
		if legacy != "" && strings.EqualFold(k, legacy) {
			return sval(v), true
		}
	}
	return "", false
}

// pipServices are the Services a public IP's service tag lists; ok is false for a public
// IP without the tag (the user's).
func pipServices(p *armnetwork.PublicIPAddress) (services []string, ok bool) {
	v, ok := tagValue(p.Tags, tagService, legacyTagService)
	if !ok {
		return nil, false
	}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			services = append(services, s)
		}
	}
	return services, true
}

// pipOwnedBy reports whether a public IP is managed for service in cluster.
func pipOwnedBy(p *armnetwork.PublicIPAddress, service, cluster string) bool {
	services, ok := pipServices(p)
	c, _ := tagValue(p.Tags, tagCluster, legacyTagCluster)
	return ok && slices.Contains(services, service) && (c == "" || c == cluster)
}

// diffPublicIP plans the public IP a frontend wants: a managed one is created, or its tags
// and DNS label updated; the user's (named, or holding the wanted address) must exist and is
// only read.
func diffPublicIP(m *Model, want *PublicIP, o *Observed, x ids) (*Plan, error) {
	p := o.publicIP(want)
	switch {
	case want.Address != "" && p == nil:
		return nil, providers.NewUserError(m.Service, "user supplied IP address %s was not found among the public IPs of resource group %s; create it first or set service.beta.kubernetes.io/azure-load-balancer-resource-group", want.Address, want.ResourceGroup)
	case !want.Managed && p == nil:
		return nil, providers.NewUserError(m.Service, "public IP %s from annotation service.beta.kubernetes.io/azure-pip-name does not exist in resource group %s", want.Name, want.ResourceGroup)
	case !want.Managed:
		return &Plan{}, nil
	case p == nil:
		return &Plan{Writes: []Write{put(x, typePublicIPs, want.ResourceGroup, want.Name, newPublicIP(want), nil, []string{"create"}, stepPublicIP)}}, nil
	}
	services, tagged := pipServices(p)
	switch {
	case !tagged:
		return nil, providers.NewUserError(m.Service, "public IP %s exists without the tag %s: it is not managed by this cluster and is left untouched; name it in service.beta.kubernetes.io/azure-pip-name to use it", want.Name, tagService)
	case !pipOwnedBy(p, m.Service, m.Cluster):
		return nil, providers.NewUserError(m.Service, "public IP %s belongs to %s; it is left untouched", want.Name, strings.Join(services, ","))
	}
	upd, changes, err := updatePublicIP(p, want)
	if err != nil || len(changes) == 0 {
		return &Plan{}, err
	}
	return &Plan{Writes: []Write{put(x, typePublicIPs, want.ResourceGroup, want.Name, upd, upd.Etag, changes, stepPublicIP)}}, nil
}

func pipAddress(p *armnetwork.PublicIPAddress) string {
	if p == nil || p.Properties == nil {
		return ""
	}
	return sval(p.Properties.IPAddress)
}

// newPublicIP is a managed public IP: Standard, Static, IPv4, with ip tags and prefix.
func newPublicIP(w *PublicIP) *armnetwork.PublicIPAddress {
	props := &armnetwork.PublicIPAddressPropertiesFormat{
		PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic),
		PublicIPAddressVersion:   to.Ptr(armnetwork.IPVersionIPv4),
	}
	if w.IPv6 {
		props.PublicIPAddressVersion = to.Ptr(armnetwork.IPVersionIPv6)
	}
	keys := slices.Sorted(maps.Keys(w.IPTags))
	for _, k := range keys {
		props.IPTags = append(props.IPTags, &armnetwork.IPTag{IPTagType: to.Ptr(k), Tag: to.Ptr(w.IPTags[k])})
	}
	if w.PrefixID != "" {
		props.PublicIPPrefix = &armnetwork.SubResource{ID: to.Ptr(w.PrefixID)}
	}
	if w.DNSLabel != nil && *w.DNSLabel != "" {
		props.DNSSettings = &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: to.Ptr(*w.DNSLabel)}
	}
	tags := map[string]*string{}
	for k, v := range w.Tags {
		tags[k] = to.Ptr(v)
	}
	return &armnetwork.PublicIPAddress{
		Name: to.Ptr(w.Name), Location: to.Ptr(w.Location), Tags: tags, Properties: props,
		SKU: &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard), Tier: to.Ptr(armnetwork.PublicIPAddressSKUTierRegional)},
	}
}

// updatePublicIP applies the wanted tags (added or changed, never removed: others may have
// added some) and DNS label to a managed public IP, and says what changed; ip tags are only
// set at creation. obs is not modified; it is copied only when something changes
// (copyOnChange), as the load balancer and the NSG are.
func updatePublicIP(obs *armnetwork.PublicIPAddress, w *PublicIP) (*armnetwork.PublicIPAddress, []string, error) {
	return copyOnChange(obs, pipView, func(p *armnetwork.PublicIPAddress) ([]string, error) { return syncPublicIP(p, w), nil })
}

// syncPublicIP applies w's tags and DNS label to p, as updatePublicIP says. It replaces p's
// DNS settings rather than changing them, so p may share them with the public IP as read.
func syncPublicIP(p *armnetwork.PublicIPAddress, w *PublicIP) []string {
	var changes []string
	if p.Tags == nil {
		p.Tags = map[string]*string{}
	}
	for _, k := range slices.Sorted(maps.Keys(w.Tags)) {
		if k == tagService {
			continue // keeps the other Services sharing it
		}
		if cur, ok := p.Tags[k]; !ok || sval(cur) != w.Tags[k] {
			p.Tags[k] = to.Ptr(w.Tags[k])
			changes = append(changes, "tag "+k)
		}
	}
	if p.Properties == nil {
		p.Properties = &armnetwork.PublicIPAddressPropertiesFormat{}
	}
	if w.DNSLabel != nil {
		cur := ""
		if p.Properties.DNSSettings != nil {
			cur = sval(p.Properties.DNSSettings.DomainNameLabel)
		}
		if cur != *w.DNSLabel {
			changes = append(changes, "dns label")
			if *w.DNSLabel == "" {
				p.Properties.DNSSettings = nil
				delete(p.Tags, tagDNSLabel)
			} else {
				p.Properties.DNSSettings = &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: to.Ptr(*w.DNSLabel)}
			}
		}
	}
	return changes
}

// diffRelease plans unbinding service from the managed public IPs of cluster listed in its
// resource groups, except keepIDs (IDs joined with ","): one no other Service uses is
// deleted, one shared keeps the other Services in its tag. The frontends that used them are
// gone by then (the earlier parts of the reconcile).
func diffRelease(service, cluster string, rgs []string, keepIDs string, o *Observed, x ids) (*Plan, error) {
	keep := strings.Split(keepIDs, ",")
	p := &Plan{}
	for _, rg := range rgs {
		for _, pip := range o.PublicIPLists[strings.ToLower(rg)] {
			if slices.ContainsFunc(keep, func(k string) bool { return idEqual(sval(pip.ID), k) }) || !pipOwnedBy(pip, service, cluster) {
				continue
			}
			name := sval(pip.Name)
			services, _ := pipServices(pip)
			rest := slices.DeleteFunc(slices.Clone(services), func(s string) bool { return s == service })
			if len(rest) == 0 {
				p.Writes = append(p.Writes, del(x, typePublicIPs, rg, name, sval(pip.Etag), stepReleasePublicIP))
				continue
			}
			upd := &armnetwork.PublicIPAddress{}
			if err := deepCopy(pip, upd); err != nil {
				return nil, err
			}
			for k := range upd.Tags {
				if strings.EqualFold(k, tagService) || strings.EqualFold(k, legacyTagService) {
					delete(upd.Tags, k)
				}
			}
			upd.Tags[tagService] = to.Ptr(strings.Join(rest, ","))
			p.Writes = append(p.Writes, put(x, typePublicIPs, rg, name, upd, upd.Etag, []string{"tag " + tagService + " without " + service}, stepReleasePublicIP))
		}
	}
	return p, nil
}
