package azure

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// buildPLS is the Private Link Service of azure-pls-create, attached to the Service's
// frontend: named pls-<frontend> unless azure-pls-name, in azure-pls-resource-group or the
// cloud config's privateLinkServiceResourceGroup, its NAT IP configurations in
// azure-pls-ip-configuration-subnet (default: the internal subnet, then the cloud config's).
func buildPLS(az *annotations.AzureConfig, s Settings, x ids, m *Model) *PrivateLinkService {
	if az.PLS == nil {
		return nil
	}
	c := az.PLS
	p := &PrivateLinkService{
		Name: c.Name, ResourceGroup: c.ResourceGroup, Location: s.Location,
		FrontendID:    child(x.loadBalancer(m.LoadBalancer.ResourceGroup, m.LoadBalancer.Name), "frontendIPConfigurations", m.Frontend.Name),
		IPCount:       max(c.IPCount, 1),
		FQDNs:         slices.Clone(c.FQDNs),
		ProxyProtocol: c.ProxyProtocol,
		Visibility:    slices.Clone(c.Visibility),
		AutoApproval:  slices.Clone(c.AutoApproval),
		Tags:          map[string]string{tagCluster: s.Cluster, tagOwnerService: m.Service},
	}
	if p.Name == "" {
		p.Name = "pls-" + m.Frontend.Name
	}
	if p.ResourceGroup == "" {
		p.ResourceGroup = s.PLSResourceGroup
	}
	if p.ResourceGroup == "" {
		p.ResourceGroup = s.ResourceGroup
	}
	subnet := c.Subnet
	if subnet == "" {
		subnet = s.SubnetName
	}
	p.SubnetID = x.subnet(s.VNetResourceGroup, s.VNetName, subnet)
	for _, a := range c.IPAddresses {
		p.IPAddresses = append(p.IPAddresses, a.String())
	}
	return p
}

// plsOwned reports whether the Private Link Service carries the cluster's and the Service's
// tags: only those are changed or deleted.
func plsOwned(p *armnetwork.PrivateLinkService, service, cluster string) bool {
	c, _ := tagValue(p.Tags, tagCluster, legacyTagCluster)
	o, _ := tagValue(p.Tags, tagOwnerService, tagOwnerService)
	return c == cluster && strings.EqualFold(o, service)
}

// plsServes reports whether the Private Link Service is attached to the frontend.
func plsServes(p *armnetwork.PrivateLinkService, frontendID string) bool {
	if p == nil || p.Properties == nil {
		return false
	}
	return slices.ContainsFunc(p.Properties.LoadBalancerFrontendIPConfigurations, func(f *armnetwork.FrontendIPConfiguration) bool {
		return f != nil && idEqual(sval(f.ID), frontendID)
	})
}

// plsIPConfigName names the i-th NAT IP configuration.
func plsIPConfigName(i int) string { return fmt.Sprintf("ipconfig-%d", i) }

