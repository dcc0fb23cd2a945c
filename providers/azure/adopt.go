package azure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/cloudlb/cloudlb/providers"
)

// Adoption of the load balancers the upstream cloud-provider-azure made.
//
// Upstream names the cluster's load balancers as cloudlb does (<base>, <base>-internal, in
// loadBalancerResourceGroup) but never tags them: its ListManagedLBs goes by name alone
// (azure_loadbalancer.go). cloudlb trusts a load balancer with that name when it carries
// k8s-azure-cluster-name=<cluster>, or, untagged, when it holds evidence that upstream made it
// for this cluster's Services: a frontend, rule or probe named with the Service's prefix
// a<uid> (upstream's GetLoadBalancerName and getLoadBalancerRuleName derive them from the
// Service UID, which no other cluster has), or a frontend on a public IP upstream tagged as
// this cluster's (k8s-azure-cluster-name, or the legacy kubernetes-cluster-name, with
// k8s-azure-service; ensurePublicIPExists). The write that adopts it adds the cluster tag, in
// the same conditional PUT as the Service's other changes, so later reconciles (and other
// Services) find it tagged. One tagged for another cluster is never adopted.
//
// Backend pools: upstream's default (loadBalancerBackendPoolConfigurationType
// nodeIPConfiguration) pool <cluster> is NIC-based: the NICs and scale set VMs reference it,
// the pool only shows them in backendIPConfigurations. ARM refuses IP addresses in such a
// pool (no mixing) and changes NIC membership only on the NICs, so the pool cannot become
// IP-based in one load balancer write. cloudlb keeps that pool as it is (NICs, untouched,
// still in it) and adds, in the same conditional PUT that moves the Service's rules, its
// IP-based pool <pool>-cloudlb holding the nodes: the rules switch from one populated pool
// to another, never to an empty one. A pool <cluster> without NICs (upstream's nodeIP mode,
// or cloudlb's own) is used as it is.

// sidePoolSuffix names cloudlb's IP-based pool next to upstream's NIC-based one.
const sidePoolSuffix = "-cloudlb"

// ownership says whether the load balancer as observed may be written for m: ok, and why when
// it is adopted rather than tagged ("" when tagged).
func ownership(lb *armnetwork.LoadBalancer, m *Model, o *Observed) (ok bool, adopted string) {
	if v, tagged := tagValue(lb.Tags, tagCluster, legacyTagCluster); tagged {
		return v == m.Cluster, ""
	}
	if lb.Properties == nil {
		return false, ""
	}
	p := lb.Properties
	for _, f := range p.FrontendIPConfigurations {
		if ownedBy(sval(f.Name), m.Prefix) {
			return true, fmt.Sprintf("frontend %s is named with the Service's UID", sval(f.Name))
		}
		if f.Properties != nil && f.Properties.PublicIPAddress != nil {
			if pip := o.publicIPByID(sval(f.Properties.PublicIPAddress.ID)); pip != nil && upstreamClusterPIP(pip, m.Cluster) {
				return true, fmt.Sprintf("public IP %s of frontend %s is tagged as cluster %s's", sval(pip.Name), sval(f.Name), m.Cluster)
			}
		}
	}
	for _, r := range p.LoadBalancingRules {
		if ownedBy(sval(r.Name), m.Prefix) {
			return true, fmt.Sprintf("rule %s is named with the Service's UID", sval(r.Name))
		}
	}
	for _, pr := range p.Probes {
		if ownedBy(sval(pr.Name), m.Prefix) {
			return true, fmt.Sprintf("probe %s is named with the Service's UID", sval(pr.Name))
		}
	}
	return false, ""
}

// upstreamClusterPIP reports whether upstream tagged the public IP as a managed one of
// cluster: a service tag and the cluster tag (or its legacy key) equal to cluster.
func upstreamClusterPIP(p *armnetwork.PublicIPAddress, cluster string) bool {
	_, managed := pipServices(p)
	c, ok := tagValue(p.Tags, tagCluster, legacyTagCluster)
	return managed && ok && c == cluster
}

