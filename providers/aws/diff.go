package aws

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// managedGroupRef stands, in Plan.SecurityGroups, for the managed group's ID, known only
// once Apply has found or created it.
const managedGroupRef = "$managed"

// Plan is what Apply does, in this order: creates and updates first, deletes last.
type Plan struct {
	// CreateGroup creates the managed security group.
	CreateGroup bool
	// GroupID is the managed group's ID when it exists.
	GroupID   string
	Authorize []Rule
	// Create creates the load balancer.
	Create bool
	// SecurityGroups, when non-nil, is the group list to apply (managedGroupRef for ours).
	SecurityGroups  []string
	AttachSubnets   []string
	ReplaceListener []int32 // listener ports deleted then re-created with new settings
	AddListeners    []Listener
	CreatePolicies  []string // policy names to create: proxy protocol, SSL negotiation
	BackendPolicies map[int32][]string
	// ListenerPolicies are the policy lists to set per listener port.
	ListenerPolicies map[int32][]string
	HealthCheck      *HealthCheck
	Attributes       *Attributes
	Register         []string
	// Deletes, applied last.
	Deregister      []string
	RemoveListeners []int32
	DetachSubnets   []string
	Revoke          []Rule
	DeleteGroup     bool
	RemoveTags      []string
	// SetTags are the tags to add or change, bookkeeping tags included; nil when none.
	SetTags map[string]string
}

// Writes reports whether the plan makes any write.
func (p *Plan) Writes() bool {
	return p.CreateGroup || len(p.Authorize) > 0 || p.Create || p.SecurityGroups != nil ||
		len(p.AttachSubnets) > 0 || len(p.ReplaceListener) > 0 || len(p.AddListeners) > 0 ||
		len(p.CreatePolicies) > 0 || len(p.BackendPolicies) > 0 || len(p.ListenerPolicies) > 0 ||
		p.HealthCheck != nil || p.Attributes != nil || len(p.Register) > 0 || len(p.Deregister) > 0 ||
		len(p.RemoveListeners) > 0 || len(p.DetachSubnets) > 0 || len(p.Revoke) > 0 || p.DeleteGroup ||
		len(p.RemoveTags) > 0 || len(p.SetTags) > 0
}

// needsDeep reports whether the parts the spec-hash tag summarises must be read.
func needsDeep(m *Model, o *Observed) bool {
	if !o.Exists || o.Tags[tagSpecHash] != m.DeepHash() {
		return true
	}
	return m.ManagedSecurityGroup != nil && o.Tags[tagSecurityGroup] == ""
}

// Diff compares the desired model with what the cloud holds. It is pure. Without a deep
// observation (o.Deep false) the attributes and the managed group are taken as applied: the
// caller checked the spec-hash tag.
func Diff(m *Model, o *Observed) (*Plan, error) {
	p := &Plan{}
	if o.Exists && !owned(o.Tags, m.Cluster) {
		return nil, providers.NewUserError(m.Service,
			"load balancer %s already exists without the tag %s=%s; it is not ours and is left untouched: delete or rename it, or re-create the Service to get a new name",
			m.Name, clusterTag(m.Cluster), tagOwned)
	}
	if o.Exists {
		if err := ownedBy(o.Tags, m.Service, m.Name); err != nil {
			return nil, err
		}
	}
	if o.Exists && o.Internal != m.Internal {
		return nil, providers.NewUserError(m.Service,
			"the scheme of load balancer %s cannot change in place (internal=%t, wanted %t); it must be replaced",
			m.Name, o.Internal, m.Internal)
	}
	if err := foreignGroup(m, o); err != nil {
		return nil, err
	}
	diffGroup(p, m, o)
	if !o.Exists {
		diffCreate(p, m)
		return p, nil
	}
	// Security groups, compared as sets: AWS keeps its own order.
	want := wantGroups(m, p.GroupID)
	if !sameSet(want, o.SecurityGroups) {
		p.SecurityGroups = wantGroups(m, managedGroupRef)
	}
	p.AttachSubnets, p.DetachSubnets = setDiff(m.Subnets, o.Subnets)
	diffListeners(p, m, o)
	// A re-created listener comes back without policies: diff against that.
	after := *o
	after.ListenerPolicies = maps.Clone(o.ListenerPolicies)
	for _, port := range p.ReplaceListener {
		delete(after.ListenerPolicies, port)
	}
	p.CreatePolicies, p.BackendPolicies, p.ListenerPolicies = diffPolicies(m, &after)
	if o.HealthCheck != m.HealthCheck {
		hc := m.HealthCheck
		p.HealthCheck = &hc
	}
	if o.Deep && o.Attributes != m.Attributes {
		a := m.Attributes
		p.Attributes = &a
	}
	p.Register, p.Deregister = setDiff(m.Instances, o.Instances)
	diffTags(p, m, o)
	return p, nil
}