// DiffPLS returns the Private Link Service to write for want over obs (nil when it does
// not exist) and the changes, empty when obs already matches. Fields cloudlb does not set
// (another tool's tags, private endpoint connections, access mode) are kept; the addresses
// Azure gave Dynamic NAT configurations are kept while their subnet does not change.
func DiffPLS(obs *armnetwork.PrivateLinkService, want *PrivateLinkService) (*armnetwork.PrivateLinkService, []string, error) {
	out := &armnetwork.PrivateLinkService{}
	if obs != nil {
		if err := deepCopy(obs, out); err != nil {
			return nil, nil, err
		}
	}
	var changes []string
	if obs == nil {
		changes = append(changes, "create")
		out.Location = to.Ptr(want.Location)
	}
	if out.Tags == nil {
		out.Tags = map[string]*string{}
	}
	for k, v := range want.Tags {
		if cur, ok := out.Tags[k]; !ok || sval(cur) != v {
			out.Tags[k] = to.Ptr(v)
			changes = append(changes, "tag "+k)
		}
	}
	if out.Properties == nil {
		out.Properties = &armnetwork.PrivateLinkServiceProperties{}
	}
	pr := out.Properties
	if fs := pr.LoadBalancerFrontendIPConfigurations; len(fs) != 1 || fs[0] == nil || !idEqual(sval(fs[0].ID), want.FrontendID) {
		pr.LoadBalancerFrontendIPConfigurations = []*armnetwork.FrontendIPConfiguration{{ID: to.Ptr(want.FrontendID)}}
		changes = append(changes, "frontend")
	}
	if cfgs, changed := plsIPConfigs(pr.IPConfigurations, want); changed {
		pr.IPConfigurations = cfgs
		changes = append(changes, "ipConfigurations")
	}
	if !sameStrings(pr.Fqdns, want.FQDNs) {
		pr.Fqdns = to.SliceOfPtrs(want.FQDNs...)
		changes = append(changes, "fqdns")
	}
	if pr.EnableProxyProtocol == nil || *pr.EnableProxyProtocol != want.ProxyProtocol {
		pr.EnableProxyProtocol = to.Ptr(want.ProxyProtocol)
		changes = append(changes, "enableProxyProtocol")
	}
	var vis, auto []*string
	if pr.Visibility != nil {
		vis = pr.Visibility.Subscriptions
	}
	if pr.AutoApproval != nil {
		auto = pr.AutoApproval.Subscriptions
	}
	if !sameStrings(vis, want.Visibility) {
		pr.Visibility = &armnetwork.PrivateLinkServicePropertiesVisibility{Subscriptions: to.SliceOfPtrs(want.Visibility...)}
		changes = append(changes, "visibility")
	}
	if !sameStrings(auto, want.AutoApproval) {
		pr.AutoApproval = &armnetwork.PrivateLinkServicePropertiesAutoApproval{Subscriptions: to.SliceOfPtrs(want.AutoApproval...)}
		changes = append(changes, "autoApproval")
	}
	return out, changes, nil
}

// plsIPConfigs returns the wanted NAT IP configurations and whether obs differs from them.
func plsIPConfigs(obs []*armnetwork.PrivateLinkServiceIPConfiguration, want *PrivateLinkService) ([]*armnetwork.PrivateLinkServiceIPConfiguration, bool) {
	byName := map[string]*armnetwork.PrivateLinkServiceIPConfiguration{}
	for _, c := range obs {
		if c != nil && c.Properties != nil {
			byName[strings.ToLower(sval(c.Name))] = c
		}
	}
	changed := len(obs) != int(want.IPCount)
	out := make([]*armnetwork.PrivateLinkServiceIPConfiguration, 0, want.IPCount)
	for i := range int(want.IPCount) {
		name := plsIPConfigName(i)
		cp := &armnetwork.PrivateLinkServiceIPConfigurationProperties{
			Primary: to.Ptr(i == 0), Subnet: &armnetwork.Subnet{ID: to.Ptr(want.SubnetID)},
			PrivateIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodDynamic),
			PrivateIPAddressVersion:   to.Ptr(armnetwork.IPVersionIPv4),
		}
		if i < len(want.IPAddresses) {
			cp.PrivateIPAllocationMethod, cp.PrivateIPAddress = to.Ptr(armnetwork.IPAllocationMethodStatic), to.Ptr(want.IPAddresses[i])
		}
		o := byName[name]
		switch {
		case o == nil || o.Properties.Subnet == nil || !idEqual(sval(o.Properties.Subnet.ID), want.SubnetID) ||
			(o.Properties.Primary != nil && *o.Properties.Primary) != (i == 0):
			changed = true
		case sval(cp.PrivateIPAllocationMethod) == string(armnetwork.IPAllocationMethodStatic):
			changed = changed || !strings.EqualFold(sval(o.Properties.PrivateIPAllocationMethod), string(armnetwork.IPAllocationMethodStatic)) ||
				sval(o.Properties.PrivateIPAddress) != sval(cp.PrivateIPAddress)
		default:
			if strings.EqualFold(sval(o.Properties.PrivateIPAllocationMethod), string(armnetwork.IPAllocationMethodStatic)) {
				changed = true
			} else {
				cp.PrivateIPAddress = o.Properties.PrivateIPAddress // keep Azure's choice
			}
		}
		out = append(out, &armnetwork.PrivateLinkServiceIPConfiguration{Name: to.Ptr(name), Properties: cp})
	}
	return out, changed
}

