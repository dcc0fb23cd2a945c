package aws

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cloudlb/cloudlb/providers"
)

// Reasons of the NLB plan's steps, as the audit trail reports them.
const (
	whyNewNLB       = "the Service has no NLB yet"
	whyNLBDiffers   = "the NLB differs from the Service"
	whyReplaceNLB   = "replacing the NLB: its scheme, pinned addresses, IPv6 source NAT or having security groups at all is fixed at creation"
	whyStaleTG      = "no listener of the NLB uses the target group any more"
	whyTypeToNLB    = "the Service's load balancer type changed to NLB"
	whyNodesChanged = "the Service's eligible nodes changed"
)

// nlbPlan is what diffNLB decided for an NLB Service.
type nlbPlan struct {
	// upToDate says the NLB's spec hash matches the model: nothing is written.
	upToDate bool
	steps    steps
	// lb is the NLB once the plan is applied: the observed one, or the one the plan creates.
	lb ref
	// dns is the observed NLB's DNS name ("" when the plan creates it).
	dns string
	// targetGroups are the model's target groups once the plan is applied, by name; nil for
	// a plan that reads none (the spec hash matched).
	targetGroups map[string]ref
	// tags are the NLB's tags once the plan is applied.
	tags map[string]string
	// retiresClassic says the plan deletes the Classic Load Balancer of a type change.
	retiresClassic bool
	// left are objects with the NLB's name that the plan leaves alone, for the log.
	left []string
	// waiting are the listeners that keep their old target group (weighted 1, the new one
	// 0) until the new group's targets are healthy; the caller retries soon.
	waiting []string
}

// nlbDiff is one run of diffNLB: the model, the observation, the plan so far and the view
// of the security groups as its writes leave them.
type nlbDiff struct {
	m *NLBModel
	o *nlbObservation
	p *nlbPlan
	// why is the reason of the plan's steps but those that give their own.
	why  string
	view groupView
	// groups are the NLB's security groups; groupDeleted says the plan deletes k8s-elb-<name>.
	groups       []ref
	groupDeleted bool
	// have are the model's target groups that exist, by name: found by name, or adopted
	// (adopt); staged are the groups that keep serving while their successors' targets
	// become healthy (moveListener).
	have   map[string]*observedTargetGroup
	staged []string
}

// diffNLB compares the desired NLB with what Observe read and returns the writes that make
// the cloud match, in order: the managed group and its rules, the replacement of an NLB that
// cannot change in place, the NLB itself, its target groups and targets, listeners and
// attributes, target groups no listener uses, the node rules, what a type change from a
// Classic Load Balancer left, and the tags with the spec hash last, so a failure anywhere
// leaves a hash that makes the next reconcile read everything again. It is pure.
func diffNLB(m *NLBModel, o *nlbObservation) (*nlbPlan, error) {
	if err := nlbOwnership(m, o); err != nil {
		return nil, err
	}
	p := &nlbPlan{}
	if o.lb != nil && !o.full { // the spec hash matches: every part is as the model says
		p.upToDate, p.lb, p.dns, p.tags = true, known(o.lb.arn), o.lb.dns, o.lb.tags
		return p, nil
	}
	d := &nlbDiff{m: m, o: o, p: p, why: whyNewNLB, view: groupView{}}
	if o.lb != nil {
		d.why = whyNLBDiffers
	}
	if o.nodes != nil {
		d.view.add(slices.Collect(maps.Values(o.nodes.groups))...)
	}
	d.view.add(o.groupUsers...)
	d.view.add(o.leavingUsers...)
	if err := d.managedGroup(); err != nil {
		return nil, err
	}
	if err := d.backendGroup(); err != nil {
		return nil, err
	}
	d.leaveBackend()
	d.loadBalancer()
	d.targetGroups()
	d.listeners()
	d.attributes()
	d.staleTargetGroups()
	d.nodeRules()
	d.dropBackend()
	if err := d.retireClassic(); err != nil {
		return nil, err
	}
	d.dropGroup()
	d.tags()
	return p, nil
}

// add appends writes made for the plan's reason.
func (d *nlbDiff) add(ws ...write) { d.p.steps.add(d.why, "", ws...) }

// nlbOwnership refuses an NLB with the model's name that is not the Service's, and a new one
// under a name the Service has not had (aws-load-balancer-name changed).
func nlbOwnership(m *NLBModel, o *nlbObservation) error {
	if o.lb == nil {
		return renamed(m.Service, m.Name, o.others)
	}
	if !owned(o.lb.tags, m.Cluster) {
		return providers.NewUserError(m.Service, "load balancer %s already exists without the tag %s=%s; it is not ours and is left untouched", m.Name, clusterTag(m.Cluster), tagOwned)
	}
	return ownedBy(o.lb.tags, m.Service, m.Name)
}

