package azure

import (
	"context"
	"fmt"
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

// ensurePublicIP returns the ID and address of the Service's public IP, creating or
// updating a managed one. Public IPs of the user are only read.
func (c *Cloud) ensurePublicIP(ctx context.Context, m *Model, want *PublicIP) (id, address string, err error) {
	ctx = providers.WithStep(ctx, "the Service's public IP differs from the Service")
	switch {
	case want.Address != "":
		pips, err := c.api.listPIPs(ctx, want.ResourceGroup)
		if err != nil {
			return "", "", err
		}
		for _, p := range pips {
			if p.Properties != nil && sval(p.Properties.IPAddress) == want.Address {
				return sval(p.ID), want.Address, nil
			}
		}
		return "", "", providers.NewUserError(m.Service, "user supplied IP address %s was not found among the public IPs of resource group %s; create it first or set service.beta.kubernetes.io/azure-load-balancer-resource-group", want.Address, want.ResourceGroup)
	case !want.Managed:
		p, err := c.api.getPIP(ctx, want.ResourceGroup, want.Name)
		if err != nil {
			return "", "", err
		}
		if p == nil {
			return "", "", providers.NewUserError(m.Service, "public IP %s from annotation service.beta.kubernetes.io/azure-pip-name does not exist in resource group %s", want.Name, want.ResourceGroup)
		}
		return sval(p.ID), pipAddress(p), nil
	}
	for range maxConflictRetries {
		p, err := c.api.getPIP(ctx, want.ResourceGroup, want.Name)
		if err != nil {
			return "", "", err
		}
		if p == nil {
			p, err = c.api.putPIP(ctx, want.ResourceGroup, want.Name, newPublicIP(want))
		} else {
			services, tagged := pipServices(p)
			switch {
			case !tagged:
				return "", "", providers.NewUserError(m.Service, "public IP %s exists without the tag %s: it is not managed by this cluster and is left untouched; name it in service.beta.kubernetes.io/azure-pip-name to use it", want.Name, tagService)
			case !pipOwnedBy(p, m.Service, m.Cluster):
				return "", "", providers.NewUserError(m.Service, "public IP %s belongs to %s; it is left untouched", want.Name, strings.Join(services, ","))
			}
			if upd, changed := updatePublicIP(p, want); changed {
				p, err = c.api.putPIP(ctx, want.ResourceGroup, want.Name, upd)
			}
		}
		if isConflict(err) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		return sval(p.ID), pipAddress(p), nil
	}
	return "", "", fmt.Errorf("public IP %s: still changing under us after %d attempts", want.Name, maxConflictRetries)
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
// added some) and DNS label to a managed public IP; ip tags are only set at creation.
func updatePublicIP(obs *armnetwork.PublicIPAddress, w *PublicIP) (*armnetwork.PublicIPAddress, bool) {
	p := &armnetwork.PublicIPAddress{}
	if err := deepCopy(obs, p); err != nil {
		return nil, false
	}
	changed := false
	if p.Tags == nil {
		p.Tags = map[string]*string{}
	}
	for k, v := range w.Tags {
		if k == tagService {
			continue // keeps the other Services sharing it
		}
		if cur, ok := p.Tags[k]; !ok || sval(cur) != v {
			p.Tags[k] = to.Ptr(v)
			changed = true
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
			changed = true
			if *w.DNSLabel == "" {
				p.Properties.DNSSettings = nil
				delete(p.Tags, tagDNSLabel)
			} else {
				p.Properties.DNSSettings = &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: to.Ptr(*w.DNSLabel)}
			}
		}
	}
	return p, changed
}

// releasePublicIPs unbinds service from the managed public IPs of cluster in the resource
// groups, except keepIDs (IDs joined with ","), deleting those no other Service uses. The
// caller has removed the frontends that used them.
func (c *Cloud) releasePublicIPs(ctx context.Context, service, cluster string, rgs []string, keepIDs string) error {
	ctx = providers.WithStep(ctx, "the Service no longer uses the public IP")
	keep := strings.Split(keepIDs, ",")
	for _, rg := range rgs {
		pips, err := c.api.listPIPs(ctx, rg)
		if err != nil {
			return err
		}
		for _, p := range pips {
			if slices.ContainsFunc(keep, func(k string) bool { return idEqual(sval(p.ID), k) }) || !pipOwnedBy(p, service, cluster) {
				continue
			}
			if err := c.releasePublicIP(ctx, rg, p, service); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Cloud) releasePublicIP(ctx context.Context, rg string, p *armnetwork.PublicIPAddress, service string) error {
	name := sval(p.Name)
	for range maxConflictRetries {
		services, _ := pipServices(p)
		rest := slices.DeleteFunc(slices.Clone(services), func(s string) bool { return s == service })
		var err error
		if len(rest) == 0 {
			err = c.api.deletePIP(ctx, rg, name, sval(p.Etag))
		} else {
			upd := &armnetwork.PublicIPAddress{}
			if err = deepCopy(p, upd); err == nil {
				for k := range upd.Tags {
					if strings.EqualFold(k, tagService) || strings.EqualFold(k, legacyTagService) {
						delete(upd.Tags, k)
					}
				}
				upd.Tags[tagService] = to.Ptr(strings.Join(rest, ","))
				_, err = c.api.putPIP(ctx, rg, name, upd)
			}
		}
		if !isConflict(err) {
			return err
		}
		if p, err = c.api.getPIP(ctx, rg, name); err != nil || p == nil {
			return err
		}
	}
	return fmt.Errorf("public IP %s: still changing under us after %d attempts", name, maxConflictRetries)
}
