package azure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

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

// DiffPLS is the body of the Private Link Service's PUT in a Plan (diffPLS): want over obs
// (nil when it does not exist), and the changes, empty when obs already matches. Fields cloudlb does not set
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

// diffPLS plans the Service's Private Link Service to match m.PLS, after its frontend
// exists: one PUT, preceded by the DELETE of the one of that name when it serves another
// frontend (Azure cannot move it). It refuses to take over a Private Link Service that is not
// the Service's, and a new azure-pls-name (or resource group) while the old Private Link
// Service still serves the frontend: as upstream, the name is fixed once created.
func diffPLS(m *Model, o *Observed, x ids) (*Plan, error) {
	want := m.PLS
	var obs *armnetwork.PrivateLinkService
	for _, p := range o.PLSLists[strings.ToLower(want.ResourceGroup)] {
		switch {
		case strings.EqualFold(sval(p.Name), want.Name):
			obs = p
		case plsServes(p, want.FrontendID) && plsOwned(p, m.Service, m.Cluster):
			return nil, providers.NewUserError(m.Service, "service.beta.kubernetes.io/azure-pls-name: the Private Link Service %s already serves this Service and its name cannot change once created; set the annotation back to %q (or remove azure-pls-create, let it be deleted, then create it under the new name)", sval(p.Name), sval(p.Name))
		case plsServes(p, want.FrontendID):
			return nil, providers.NewUserError(m.Service, "Private Link Service %s, not managed by cloudlb for this Service, is attached to its frontend; it is left untouched", sval(p.ID))
		}
	}
	if obs != nil && !plsOwned(obs, m.Service, m.Cluster) {
		return nil, providers.NewUserError(m.Service, "Private Link Service %s exists without the tags %s=%s and %s=%s: it is not ours and is left untouched; choose another azure-pls-name", sval(obs.ID), tagCluster, m.Cluster, tagOwnerService, m.Service)
	}
	p := &Plan{}
	if obs != nil && !plsServes(obs, want.FrontendID) {
		// Azure cannot move a Private Link Service to another frontend: it is replaced.
		p.Writes = append(p.Writes, del(x, typePLS, want.ResourceGroup, want.Name, sval(obs.Etag), stepDropPLS))
		obs = nil
	}
	out, changes, err := DiffPLS(obs, want)
	if err != nil {
		return nil, err
	}
	if len(changes) > 0 {
		p.Writes = append(p.Writes, put(x, typePLS, want.ResourceGroup, want.Name, out, out.Etag, changes, stepPLS))
	}
	return p, nil
}

// plsID is the ID of the Service's Private Link Service as ARM spells it once listed (or
// written), else as derived from its name.
func plsID(m *Model, o *Observed, x ids) string {
	for _, p := range o.PLSLists[strings.ToLower(m.PLS.ResourceGroup)] {
		if strings.EqualFold(sval(p.Name), m.PLS.Name) && sval(p.ID) != "" {
			return sval(p.ID)
		}
	}
	return x.privateLinkService(m.PLS.ResourceGroup, m.PLS.Name)
}

// diffDropPLS plans deleting the Private Link Service id, read by observePLS, if it is the
// Service's; one that is not is left alone and reported as a UserError.
func diffDropPLS(service, cluster, id string, o *Observed, x ids) (*Plan, error) {
	rg, name := resourceGroupAndName(id)
	p := o.PrivateLinkServices[key(rg, name)]
	switch {
	case p == nil:
		return &Plan{}, nil
	case !plsOwned(p, service, cluster):
		return nil, providers.NewUserError(service, "Private Link Service %s, not managed by cloudlb for this Service, is attached to its frontend and blocks removing it; it is left untouched", id)
	}
	return &Plan{Writes: []Write{del(x, typePLS, rg, name, sval(p.Etag), stepDropPLS)}}, nil
}

// diffPreviousPLS plans what becomes of the Private Link Service id the Service had (known
// since this process placed it) when azure-pls-create went away (it is deleted) or its name
// or resource group changed: refused while it still serves the frontend, else deleted when
// it is the Service's.
func diffPreviousPLS(m *Model, id string, o *Observed, x ids) (*Plan, error) {
	if m.PLS == nil {
		return diffDropPLS(m.Service, m.Cluster, id, o, x)
	}
	rg, name := resourceGroupAndName(id)
	old := o.PrivateLinkServices[key(rg, name)]
	switch {
	case plsServes(old, m.PLS.FrontendID):
		return nil, providers.NewUserError(m.Service, "service.beta.kubernetes.io/azure-pls-name, azure-pls-resource-group: the Private Link Service %s already serves this Service and cannot be renamed or moved once created; set the annotations back (or remove azure-pls-create, let it be deleted, then create it anew)", id)
	case old != nil && plsOwned(old, m.Service, m.Cluster):
		return &Plan{Writes: []Write{del(x, typePLS, rg, name, sval(old.Etag), stepDropPLS)}}, nil
	}
	return &Plan{}, nil
}

// knownPLS are the Private Link Services a Service being deleted may have, deleted before its
// frontend goes: the one this process last placed (prevID) and the one its annotations name
// (az may be nil). Others still attached are found when ARM refuses to remove the frontend
// (converge).
func knownPLS(prevID string, az *annotations.AzureConfig, s Settings, service, prefix string) []string {
	var ids []string
	if prevID != "" {
		ids = append(ids, prevID)
	}
	if az == nil || az.PLS == nil {
		return ids
	}
	x := idsOf(s)
	built := buildPLS(az, s, x, &Model{Service: service,
		LoadBalancer: LoadBalancer{Name: loadBalancerName(s.LoadBalancerName, az.Internal), ResourceGroup: s.LoadBalancerResourceGroup},
		Frontend:     Frontend{Name: frontendName(prefix, az.InternalSubnet)}})
	if built == nil {
		return ids
	}
	if id := x.privateLinkService(built.ResourceGroup, built.Name); !slices.ContainsFunc(ids, func(c string) bool { return idEqual(c, id) }) {
		ids = append(ids, id)
	}
	return ids
}
