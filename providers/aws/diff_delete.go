package aws

import (
	"fmt"
	"maps"
	"slices"

	"github.com/cloudlb/cloudlb/providers"
)

// diffDeletion plans deleting everything of the Service's in an order that lets a retry
// after any failure find what is left: for each of its names, the NLB's rules in the node
// groups (found by the NLB's name in their descriptions, so also after the NLB itself is
// gone) and the NLB, then the Classic Load Balancer; then the target groups and the managed
// security groups found by their tags, each group once no rule refers to it. A load
// balancer with one of the Service's names that is not the cluster's is a user error under
// the name the annotations give, and left alone under another. It is pure.
func diffDeletion(o *deletionObservation) (steps, error) {
	var s steps
	view := groupView{}
	view.add(slices.Collect(maps.Values(o.nodeGroups))...)
	for _, users := range o.users {
		view.add(users...)
	}
	view.add(o.backendUsers...)
	for _, cand := range o.all() {
		nlb, err := o.nlbWrites(cand, view)
		if err != nil {
			return nil, fmt.Errorf("deleting NLB %s: %w", cand.name, err)
		}
		s.add(providers.ReasonDeleting, fmt.Sprintf("deleting NLB %s", cand.name), nlb...)
		cl, err := o.classicWrites(cand)
		if err != nil {
			return nil, err
		}
		s.add(providers.ReasonDeleting, fmt.Sprintf("deleting load balancer %s", cand.name), cl...)
	}
	for _, arn := range o.targetGroups {
		s.add(providers.ReasonDeleting, "", deleteTargetGroup{arn: arn})
	}
	for _, g := range o.groups {
		// Node groups that let it in must forget it first, or the delete never succeeds.
		wrap := fmt.Sprintf("deleting security group %s of %s", g.ID, o.service)
		s.add(providers.ReasonDeleting, wrap, revokeAllWrites(view, g.ID, o.users[g.ID])...)
		s.add(providers.ReasonDeleting, wrap, deleteSecurityGroup{id: g.ID})
	}
	if b := o.backend; b != nil {
		// The last NLB is gone by now (it went first): the node groups forget the group,
		// then it goes; AWS refuses the delete while a load balancer or a rule holds it.
		wrap := fmt.Sprintf("deleting the NLBs' backend security group %s", b.ID)
		s.add(providers.ReasonDeleting, wrap, revokeAllWrites(view, b.ID, o.backendUsers)...)
		s.add(providers.ReasonDeleting, wrap, deleteSecurityGroup{id: b.ID})
	}
	return s, nil
}

// nlbWrites are the writes deleting cand's NLB if it is the Service's: its node rules, then
// the NLB. An NLB already gone (removed by hand, or by an earlier attempt that failed after)
// of an NLB Service still has its node rules revoked: they are found by its name.
func (o *deletionObservation) nlbWrites(cand *deletionCandidate, view groupView) ([]write, error) {
	none := func(string) []Rule { return nil }
	switch n := cand.nlb; {
	case n == nil && (o.isNLB || cand.arn != "") && o.nodeGroups != nil:
		return nlbRuleWrites(view, o.vpcGroups, cand.name, none), nil
	case !o.nlbOurs(cand):
		if n != nil && !owned(n.tags, o.cluster) && cand.primary {
			return nil, providers.NewUserError(o.service, "NLB %s exists without the tag %s=%s; it is not ours and is not deleted", cand.name, clusterTag(o.cluster), tagOwned)
		}
		return nil, nil // not ours, or another Service's NLB of that name
	}
	var ws []write
	if o.nodeGroups != nil {
		ids := taggedGroups(cand.nlb.tags)
		maps.Copy(ids, o.vpcGroups)
		ws = nlbRuleWrites(view, ids, cand.name, none)
	}
	return append(ws, deleteNLB{lb: cand.nlb, unprotect: o.unprotect}), nil
}

// classicWrites is the write deleting cand's Classic Load Balancer if it is the Service's.
func (o *deletionObservation) classicWrites(cand *deletionCandidate) ([]write, error) {
	cl := cand.classic
	if cl == nil || !cl.Exists || ownedBy(cl.Tags, o.service, cand.name) != nil {
		return nil, nil // none, or another Service's
	}
	if !owned(cl.Tags, o.cluster) {
		if !cand.primary {
			return nil, nil
		}
		return nil, providers.NewUserError(o.service, "load balancer %s exists without the tag %s=%s; it is not ours and is not deleted", cand.name, clusterTag(o.cluster), tagOwned)
	}
	return []write{deleteCLB{name: cand.name}}, nil
}

// nlbOurs reports whether cand's NLB is the Service's.
func (o *deletionObservation) nlbOurs(cand *deletionCandidate) bool {
	n := cand.nlb
	return n != nil && owned(n.tags, o.cluster) && ownedBy(n.tags, o.service, cand.name) == nil
}

// found reports whether a load balancer of the Service's is under one of its names.
func (o *deletionObservation) found() bool {
	return slices.ContainsFunc(o.candidates, func(cand *deletionCandidate) bool {
		cl := cand.classic
		return o.nlbOurs(cand) || cl != nil && cl.Exists && ownedBy(cl.Tags, o.service, cand.name) == nil && owned(cl.Tags, o.cluster)
	})
}

// rulesToRevoke reports whether an NLB's node rules may be left: one of the Service's NLBs
// exists, or the Service is an NLB's whose NLB is gone.
func (o *deletionObservation) rulesToRevoke() bool {
	return slices.ContainsFunc(o.all(), func(cand *deletionCandidate) bool {
		return o.nlbOurs(cand) || cand.nlb == nil && (o.isNLB || cand.arn != "")
	})
}

// nlbArns are the ARNs of the Service's NLBs: only target groups these use, or none does,
// can be the Service's.
func (o *deletionObservation) nlbArns() []string {
	var out []string
	for _, cand := range o.candidates {
		if o.nlbOurs(cand) {
			out = append(out, cand.nlb.arn)
		}
	}
	for _, cand := range o.others {
		if cand.arn != "" {
			out = append(out, cand.arn)
		}
	}
	return out
}

// all are the candidates, then the load balancers found by their tags.
func (o *deletionObservation) all() []*deletionCandidate {
	return append(slices.Clone(o.candidates), o.others...)
}
