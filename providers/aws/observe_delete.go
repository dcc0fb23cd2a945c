package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// deletionObservation is what Observe read of a Service being deleted: its load balancers
// under the names it may have used (and, when none is found there although its status shows
// an address, those its tags give), the node groups that may hold an NLB's rules, and, found
// by their tags, its target groups and managed security groups with the groups that let
// those in.
type deletionObservation struct {
	cluster, service string
	// unprotect says deletion protection goes (the annotations no longer ask for it); isNLB
	// that the Service is (or was) of the NLB type, so rules of an NLB gone are looked for.
	unprotect, isNLB bool
	// candidates are the load balancers under the Service's names, others those found by
	// its tags.
	candidates, others []*deletionCandidate
	// vpcGroups are the groups of the VPC's instances, nodeGroups those and the groups the
	// NLBs' tags list, with their rules (nil with DisableSecurityGroupIngress).
	vpcGroups  map[string]bool
	nodeGroups map[string]*ObservedGroup
	// targetGroups are the ARNs of the Service's target groups.
	targetGroups []string
	// groups are the Service's security groups, users the groups letting each in, by ID.
	groups []*ObservedGroup
	users  map[string][]*ObservedGroup
	// backend is the cluster's backend group when no load balancer but the Service's uses
	// it, backendUsers the groups letting it in (observe_backend.go).
	backend      *ObservedGroup
	backendUsers []*ObservedGroup
}

// deletionCandidate is what has one name of the Service's load balancers.
type deletionCandidate struct {
	name string
	// primary says name is the one the annotations give: a load balancer there that is not
	// the cluster's is a user error; under another name it is simply not ours.
	primary bool
	// nlb is the NLB of that name (nil: none, or no ELBv2 client); arn is set for an NLB
	// found by its tags.
	nlb *nlbObserved
	arn string
	// classic is the Classic Load Balancer of that name; nil for an NLB found by its tags.
	classic *Observed
}

// observeDeletion reads what deleting the Service's load balancers needs.
func (c *Cloud) observeDeletion(ctx context.Context, svc *v1.Service, cfg *annotations.AWSConfig, cluster, vpc string) (*deletionObservation, error) {
	o := &deletionObservation{cluster: cluster, service: serviceName(svc), users: map[string][]*ObservedGroup{},
		unprotect: cfg == nil || cfg.LBAttributes[attrDeletionProtection] != "true", isNLB: cfg != nil && cfg.Type == annotations.AWSTypeNLB}
	for i, name := range candidateNames(svc, cfg) {
		cand, err := c.observeCandidate(ctx, name, i == 0, false, "")
		if err != nil {
			return nil, err
		}
		o.candidates = append(o.candidates, cand)
	}
	if !o.found() && hasIngress(svc) {
		others, err := c.findOwned(ctx, cluster, o.service)
		if err != nil {
			return nil, fmt.Errorf("looking for the load balancers of %s: %w", o.service, err)
		}
		for _, lb := range others {
			cand, err := c.observeCandidate(ctx, lb.name, false, true, lb.arn)
			if err != nil {
				return nil, err
			}
			o.others = append(o.others, cand)
		}
	}
	if err := c.observeDeletionGroups(ctx, o, vpc); err != nil {
		return nil, err
	}
	if err := c.observeAdoptedGroups(ctx, o, cfg); err != nil {
		return nil, err
	}
	if err := c.observeBackendDeletion(ctx, o, vpc); err != nil {
		return nil, err
	}
	return o, nil
}

// observeCandidate reads the NLB and the Classic Load Balancer called name. found says the
// load balancer was found by its tags: an NLB when arn is set, else a Classic Load
// Balancer; only that one is read.
func (c *Cloud) observeCandidate(ctx context.Context, name string, primary, found bool, arn string) (*deletionCandidate, error) {
	cand := &deletionCandidate{name: name, primary: primary, arn: arn}
	if c.elbv2 != nil && (!found || arn != "") {
		nlb, err := c.observeNLB(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("deleting NLB %s: %w", name, err)
		}
		cand.nlb = nlb
	}
	if arn != "" {
		return cand, nil
	}
	cl, err := c.observe(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("deleting load balancer %s: %w", name, err)
	}
	cand.classic = cl
	return cand, nil
}

// observeDeletionGroups reads the node groups that may hold the NLBs' rules, the Service's
// target groups and its security groups with the groups that let each in.
func (c *Cloud) observeDeletionGroups(ctx context.Context, o *deletionObservation, vpc string) error {
	var err error
	if c.elbv2 != nil && !c.cfg.Global.DisableSecurityGroupIngress && o.rulesToRevoke() {
		if o.vpcGroups, err = c.vpcInstanceGroups(ctx, vpc); err != nil {
			return fmt.Errorf("deleting NLB %s: %w", o.candidates[0].name, err)
		}
		ids := maps.Clone(o.vpcGroups)
		for _, cand := range o.all() {
			if cand.nlb != nil {
				maps.Copy(ids, taggedGroups(cand.nlb.tags))
			}
		}
		if o.nodeGroups, err = c.describeGroups(ctx, slices.Sorted(maps.Keys(ids))); err != nil {
			return fmt.Errorf("deleting NLB %s: %w", o.candidates[0].name, err)
		}
	}
	if c.elbv2 != nil {
		if o.targetGroups, err = c.ownedTargetGroups(ctx, o.cluster, o.service, vpc, o.nlbArns()); err != nil {
			return fmt.Errorf("looking for the target groups of %s: %w", o.service, err)
		}
	}
	if o.groups, err = c.ownedGroups(ctx, o.cluster, o.service, vpc); err != nil {
		return fmt.Errorf("looking for the security groups of %s: %w", o.service, err)
	}
	for _, g := range o.groups {
		if o.users[g.ID], err = c.referencing(ctx, g.ID); err != nil {
			return fmt.Errorf("deleting security group %s of %s: %w", g.ID, o.service, err)
		}
	}
	return nil
}
