package gce

import (
	"context"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"

	"github.com/cloudlb/cloudlb/providers"
)

// The listing (providers.Lister). A restarted controller's first pass would read, per
// Service, the forwarding rule <lb> (its spec label) and the members: the target pool's
// instances, or the shared instance groups' members. The listing reads the cluster's rules
// with one ForwardingRules.List per 500 (filtered on the owner label), and, when one of them
// targets a pool, the region's target pools with one TargetPools.List per 500. The Service's
// first sync then skips its reads (listedNoOp) exactly where ensure's no-op path would have
// written nothing: the rule is ours, its spec label is the model's hash, and the members match,
// since instance membership is not in the hash. The shared instance groups are not listed:
// their members are read once per zone for all internal Services (observeGroup's cache), as
// the no-op path does.

var _ providers.Lister = (*Cloud)(nil)

// listPage is the page size of the listing: Compute's largest.
const listPage = 500

// listedRule is what the listing saw of a forwarding rule beyond its spec label and IP
// (providers.Listed.Observed): what ensure's no-op path checks.
type listedRule struct {
	desc   string
	labels map[string]string
	// pool is the target pool the rule targets, nil when it targets none or the pool was not
	// found.
	pool *listedPool
}

// listedPool is a target pool as listed.
type listedPool struct {
	desc string
	// instances are "zones/<zone>/instances/<name>", sorted, as observeTargetPool reads them.
	instances []string
}

// ListLoadBalancers lists the forwarding rules of the cluster (label cloudlb-cluster-id) and
// the target pools they use, keyed by rule name (<lb> for a Service's primary rule).
func (c *Cloud) ListLoadBalancers(ctx context.Context, clusterName string) (*providers.Listing, error) {
	s := c.settings(clusterName)
	l := &providers.Listing{Seq: c.writes.Begin(), At: time.Now(), Entries: map[string]providers.Listed{}}
	rules, err := listPages(ctx, c, "ForwardingRules.List", func(ctx context.Context, token string) (*iterator.Pager, *[]*computepb.ForwardingRule) {
		it := c.api.ForwardingRules.List(ctx, &computepb.ListForwardingRulesRequest{Project: s.Project, Region: s.Region,
			Filter: ptr(fmt.Sprintf("labels.%s = %q", ownerLabel, s.ClusterID))})
		return iterator.NewPager(it, listPage, token), new([]*computepb.ForwardingRule)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the forwarding rules of cluster %s: %w", s.ClusterID, err)
	}
	pools := map[string]*listedPool{}
	if slices.ContainsFunc(rules, func(r *computepb.ForwardingRule) bool { return r.GetTarget() != "" }) {
		tps, err := listPages(ctx, c, "TargetPools.List", func(ctx context.Context, token string) (*iterator.Pager, *[]*computepb.TargetPool) {
			it := c.api.TargetPools.List(ctx, &computepb.ListTargetPoolsRequest{Project: s.Project, Region: s.Region})
			return iterator.NewPager(it, listPage, token), new([]*computepb.TargetPool)
		})
		if err != nil {
			return nil, fmt.Errorf("listing the target pools of region %s: %w", s.Region, err)
		}
		for _, tp := range tps {
			p := &listedPool{desc: tp.GetDescription(), instances: []string{}}
			for _, i := range tp.GetInstances() {
				p.instances = append(p.instances, trimURL(i))
			}
			slices.Sort(p.instances)
			pools[tp.GetName()] = p
		}
	}
	for _, r := range rules {
		lr := &listedRule{desc: r.GetDescription(), labels: r.GetLabels()}
		if t := r.GetTarget(); t != "" {
			lr.pool = pools[lastSegment(t)]
		}
		l.Entries[r.GetName()] = providers.Listed{SpecHash: r.GetLabels()[specLabel], Status: status(r.GetIPAddress()), Observed: lr}
	}
	return l, nil
}

// listPages reads every page of a list, one call (under the rate limit and retries) per page;
// page starts the list at a page token.
func listPages[T any](ctx context.Context, c *Cloud, op string, page func(ctx context.Context, token string) (*iterator.Pager, *[]T)) ([]T, error) {
	var out []T
	token := ""
	for {
		var items *[]T
		var next string
		err := c.limits.read(ctx, op, func(ctx context.Context) (err error) {
			var p *iterator.Pager
			p, items = page(ctx, token)
			next, err = p.NextPage(items)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, *items...)
		if next == "" {
			return out, nil
		}
		token = next
	}
}

// listedNoOp returns the listed IP of m's forwarding rule when the Listing in ctx may stand
// for ensure's reads and ensure would write nothing: the write log trusts the entry for m
// and its spec label is m's hash (WriteLog.Unchanged), the rule is ours, and the members are
// applied: the listed target pool's instances are m's, or the shared groups' members are
// (read once per zone, then cached). ok false: ensure observes as without a listing.
func (c *Cloud) listedNoOp(ctx context.Context, m *Model) (ip string, ok bool) {
	e, ok := c.writes.Unchanged(providers.ListingFrom(ctx), m.Name, m.SpecHash)
	if !ok {
		return "", false
	}
	lr, _ := e.Observed.(*listedRule)
	if lr == nil || !owns(m, m.Name, lr.desc) || !labelOwner(lr.labels, m) || len(e.Status.Ingress) == 0 {
		return "", false
	}
	ip = e.Status.Ingress[0].IP
	if c.membershipApplied(m.Name, m.MembershipHash()) {
		return ip, true
	}
	if tp := m.TargetPool; tp != nil {
		if lr.pool == nil || !owns(m, tp.Name, lr.pool.desc) {
			return "", false
		}
		if add, remove := setDiff(tp.Instances, lr.pool.instances); len(add)+len(remove) > 0 {
			return "", false
		}
	} else {
		p, ok, err := c.membershipPlan(ctx, m)
		if err != nil || !ok || p.Writes() {
			return "", false
		}
	}
	c.setMembership(m.Name, m.MembershipHash())
	return ip, true
}