// managedGroup plans the managed group and makes its rules exactly the model's; it sets the
// groups the NLB must have (the managed one, or the user's, or none).
func (d *nlbDiff) managedGroup() error {
	sg := d.m.ManagedSecurityGroup
	if sg == nil {
		d.groups = refs(d.m.SecurityGroups)
		return nil
	}
	g := d.o.group
	var have []Rule
	switch {
	case g == nil:
		d.add(createSecurityGroup{sg: sg, cluster: d.m.Cluster, service: d.m.Service, managed: true})
		d.groups = []ref{toCreate(sg.Name)}
	case !owned(g.Tags, d.m.Cluster):
		return providers.NewUserError(d.m.Service, "security group %s already exists without the tag %s=%s; it is not ours and is left untouched", sg.Name, clusterTag(d.m.Cluster), tagOwned)
	default:
		if err := ownedBy(g.Tags, d.m.Service, sg.Name); err != nil {
			return err
		}
		d.groups, have = []ref{known(g.ID)}, g.Rules
	}
	add, remove := exactRules(have, sg.Rules)
	if len(add) > 0 {
		d.add(authorizeIngress{group: d.groups[0], rules: add})
	}
	if len(remove) > 0 {
		d.add(revokeIngress{group: d.groups[0], rules: remove})
	}
	return nil
}

// loadBalancer plans the NLB: its replacement when AWS fixed what differs at creation, its
// creation, or the changes AWS makes in place (groups, IP address type, subnets).
func (d *nlbDiff) loadBalancer() {
	m, lb := d.m, d.o.lb
	if lb != nil && d.o.replace {
		// The name is fixed by the Service UID, so the NLB goes first; its target groups stay
		// (the new one takes them over with their targets), and so does a managed group. Its
		// node rules are found by its name in their descriptions.
		if d.o.nodes != nil {
			ids := taggedGroups(lb.tags)
			maps.Copy(ids, d.o.nodes.vpc)
			d.p.steps.add(whyReplaceNLB, "", nlbRuleWrites(d.view, ids, lb.name, func(string) []Rule { return nil })...)
		}
		d.p.steps.add(whyReplaceNLB, "", deleteNLB{lb: lb, unprotect: m.Attributes[attrDeletionProtection] != "true"})
	}
	enforce := cmp.Or(m.PrivateLinkInboundRules, enforceOn)
	if lb == nil || d.o.replace {
		d.p.lb = toCreate(m.Name)
		d.add(createNLB{m: m, groups: d.groups})
		// AWS creates an NLB with groups enforcing their rules on PrivateLink traffic.
		if len(d.groups) > 0 && enforce != enforceOn {
			d.add(setNLBSecurityGroups{m: m, lb: d.p.lb, groups: d.groups, enforce: enforce})
		}
		return
	}
	d.p.lb, d.p.dns = known(lb.arn), lb.dns
	if len(d.groups) > 0 && (!sameSet(refIDs(d.groups), lb.groups) || cmp.Or(lb.enforce, enforceOn) != enforce) {
		d.add(setNLBSecurityGroups{m: m, lb: d.p.lb, groups: d.groups, enforce: enforce})
	}
	if want := cmp.Or(m.IPAddressType, string(v2types.IpAddressTypeIpv4)); cmp.Or(lb.ipType, string(v2types.IpAddressTypeIpv4)) != want {
		d.add(setIPAddressType{lb: d.p.lb, ipType: want})
	}
	if !slices.Equal(lb.subnets, m.Subnets) {
		d.add(setSubnets{lb: d.p.lb, subnets: m.Subnets})
	}
}

// refIDs are the IDs of the refs to existing objects; a ref to one the plan creates gives "".
func refIDs(rs []ref) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.id
	}
	return out
}

// nodeRules plans the NLB's rules in each node group: exactly m.NodeRules in the groups of
// its instances, none in the groups its tag lists that no instance uses any more.
func (d *nlbDiff) nodeRules() {
	n := d.o.nodes
	if n == nil {
		return
	}
	rules := d.m.NodeRules
	if len(d.groups) > 0 && d.groups[0].id != "" && d.m.ManagedSecurityGroup != nil {
		rules = withGroupID(rules, managedGroupRef, d.groups[0].id) // else Apply resolves managedGroupRef
	}
	all := maps.Clone(n.want)
	if d.o.lb != nil && !d.o.replace {
		maps.Copy(all, taggedGroups(d.o.lb.tags))
	}
	d.add(nlbRuleWrites(d.view, all, d.m.Name, func(id string) []Rule {
		if n.want[id] {
			return rules
		}
		return nil
	})...)
}

