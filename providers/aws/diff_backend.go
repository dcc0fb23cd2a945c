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
		rules = withGroupID(rules, backendGroupRef, g.id)
	}
	d.authorizeMissing(whyBackend, n.want, rules)
	d.groups = append(d.groups, g)
	return nil
}

// whyLeaveBackend is the reason of the writes that move an NLB off the backend group.
const whyLeaveBackend = "the cloud config asks for per-Service node rules (NLBBackendSecurityGroup = PerService)"

// leaveBackend authorizes, for an NLB that carries the backend group in the PerService mode,
// its per-Service node rules before loadBalancer detaches the group (one SetSecurityGroups:
// the model's groups are the NLB's own), so the nodes never refuse its traffic; they are
// the rules cloud-provider-aws looks for when it takes the NLB back.
func (d *nlbDiff) leaveBackend() {
	b, n, lb := d.o.leaving, d.o.nodes, d.o.lb
	if b == nil || n == nil || !slices.Contains(lb.groups, b.ID) {
		return
	}
	rules := d.m.NodeRules
	if len(d.groups) > 0 && d.groups[0].id != "" && d.m.ManagedSecurityGroup != nil {
		rules = withGroupID(rules, managedGroupRef, d.groups[0].id) // else Apply resolves managedGroupRef
	}
	d.authorizeMissing(whyLeaveBackend, n.want, rules)
}

// authorizeMissing adds, for each node group of want that still exists, one authorize of the
// rules it lacks, and records them in the diff's view of the groups.
func (d *nlbDiff) authorizeMissing(why string, want map[string]bool, rules []Rule) {
	for _, id := range slices.Sorted(maps.Keys(want)) {
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
			d.p.steps.add(why, "", authorizeIngress{group: known(id), rules: add})
			d.view.change(id, add, nil)
		}
	}
}

// dropBackend deletes the backend group when no other load balancer holds it: the rules
// that let it in first (AWS refuses the delete while one does), after loadBalancer detached
// it from this NLB. DependencyViolation while the NLB's interfaces let go is transient; the
// next reconcile, which reads everything since the spec hash is written last, tries again.
func (d *nlbDiff) dropBackend() {
	b := d.o.leaving
	if b == nil || !d.o.leavingLast {
		return
	}
	d.p.steps.add(whyLeaveBackend, "", revokeAllWrites(d.view, b.ID, d.o.leavingUsers)...)
	d.p.steps.add(whyLeaveBackend, "", deleteSecurityGroup{id: b.ID})
}