// diffCreate plans a load balancer that does not exist: everything the model says, the
// attributes only when they are not AWS's defaults.
func diffCreate(p *Plan, m *Model) {
	p.Create = true
	p.CreatePolicies, p.BackendPolicies, p.ListenerPolicies = diffPolicies(m, &Observed{})
	hc := m.HealthCheck
	p.HealthCheck = &hc
	if m.Attributes != (Attributes{IdleTimeout: 60}) {
		a := m.Attributes
		p.Attributes = &a
	}
	p.Register = slices.Clone(m.Instances)
	p.SetTags = bookkeeping(m, p)
}

// diffTags plans the model's tags and the bookkeeping ones, and the removal of the user tags
// set before that the model no longer has.
func diffTags(p *Plan, m *Model, o *Observed) {
	set := bookkeeping(m, p)
	for k, v := range m.Tags {
		if o.Tags[k] != v {
			set[k] = v
		}
	}
	for k, v := range set {
		if o.Tags[k] == v {
			delete(set, k)
		}
	}
	if len(set) > 0 {
		p.SetTags = set
	}
	for k := range strings.SplitSeq(o.Tags[tagUserKeys], ",") {
		_, want := m.Tags[k]
		if _, present := o.Tags[k]; k != "" && !want && present {
			p.RemoveTags = append(p.RemoveTags, k)
		}
	}
	slices.Sort(p.RemoveTags)
	if m.ManagedSecurityGroup == nil && o.Tags[tagSecurityGroup] != "" {
		p.RemoveTags = append(p.RemoveTags, tagSecurityGroup)
	}
}

// diffGroup plans the managed security group and its rules.
func diffGroup(p *Plan, m *Model, o *Observed) {
	if m.ManagedSecurityGroup == nil {
		// A managed group left over from before the Service named its own groups is deleted
		// once the load balancer no longer uses it.
		if o.Deep && o.ManagedSG != nil && owned(o.ManagedSG.Tags, m.Cluster) {
			p.DeleteGroup, p.GroupID = true, o.ManagedSG.ID
		}
		return
	}
	if !o.Deep {
		p.GroupID = o.Tags[tagSecurityGroup]
		return
	}
	if o.ManagedSG == nil {
		p.CreateGroup = true
		p.Authorize = slices.Clone(m.ManagedSecurityGroup.Rules)
		return
	}
	p.GroupID = o.ManagedSG.ID
	have := map[string]Rule{}
	for _, r := range o.ManagedSG.Rules {
		have[r.key()] = r
	}
	for _, r := range m.ManagedSecurityGroup.Rules {
		if _, ok := have[r.key()]; !ok {
			p.Authorize = append(p.Authorize, r)
		}
		delete(have, r.key())
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		p.Revoke = append(p.Revoke, have[k])
	}
}

// foreignGroup is the user error for a group with the managed group's name that is not ours.
func foreignGroup(m *Model, o *Observed) error {
	if m.ManagedSecurityGroup == nil || o.ManagedSG == nil {
		return nil
	}
	if owned(o.ManagedSG.Tags, m.Cluster) {
		return ownedBy(o.ManagedSG.Tags, m.Service, m.ManagedSecurityGroup.Name)
	}
	return providers.NewUserError(m.Service,
		"security group %s (%s) already exists without the tag %s=%s; it is not ours and is left untouched: delete it, or name your groups with aws-load-balancer-security-groups",
		m.ManagedSecurityGroup.Name, o.ManagedSG.ID, clusterTag(m.Cluster), tagOwned)
}

