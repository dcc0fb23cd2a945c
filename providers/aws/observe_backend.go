package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// findBackendGroup reads the cluster's backend group in vpc by its tags (the cluster's
// owned tag and the role tag), nil when there is none. Should two exist (two first NLBs
// created at once in an older release's race), the lowest ID is the one used.
// Once a read found none, later ones are answered from backendAbsence until this process
// creates one.
func (c *Cloud) findBackendGroup(ctx context.Context, cluster, vpc string) (*ObservedGroup, error) {
	key := cluster + "/" + vpc
	gen, absent := c.noBackend.lookup(key)
	if absent {
		return nil, nil
	}
	gs, err := c.groupsTagged(ctx, cluster, vpc, tagRole, roleBackend)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		c.noBackend.record(key, gen)
		return nil, nil
	}
	slices.SortFunc(gs, func(a, b *ObservedGroup) int { return strings.Compare(a.ID, b.ID) })
	return gs[0], nil
}

// backendInUse reports whether a load balancer of the region other than those in ours (the
// ARNs a deletion removes) has group id: the backend group stays while one does. One
// DescribeLoadBalancers per 400 load balancers.
func (c *Cloud) backendInUse(ctx context.Context, id string, ours []string) (bool, error) {
	inUse := false
	err := c.eachV2(ctx, func(lb v2types.LoadBalancer) bool {
		inUse = slices.Contains(lb.SecurityGroups, id) && !slices.Contains(ours, aws.ToString(lb.LoadBalancerArn))
		return !inUse
	})
	return inUse, err
}

// observeBackendDeletion adds to a deletion the cluster's backend group when no other load
// balancer uses it, with the groups that let it in: the last NLB takes it along. Every
// deletion looks (one read while there is no group), a Classic Load Balancer's too: a type
// change from NLB leaves the group to the Service's deletion. A group that also carries
// another cluster's tag is never deleted.
func (c *Cloud) observeBackendDeletion(ctx context.Context, o *deletionObservation, vpc string) error {
	if c.elbv2 == nil || c.cfg.Global.DisableSecurityGroupIngress {
		return nil
	}
	g, err := c.findBackendGroup(ctx, o.cluster, vpc)
	if err != nil || g == nil || foreignCluster(g.Tags, o.cluster) {
		return wrapBackend(err)
	}
	used, err := c.backendInUse(ctx, g.ID, o.nlbArns())
	if err != nil || used {
		return wrapBackend(err)
	}
	o.backend = g
	o.backendUsers, err = c.referencing(ctx, g.ID)
	return wrapBackend(err)
}

// observeBackendLeaving reads, in the PerService mode (NLBBackendSecurityGroup), the
// cluster's backend group for an NLB that keeps its groups, and whether a load balancer but
// this one still holds it: the NLB leaves it (its per-Service rules first), and the last one
// to leave deletes it. Once the group is gone this costs one DescribeSecurityGroups per full
// reconcile; while it exists, one listing of the ELBv2 load balancers too.
func (c *Cloud) observeBackendLeaving(ctx context.Context, o *nlbObservation, m *NLBModel, vpc string) error {
	if !strings.EqualFold(c.cfg.Global.NLBBackendSecurityGroup, backendPerService) || m.BackendGroup != nil ||
		o.lb == nil || o.replace || len(o.lb.groups) == 0 {
		return nil
	}
	g, err := c.findBackendGroup(ctx, m.Cluster, vpc)
	if err != nil || g == nil || foreignCluster(g.Tags, m.Cluster) {
		return wrapBackend(err)
	}
	o.leaving = g
	used, err := c.backendInUse(ctx, g.ID, []string{o.lb.arn})
	if err != nil || used {
		return wrapBackend(err)
	}
	o.leavingLast = true
	o.leavingUsers, err = c.referencing(ctx, g.ID)
	return wrapBackend(err)
}

func wrapBackend(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("the NLBs' backend security group: %w", err)
}

// backendAbsence remembers the (cluster, VPC) pairs for which a read found no backend group,
// so that the deletion of every Service (and the full reconcile of an NLB that has groups)
// does not read it again: the default NLB mode never makes one. Only this process makes the
// cluster's backend group (the controller manager exits when it loses the leader-election
// Lease, and with it this memory), and it forgets every absence before it creates one; a
// read that began before that forgetting records nothing (gen).
type backendAbsence struct {
	mu     sync.Mutex
	gen    uint64
	absent map[string]bool
}

// lookup returns the generation to record an absence under, and whether key is known absent.
func (b *backendAbsence) lookup(key string) (uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gen, b.absent[key]
}

// record remembers key as absent, read under generation gen.
func (b *backendAbsence) record(key string, gen uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return
	}
	if b.absent == nil {
		b.absent = map[string]bool{}
	}
	b.absent[key] = true
}

// forget drops every absence: a backend group is about to be created.
func (b *backendAbsence) forget() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gen++
	clear(b.absent)
}
