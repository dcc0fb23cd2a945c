package aws

import (
	"maps"
	"slices"

	"github.com/cloudlb/cloudlb/providers"
)

// whyBackend is the reason of the backend group's writes.
const whyBackend = "the NLB's node rules come from the cluster's shared backend security group"

// backendGroup plans the cluster's backend group: created on first need (adopted when a
// concurrent reconcile created it first), its shared rules added to the node groups of the
// NLB's instances that lack them, and the group added to the NLB's groups. It runs before
// loadBalancer (which attaches it) and nodeRules (which revokes the NLB's per-Service
// rules), so an NLB that had those moves without a moment the nodes refuse its traffic.
func (d *nlbDiff) backendGroup() error {
	b, n := d.m.BackendGroup, d.o.nodes
	if b == nil || n == nil {
		return nil
	}
	g := toCreate(backendGroupRef)
	if have := d.o.backend; have != nil {
		if foreignCluster(have.Tags, d.m.Cluster) {
			return providers.NewUserError(d.m.Service, "the NLBs' backend security group %s also carries another cluster's tag; remove it, or the other cluster's", have.ID)
		}
		g = known(have.ID)
	} else {
		sg := &SecurityGroup{Name: b.Name, Description: b.Description, Tags: b.Tags}
		d.p.steps.add(whyBackend, "", createSecurityGroup{sg: sg, cluster: d.m.Cluster, service: d.m.Service, backend: true})
	}
	rules := b.NodeRules
	if g.id != "" {
		rules = withBackendID(rules, g.id)
	}
	for _, id := range slices.Sorted(maps.Keys(n.want)) {
		v, ok := d.view[id]
		if !ok {
			continue // gone
		}
		var add []Rule
		for _, r := range rules {
			if !slices.ContainsFunc(v.Rules, func(x Rule) bool { return x.key() == r.key() }) {
				add = append(add, r)
			}
		}
		if len(add) > 0 {
			d.p.steps.add(whyBackend, "", authorizeIngress{group: known(id), rules: add})
			d.view.change(id, add, nil)
		}
	}
	d.groups = append(d.groups, g)
	return nil
}