// wantGroups is the load balancer's group list with managed standing for our group.
func wantGroups(m *Model, managed string) []string {
	var out []string
	if m.ManagedSecurityGroup != nil {
		out = append(out, managed)
	}
	return append(out, m.SecurityGroups...)
}

// bookkeeping are the cloudlb.io tags Apply writes with the model's tags. The spec hash is
// among them because Apply writes SetTags after every other create and update.
func bookkeeping(m *Model, p *Plan) map[string]string {
	t := map[string]string{tagSpecHash: m.DeepHash()}
	if m.ManagedSecurityGroup != nil {
		t[tagSecurityGroup] = cmpOr(p.GroupID, managedGroupRef)
	}
	var keys []string
	for k := range m.Tags {
		if k != tagServiceName && !strings.HasPrefix(k, tagClusterPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if v := strings.Join(keys, ","); len(v) <= 256 {
		t[tagUserKeys] = v
	}
	return t
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// setDiff returns the items of want missing from have, and of have missing from want.
func setDiff(want, have []string) (add, remove []string) {
	for _, w := range want {
		if !slices.Contains(have, w) {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			remove = append(remove, h)
		}
	}
	return add, remove
}

func sameSet(a, b []string) bool {
	add, rm := setDiff(a, b)
	return len(add) == 0 && len(rm) == 0
}

// appliedTags is the load balancer's tags after apply wrote p: observed, minus the removed,
// plus the set ones (managedGroupRef standing for a managed group p creates); a created one
// starts from the model's.
func appliedTags(observed map[string]string, m *Model, p *Plan) map[string]string {
	tags := maps.Clone(observed)
	if p.Create {
		tags = maps.Clone(m.Tags)
	}
	if tags == nil {
		tags = map[string]string{}
	}
	for _, k := range p.RemoveTags {
		delete(tags, k)
	}
	maps.Copy(tags, p.SetTags)
	return tags
}

// renamed is the user error for creating the load balancer called name while the Service
// already has one under another name (aws-load-balancer-name changed): AWS cannot rename one,
// and a new one would leave the old behind.
func renamed(service, name string, others []ownedLB) error {
	for _, o := range others {
		if o.name != name {
			return providers.NewUserError(service, "%s cannot change once the load balancer exists: the Service's %s is %s, not %s; restore the annotation as it was, or delete and re-create the Service",
				annotations.AWSName.Key, o.kind(), o.name, name)
		}
	}
	return nil
}

// Reasons of the Classic plan's steps, as the audit trail reports them.
const (
	whyNewCLB     = "the Service has no load balancer yet"
	whyCLBDiffers = "the load balancer differs from the Service"
	whyReplaceCLB = "replacing the load balancer: its scheme (internal or internet-facing) is fixed at creation"
	whyTypeToCLB  = "the Service's load balancer type changed to Classic"
)

// classicPlan is what diffClassic decided for a Classic Load Balancer Service: Diff's Plan
// and its writes in the order Apply makes them.
type classicPlan struct {
	*Plan
	// steps are the load balancer's writes: a replacement, Diff's Plan, and the retirement
	// of an NLB a type change left; nodeSteps are the node rules (diffClassicNodes).
	steps, nodeSteps steps
	// source is the group the node rules let in.
	source ref
	// tags and instances are the load balancer's once the plan is applied; managedGroupRef
	// stands in tags for a group the plan creates.
	tags      map[string]string
	instances []string
	// dns is the observed load balancer's DNS name ("" when the plan creates it).
	dns string
	// replaces says the plan replaces the load balancer (its scheme changed); retiresNLB
	// that it deletes the NLB a type change left.
	replaces, retiresNLB bool
	view                 groupView
}

// diffClassic is Diff with its Plan in Apply's order: a load balancer whose scheme changed
// deleted first (the name is fixed by the Service UID, so the Service has none in between;
// the managed group is kept and reused), then Diff's writes (classicWrites). It is pure.
func diffClassic(m *Model, o *Observed) (*classicPlan, error) {
	if !o.Exists && o.replaced == nil {
		if err := renamed(m.Service, m.Name, o.others); err != nil {
			return nil, err
		}
	}
	p, err := Diff(m, o)
	if err != nil {
		return nil, err
	}
	cp := &classicPlan{Plan: p, view: groupView{}, tags: o.Tags, instances: o.Instances, dns: o.DNSName}
	switch {
	case m.ManagedSecurityGroup != nil && p.CreateGroup:
		cp.source = toCreate(m.ManagedSecurityGroup.Name)
	case m.ManagedSecurityGroup != nil:
		cp.source = known(p.GroupID)
	default:
		cp.source = known(sourceGroup(m.SecurityGroups))
	}
	if !p.Writes() {
		return cp, nil
	}
	cp.tags, cp.instances = appliedTags(o.Tags, m, p), m.Instances
	if o.replaced != nil {
		cp.replaces = true
		cp.steps.add(whyReplaceCLB, fmt.Sprintf("replacing load balancer %s", m.Name), deleteCLB{name: m.Name})
	}
	why := whyCLBDiffers
	if p.Create {
		why = whyNewCLB
	}
	cp.classicWrites(m, o, why, fmt.Sprintf("ensuring load balancer %s", m.Name))
	return cp, nil
}

// classicMustReplace reports whether the Service's load balancer o must be replaced: its
// scheme differs, which AWS fixes at creation. Only one of ours is replaced; Diff refuses
// the others.
func classicMustReplace(m *Model, o *Observed) bool {
	return o.Exists && owned(o.Tags, m.Cluster) && ownedBy(o.Tags, m.Service, m.Name) == nil && o.Internal != m.Internal
}

// classicWrites are the writes of the Plan in Apply's order: creates and updates first,
// deletes after, the NLB a type change left before the managed group it may still use, and
// the tags with the spec hash last, so a failure anywhere leaves a hash that forces a full
// read next time.
func (cp *classicPlan) classicWrites(m *Model, o *Observed, why, wrap string) {
	p, name := cp.Plan, m.Name
	add := func(ws ...write) { cp.steps.add(why, wrap, ws...) }
	group := known(p.GroupID)
	if p.CreateGroup {
		add(createSecurityGroup{sg: m.ManagedSecurityGroup, cluster: m.Cluster, service: m.Service, managed: true})
		group = toCreate(m.ManagedSecurityGroup.Name)
	}
	groups := func(list []string) []ref {
		out := refs(list)
		for i, g := range list {
			if g == managedGroupRef {
				out[i] = group
			}
		}
		return out
	}
	if len(p.Authorize) > 0 {
		add(authorizeIngress{group: group, rules: p.Authorize})
	}
	if p.Create {
		add(createCLB{m: m, groups: groups(wantGroups(m, managedGroupRef))})
	}
	if p.SecurityGroups != nil {
		add(applyCLBSecurityGroups{name: name, groups: groups(p.SecurityGroups)})
	}
	if len(p.AttachSubnets) > 0 {
		add(attachCLBSubnets{name: name, subnets: p.AttachSubnets})
	}
	if len(p.ReplaceListener) > 0 {
		add(deleteCLBListeners{name: name, ports: p.ReplaceListener})
	}
	if len(p.AddListeners) > 0 {
		add(createCLBListeners{name: name, listeners: p.AddListeners})
	}
	cp.policyWrites(m, add)
	if p.HealthCheck != nil {
		add(configureHealthCheck{name: name, healthCheck: *p.HealthCheck})
	}
	if p.Attributes != nil {
		add(modifyCLBAttributes{name: name, attributes: *p.Attributes})
	}
	if len(p.Register) > 0 {
		add(registerInstances{name: name, ids: p.Register})
	}
	if len(p.Deregister) > 0 {
		add(deregisterInstances{name: name, ids: p.Deregister})
	}
	// Deletes.
	if len(p.RemoveListeners) > 0 {
		add(deleteCLBListeners{name: name, ports: p.RemoveListeners})
	}
	if len(p.DetachSubnets) > 0 {
		add(detachCLBSubnets{name: name, subnets: p.DetachSubnets})
	}
	if len(p.Revoke) > 0 {
		add(revokeIngress{group: group, rules: p.Revoke})
	}
	cp.retireNLB(o, wrap)
	if p.DeleteGroup {
		// Node groups that let it in must forget it first, or the delete never succeeds.
		add(revokeAllWrites(cp.view, p.GroupID, o.groupUsers)...)
		add(deleteSecurityGroup{id: p.GroupID})
	}
	if len(p.RemoveTags) > 0 {
		add(removeCLBTags{name: name, keys: p.RemoveTags})
	}
	if len(p.SetTags) > 0 {
		add(addCLBTags{name: name, tags: p.SetTags})
	}
}

// policyWrites are the policy writes of the Plan: the policies to create, then the backend
// and listener policy lists by port.
func (cp *classicPlan) policyWrites(m *Model, add func(...write)) {
	p := cp.Plan
	for _, pol := range p.CreatePolicies {
		add(createCLBPolicy{name: m.Name, policy: pol, sslPolicy: m.SSLNegotiationPolicy})
	}
	for _, port := range slices.Sorted(maps.Keys(p.BackendPolicies)) {
		add(setCLBBackendPolicies{name: m.Name, port: port, policies: p.BackendPolicies[port]})
	}
	for _, port := range slices.Sorted(maps.Keys(p.ListenerPolicies)) {
		add(setCLBListenerPolicies{name: m.Name, port: port, policies: p.ListenerPolicies[port]})
	}
}

// retireNLB plans deleting the Service's NLB a type change left under the load balancer's
// name: its node rules (found by its name in their descriptions), the NLB (deletion
// protection holds: the Classic annotations cannot ask for it), then its target groups.
func (cp *classicPlan) retireNLB(o *Observed, wrap string) {
	r := o.nlb
	cp.view.add(o.groupUsers...)
	if r == nil {
		return
	}
	cp.retiresNLB = true
	if r.groups != nil {
		cp.view.add(slices.Collect(maps.Values(r.groups))...)
		cp.steps.add(whyTypeToCLB, wrap, nlbRuleWrites(cp.view, r.ids, r.lb.name, func(string) []Rule { return nil })...)
	}
	cp.steps.add(whyTypeToCLB, wrap, deleteNLB{lb: r.lb})
	for _, arn := range r.targetGroups {
		cp.steps.add(whyTypeToCLB, wrap, deleteTargetGroup{arn: arn})
	}
}

// diffClassicNodes plans the node rules (classicNodeRuleWrites) after the load balancer's
// writes, as they leave the security groups.
func (cp *classicPlan) diffClassicNodes(name string, n *classicNodes, reason, wrap string) {
	cp.nodeSteps.add(reason, wrap, classicNodeRuleWrites(cp.view, name, n)...)
}

// classicTargetsOwner refuses a node change of a load balancer that does not exist (Ensure
// creates it) or is not the Service's.
func classicTargetsOwner(t *classicTargets, o *Observed) error {
	if !o.Exists {
		return fmt.Errorf("updating load balancer %s: not found (EnsureLoadBalancer creates it)", t.Name)
	}
	if !owned(o.Tags, t.Cluster) {
		return providers.NewUserError(t.Service, "load balancer %s exists without the tag %s=%s; it is not ours and is left untouched", t.Name, clusterTag(t.Cluster), tagOwned)
	}
	return ownedBy(o.Tags, t.Service, t.Name)
}

// diffRegistration plans registering the instances of want missing from have, then
// deregistering the extra ones.
func diffRegistration(name string, want, have []string) steps {
	var s steps
	add, remove := setDiff(want, have)
	wrap := fmt.Sprintf("updating load balancer %s", name)
	if len(add) > 0 {
		s.add(whyNodesChanged, wrap, registerInstances{name: name, ids: add})
	}
	if len(remove) > 0 {
		s.add(whyNodesChanged, wrap, deregisterInstances{name: name, ids: remove})
	}
	return s
}