// retireClassic plans deleting the Classic Load Balancer a type change left under the NLB's
// name, and its managed group: kept when the NLB takes it over (only the Classic Load
// Balancer's rules in the node groups go), else deleted once nothing refers to it.
func (d *nlbDiff) retireClassic() error {
	m, wrap := d.m, fmt.Sprintf("deleting load balancer %s", d.m.Name)
	if cl := d.o.classic; cl != nil && cl.Exists {
		if ownedBy(cl.Tags, m.Service, m.Name) != nil {
			return nil // another Service's is left with its group
		}
		if !owned(cl.Tags, m.Cluster) {
			return providers.NewUserError(m.Service, "load balancer %s exists without the tag %s=%s; it is not ours and is not deleted", m.Name, clusterTag(m.Cluster), tagOwned)
		}
		d.p.steps.add(whyTypeToNLB, wrap, deleteCLB{name: m.Name})
		d.p.retiresClassic = true
	}
	g := d.o.group
	if g == nil {
		return nil
	}
	if !owned(g.Tags, m.Cluster) || ownedBy(g.Tags, m.Service, m.Name) != nil {
		d.p.left = append(d.p.left, g.ID)
		return nil
	}
	if m.ManagedSecurityGroup != nil {
		// The NLB took the group over: only the Classic Load Balancer's all-traffic rules go.
		for _, id := range d.view.users(g.ID, d.o.groupUsers) {
			if slices.ContainsFunc(d.view.from(id, g.ID), func(r Rule) bool { return r.Protocol == "-1" }) {
				d.p.steps.add(whyTypeToNLB, wrap, revokeLBIngress{group: id, source: g.ID})
			}
		}
		return nil
	}
	// Node groups that let it in must forget it first, or the delete never succeeds.
	d.p.steps.add(whyTypeToNLB, wrap, revokeAllWrites(d.view, g.ID, d.o.groupUsers)...)
	d.p.steps.add(whyTypeToNLB, wrap, deleteSecurityGroup{id: g.ID})
	d.groupDeleted = true
	return nil
}

// dropGroup plans deleting the managed group of an NLB that no longer has one (or kept it
// through a replacement), once nothing refers to it.
func (d *nlbDiff) dropGroup() {
	g := d.o.group
	if d.o.lb == nil || d.m.ManagedSecurityGroup != nil || g == nil || !owned(g.Tags, d.m.Cluster) || d.groupDeleted {
		return
	}
	d.add(revokeAllWrites(d.view, g.ID, d.o.groupUsers)...)
	d.add(deleteSecurityGroup{id: g.ID})
}