// publicIPByID is an observed public IP by its ID (read by name or listed), nil if not read.
func (o *Observed) publicIPByID(id string) *armnetwork.PublicIPAddress {
	rg, name := resourceGroupAndName(id)
	if p := o.PublicIPs[key(rg, name)]; p != nil {
		return p
	}
	for _, p := range o.PublicIPLists[strings.ToLower(rg)] {
		if idEqual(sval(p.ID), id) {
			return p
		}
	}
	return nil
}

// checkOwnership refuses a load balancer that is not the cluster's (a UserError) and says,
// for the log, why an untagged one is adopted.
func checkOwnership(lb *armnetwork.LoadBalancer, m *Model, o *Observed) (string, error) {
	if lb == nil {
		return "", nil
	}
	ok, why := ownership(lb, m, o)
	if !ok {
		return "", providers.NewUserError(m.Service, "load balancer %s exists without the tag %s=%s and holds nothing of this Service (no frontend, rule or probe named %s, no public IP tagged as the cluster's); it is not ours and is left untouched",
			sval(lb.Name), tagCluster, m.Cluster, m.Prefix)
	}
	return why, nil
}

// adoptTags adds the cluster tag to a load balancer adopted from upstream, and keeps the
// Service's replacement key tag (replaceKeyLBTag) when the key lives on the load balancer.
func adoptTags(lb *armnetwork.LoadBalancer, m *Model, remove bool) []string {
	var changes []string
	if lb.Tags == nil {
		lb.Tags = map[string]*string{}
	}
	if _, tagged := tagValue(lb.Tags, tagCluster, legacyTagCluster); !tagged {
		lb.Tags[tagCluster] = to.Ptr(m.Cluster)
		changes = append(changes, fmt.Sprintf("adopt: tag %s=%s", tagCluster, m.Cluster))
	}
	k := replaceKeyLBTag(m.Prefix)
	cur, has := lb.Tags[k]
	switch {
	case !remove && m.ReplaceKey == "":
		// A model without a key (a node update) leaves the recorded one alone.
	case remove || !m.KeyOnLB:
		if has {
			delete(lb.Tags, k)
			changes = append(changes, "untag "+k)
		}
	case has && sval(cur) == m.ReplaceKey:
	case !has && len(lb.Tags) >= maxTags:
		// Azure's limit: the key is not recorded, so a replacement stays refused (the
		// refusal says so); the Service keeps being served.
	default:
		lb.Tags[k] = to.Ptr(m.ReplaceKey)
		changes = append(changes, "tag "+k)
	}
	return changes
}

// withPools is m with its pools on the load balancer as observed: the side pool
// <pool>-cloudlb when the cluster pool is NIC-based or the side pool exists already.
func withPools(m *Model, lb *armnetwork.LoadBalancer) *Model {
	out := *m
	out.Pool.Name = poolName(lb, m.Pool.Name)
	if m.IPv6 != nil {
		v6 := *m.IPv6
		v6.Pool.Name = poolName(lb, v6.Pool.Name)
		out.IPv6 = &v6
	}
	return &out
}

// poolName is the pool cloudlb keeps the nodes in on lb: name, or name+sidePoolSuffix when
// name is NIC-based there (or was: the side pool exists).
func poolName(lb *armnetwork.LoadBalancer, name string) string {
	if lb == nil || lb.Properties == nil {
		return name
	}
	side := name + sidePoolSuffix
	pools := lb.Properties.BackendAddressPools
	if slices.ContainsFunc(pools, func(b *armnetwork.BackendAddressPool) bool { return strings.EqualFold(sval(b.Name), side) }) {
		return side
	}
	i := slices.IndexFunc(pools, func(b *armnetwork.BackendAddressPool) bool { return strings.EqualFold(sval(b.Name), name) })
	if i >= 0 && pools[i].Properties != nil && len(pools[i].Properties.BackendIPConfigurations) > 0 {
		return side
	}
	return name
}