func sameStrings(have []*string, want []string) bool {
	if len(have) != len(want) {
		return false
	}
	for i, h := range have {
		if sval(h) != want[i] {
			return false
		}
	}
	return true
}

// reconcilePLS makes the Service's Private Link Service match m.PLS with at most one
// conditional write, after its frontend exists. It refuses to take over a Private Link
// Service that is not the Service's, and refuses a new azure-pls-name (or resource group)
// while the old Private Link Service still serves the frontend: as upstream, the name is
// fixed once created.
func (c *Cloud) reconcilePLS(ctx context.Context, m *Model) (string, error) {
	ctx = providers.WithStep(ctx, "the private link service differs from the Service")
	want := m.PLS
	id := ids{c.cfg.SubscriptionID}.privateLinkService(want.ResourceGroup, want.Name)
	for range maxConflictRetries {
		all, err := c.api.listPLS(ctx, want.ResourceGroup)
		if err != nil {
			return "", err
		}
		var obs *armnetwork.PrivateLinkService
		for _, p := range all {
			switch {
			case strings.EqualFold(sval(p.Name), want.Name):
				obs = p
			case plsServes(p, want.FrontendID) && plsOwned(p, m.Service, m.Cluster):
				return "", providers.NewUserError(m.Service, "service.beta.kubernetes.io/azure-pls-name: the Private Link Service %s already serves this Service and its name cannot change once created; set the annotation back to %q (or remove azure-pls-create, let it be deleted, then create it under the new name)", sval(p.Name), sval(p.Name))
			case plsServes(p, want.FrontendID):
				return "", providers.NewUserError(m.Service, "Private Link Service %s, not managed by cloudlb for this Service, is attached to its frontend; it is left untouched", sval(p.ID))
			}
		}
		if obs != nil && !plsOwned(obs, m.Service, m.Cluster) {
			return "", providers.NewUserError(m.Service, "Private Link Service %s exists without the tags %s=%s and %s=%s: it is not ours and is left untouched; choose another azure-pls-name", sval(obs.ID), tagCluster, m.Cluster, tagOwnerService, m.Service)
		}
		if obs != nil && !plsServes(obs, want.FrontendID) {
			// Azure cannot move a Private Link Service to another frontend: it is replaced.
			if err := c.deleteOwnedPLS(ctx, m.Service, m.Cluster, sval(obs.ID)); err != nil {
				return "", err
			}
			obs = nil
		}
		out, changes, err := DiffPLS(obs, want)
		if err != nil {
			return "", err
		}
		if len(changes) == 0 {
			return sval(obs.ID), nil
		}
		res, err := c.api.putPLS(ctx, want.ResourceGroup, want.Name, out)
		if isConflict(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		klog.FromContext(ctx).V(2).Info("Wrote Azure private link service", "service", m.Service, "privateLinkService", want.Name, "changes", changes)
		if res != nil && res.ID != nil {
			id = *res.ID
		}
		return id, nil
	}
	return "", fmt.Errorf("private link service %s: still changing under us after %d attempts", want.Name, maxConflictRetries)
}

// deleteOwnedPLS deletes the Private Link Service with this ID if it is the Service's; one
// that is not is left alone and reported as a UserError.
func (c *Cloud) deleteOwnedPLS(ctx context.Context, service, cluster, id string) error {
	ctx = providers.WithStep(ctx, "the Service no longer wants the private link service")
	rg, name := resourceGroupAndName(id)
	for range maxConflictRetries {
		p, err := c.api.getPLS(ctx, rg, name)
		if err != nil || p == nil {
			return err
		}
		if !plsOwned(p, service, cluster) {
			return providers.NewUserError(service, "Private Link Service %s, not managed by cloudlb for this Service, is attached to its frontend and blocks removing it; it is left untouched", id)
		}
		err = c.api.deletePLS(ctx, rg, name, sval(p.Etag))
		if isConflict(err) {
			continue
		}
		if err == nil {
			klog.FromContext(ctx).Info("Deleted Azure private link service", "service", service, "privateLinkService", id)
		}
		return err
	}
	return fmt.Errorf("private link service %s: still changing under us after %d attempts", id, maxConflictRetries)
}

var plsIDRE = regexp.MustCompile(`(?i)/subscriptions/[^/\s]+/resourceGroups/[^/\s]+/providers/Microsoft\.Network/privateLinkServices/[\w.-]*\w`)

// blockingPLS returns the Private Link Service named by an ARM refusal (400) to remove a
// load balancer or frontend it references, "" for other errors. The code of the load
// balancer's case is CannotDeleteLoadBalancerWithPrivateLinkService; the frontend's was not
// found in public material, so any 400 whose message names a Private Link Service counts.
func blockingPLS(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 {
		return ""
	}
	return plsIDRE.FindString(err.Error())
}

// ensurePLS creates or updates the Service's Private Link Service, or deletes the one it
// had when azure-pls-create went away (known since this process placed the Service; after
// a restart such a leftover goes with the Service). It returns the Private Link Service's
// ID, "" without one.
func (c *Cloud) ensurePLS(ctx context.Context, svc *v1.Service, m *Model) (string, error) {
	prev, known := c.placement(svc.UID)
	if m.PLS == nil {
		if known && prev.plsID != "" {
			return "", c.deleteOwnedPLS(ctx, m.Service, m.Cluster, prev.plsID)
		}
		return "", nil
	}
	want := ids{c.cfg.SubscriptionID}.privateLinkService(m.PLS.ResourceGroup, m.PLS.Name)
	if known && prev.plsID != "" && !idEqual(prev.plsID, want) {
		rg, name := resourceGroupAndName(prev.plsID)
		old, err := c.api.getPLS(ctx, rg, name)
		if err != nil {
			return "", err
		}
		if plsServes(old, m.PLS.FrontendID) {
			return "", providers.NewUserError(m.Service, "service.beta.kubernetes.io/azure-pls-name, azure-pls-resource-group: the Private Link Service %s already serves this Service and cannot be renamed or moved once created; set the annotations back (or remove azure-pls-create, let it be deleted, then create it anew)", prev.plsID)
		}
		if old != nil && plsOwned(old, m.Service, m.Cluster) {
			if err := c.deleteOwnedPLS(ctx, m.Service, m.Cluster, prev.plsID); err != nil {
				return "", err
			}
		}
	}
	return c.reconcilePLS(ctx, m)
}

// deleteKnownPLS deletes, before the frontend goes, the Private Link Service the Service
// had when this process last placed it or that its annotations name. Others still
// attached are found when ARM refuses to remove the frontend (reconcileLB).
func (c *Cloud) deleteKnownPLS(ctx context.Context, svc *v1.Service, az *annotations.AzureConfig, m *Model) error {
	var cands []string
	if prev, known := c.placement(svc.UID); known && prev.plsID != "" {
		cands = append(cands, prev.plsID)
	}
	if az != nil && az.PLS != nil {
		s := c.cfg.settings(m.Cluster)
		if built := buildPLS(az, s, ids{s.SubscriptionID}, &Model{Service: m.Service,
			LoadBalancer: LoadBalancer{Name: loadBalancerName(s.LoadBalancerName, az.Internal), ResourceGroup: s.LoadBalancerResourceGroup},
			Frontend:     Frontend{Name: frontendName(m.Prefix, az.InternalSubnet)}}); built != nil {
			id := ids{s.SubscriptionID}.privateLinkService(built.ResourceGroup, built.Name)
			if !slices.ContainsFunc(cands, func(c string) bool { return idEqual(c, id) }) {
				cands = append(cands, id)
			}
		}
	}
	for _, id := range cands {
		if err := c.deleteOwnedPLS(ctx, m.Service, m.Cluster, id); err != nil && !providers.IsUserError(err) {
			return err
		}
	}
	return nil
}