// tags plans the model's tags and the bookkeeping ones, the spec hash among them, written
// last; and the removal of the additional tags set before that the Service no longer lists.
func (d *nlbDiff) tags() {
	m, have := d.m, map[string]string{}
	if d.o.lb != nil && !d.o.replace {
		have = d.o.lb.tags
	}
	nodeGroups := ""
	if d.o.nodes != nil {
		nodeGroups = nodeGroupsTag(d.o.nodes.want)
	}
	set := map[string]string{tagSpecHash: m.Hash(), tagNodeGroups: nodeGroups}
	if len(d.p.waiting) > 0 {
		delete(set, tagSpecHash) // not applied yet: the next reconcile reads everything
	}
	var keys []string
	for k, v := range m.Tags {
		if have[k] != v {
			set[k] = v
		}
		if userTag(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if v := strings.Join(keys, ","); len(v) <= 256 {
		set[tagUserKeys] = v
	}
	var remove []string
	for k := range strings.SplitSeq(have[tagUserKeys], ",") {
		if _, want := m.Tags[k]; k != "" && !want && !strings.HasPrefix(k, "cloudlb.io/") {
			if _, present := have[k]; present {
				remove = append(remove, k)
			}
		}
	}
	slices.Sort(remove)
	if len(remove) > 0 {
		d.add(removeNLBTags{lb: d.p.lb, keys: remove})
	}
	d.add(addNLBTags{lb: d.p.lb, tags: set})
	d.p.tags = maps.Clone(have)
	for _, k := range remove {
		delete(d.p.tags, k)
	}
	maps.Copy(d.p.tags, set)
}

// nlbTargetsUsable reports whether the state the last apply left (st) can stand for the
// cloud on a node change: everything but the instances matches m, and the target groups'
// ARNs are known. Diff's part of the fast path, before the node groups are read.
func nlbTargetsUsable(m *NLBModel, st nlbState) bool {
	if len(st.targetGroups) == 0 {
		return false
	}
	before := *m
	before.Instances = st.instances
	if before.Hash() != st.tags[tagSpecHash] {
		return false
	}
	for _, tg := range m.TargetGroups {
		if st.targetGroups[tg.Name] == "" {
			return false
		}
	}
	return true
}

// diffNLBTargets is the node-change fast path: with the cached state usable and the
// instances' security groups those holding the NLB's node rules, it registers and
// deregisters targets in each target group and writes the new spec hash. ok false means the
// full reconcile is needed.
func diffNLBTargets(m *NLBModel, o *nlbTargetsObservation) (s steps, ok bool) {
	st := o.last
	if o.nodeGroups != nil && *o.nodeGroups != st.tags[tagNodeGroups] {
		return nil, false
	}
	if slices.Equal(m.Instances, st.instances) {
		return nil, true
	}
	wrap := fmt.Sprintf("updating NLB %s targets", m.Name)
	add, remove := setDiff(m.Instances, st.instances)
	for _, tg := range m.TargetGroups {
		arn := known(st.targetGroups[tg.Name])
		if len(add) > 0 {
			s.add(whyNodesChanged, wrap, registerTargets{tg: arn, port: tg.Port, ids: add})
		}
		if len(remove) > 0 {
			s.add(whyNodesChanged, wrap, deregisterTargets{tg: arn, port: tg.Port, ids: remove})
		}
	}
	s.add(whyNodesChanged, wrap, addNLBTags{lb: known(st.arn), tags: map[string]string{tagSpecHash: m.Hash()}})
	return s, true
}

// exactRules are the rules to add and remove so that have becomes want (descriptions aside).
func exactRules(have, want []Rule) (add, remove []Rule) {
	keep := map[string]bool{}
	for _, r := range want {
		keep[r.key()] = true
	}
	present := map[string]bool{}
	for _, r := range have {
		present[r.key()] = true
		if !keep[r.key()] {
			remove = append(remove, r)
		}
	}
	for _, r := range want {
		if !present[r.key()] {
			add = append(add, r)
		}
	}
	return add, remove
}

// nlbMustReplace reports whether o differs from m in something AWS fixes at creation: the
// scheme, the pinned addresses, IPv6 source NAT, or having security groups at all.
func nlbMustReplace(m *NLBModel, o *nlbObserved) bool {
	return o.internal != m.Internal || !pinsMatch(o.mappings, m.subnetMappings()) ||
		o.natPrefixes != m.PrefixForIPv6SourceNAT || (len(o.groups) > 0) != m.hasGroups()
}

// pinsMatch reports whether the observed mappings hold every wanted pin. Which subnet holds
// which pin is not compared: cloud-provider-aws gives pin i to the subnet of the i-th zone by
// name and cloudlb to the i-th subnet by ID, and AWS only accepts a private address in its
// own subnet anyway; so each field's pins are compared as sets. An unpinned field matches
// whatever AWS chose (it reports addresses it assigned, e.g. a dualstack NLB's IPv6
// addresses), and a prefix AWS assigned matches auto_assigned.
func pinsMatch(have, want map[string]subnetPin) bool {
	field := func(m map[string]subnetPin, f func(subnetPin) string) []string {
		var out []string
		for _, p := range m {
			if v := f(p); v != "" {
				out = append(out, v)
			}
		}
		slices.Sort(out)
		return out
	}
	for _, f := range []func(subnetPin) string{
		func(p subnetPin) string { return p.Allocation },
		func(p subnetPin) string { return p.PrivateIPv4 },
		func(p subnetPin) string { return p.IPv6 },
	} {
		if w := field(want, f); len(w) > 0 && !slices.Equal(w, field(have, f)) {
			return false
		}
	}
	nat := func(p subnetPin) string { return p.NATPrefix }
	w, h := field(want, nat), field(have, nat)
	if len(w) == 0 {
		return true
	}
	if len(h) != len(w) {
		return false
	}
	for _, v := range w {
		if v != autoAssigned && !slices.Contains(h, v) {
			return false
		}
	}
	return true
}
