package aws

import (
	"fmt"
	"maps"
	"slices"

	"github.com/cloudlb/cloudlb/providers"
)

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
	// refused are the differences of a replacement the guard refused: the plan is empty and
	// the caller plans again for the model that keeps the load balancer's scheme.
	refused []providers.FieldChange
	// keepNLB says the guard keeps the Service's NLB (Observed.keepNLB): the plan is empty
	// and the caller ensures the NLB instead.
	keepNLB bool
	// tagsWithNodes says the load balancer's tags (the spec hash among them) are written
	// with the node-rules tag, the last node step (mergeTagWrites).
	tagsWithNodes bool
}

// mergeTagWrites makes the load balancer's tag write (the last of its steps) and the
// node-rules tag write (the last node step) one AddTags, after the node rules: a create, and
// any change that moves the node rules, costs one call less. The spec hash is still written
// after every other write of the plan, so a failure anywhere leaves a hash that forces a full
// read next time.
func (cp *classicPlan) mergeTagWrites() {
	if len(cp.steps) == 0 || len(cp.nodeSteps) == 0 {
		return
	}
	last := cp.steps[len(cp.steps)-1]
	lbTags, ok := last.write.(addCLBTags)
	node := &cp.nodeSteps[len(cp.nodeSteps)-1]
	nodeTag, ok2 := node.write.(addNodeRulesTag)
	if !ok || !ok2 || lbTags.name != nodeTag.lb {
		return
	}
	nodeTag.also = lbTags.tags
	node.write, node.reason, node.wrap = nodeTag, last.reason, last.wrap
	cp.steps, cp.tagsWithNodes = cp.steps[:len(cp.steps)-1], true
}

// diffClassic is Diff with its Plan in Apply's order: a load balancer whose scheme changed
// deleted first (the name is fixed by the Service UID, so the Service has none in between;
// the managed group is kept and reused), then Diff's writes (classicWrites). It is pure.
func diffClassic(m *Model, o *Observed) (*classicPlan, error) {
	if o.refused != nil {
		return &classicPlan{Plan: &Plan{}, refused: o.refused, dns: o.DNSName}, nil
	}
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
