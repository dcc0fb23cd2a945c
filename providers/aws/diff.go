package aws

import (
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
		if userTag(k) {
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
