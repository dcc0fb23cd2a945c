package azure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// Batched observation (providers.Lister). On Azure every Service of a load balancer shares the
// load balancer object (its frontend, rules, probes and the node pool) and every Service
// shares the NSG, so there is no object of a Service's own that could carry a hash of its
// applied spec, and a hash kept as a load balancer tag per Service would say nothing about
// the shared pool. The no-op check is therefore the provider's own diff, fed from the
// listing: the Listing's entries are keyed by resource (lbKey, nsgKey, pipsKey: the keys the
// WriteLog records writes under), each with its etag as SpecHash and the object as Observed.
// A Service's first sync runs its reconcile in planning mode with each read served by the
// entry of the resource, when WriteLog.Unchanged says this process wrote nothing to it since
// the listing began (any write to a load balancer marks it for all its Services); it is done
// with the status when the plan is empty, and runs the usual reconcile, reading everything
// again, otherwise. So the listing is used only to conclude that nothing is to be written:
// every write is planned from a read made for it. What the listing does not hold (Private
// Link Services, public IPs of another resource group) is read as usual.

var _ providers.Lister = (*Cloud)(nil)

// absent is the SpecHash of a listed resource that does not exist (WriteLog.Unchanged needs
// one that is not empty).
const absent = "absent"

// pipsKey is the WriteLog and Listing key of the public IPs of resource group rg.
func pipsKey(rg string) string { return "pips:" + strings.ToLower(rg) }

// ListLoadBalancers reads, for the controller's first pass, the cluster's public and internal
// load balancers (one GET each), the public IPs of the cluster's resource group (one list, a
// call per page of ARM's) and the cluster NSG (one GET).
func (c *Cloud) ListLoadBalancers(ctx context.Context, clusterName string) (*providers.Listing, error) {
	s := c.cfg.settings(clusterName)
	l := &providers.Listing{Seq: c.writes.Begin(), At: time.Now(), Entries: map[string]providers.Listed{}}
	for _, internal := range []bool{false, true} {
		rg, name := s.LoadBalancerResourceGroup, loadBalancerName(s.LoadBalancerName, internal)
		lb, err := c.api.getLB(ctx, rg, name)
		if err != nil {
			return nil, fmt.Errorf("listing the load balancers of cluster %s: %w", clusterName, err)
		}
		etag := absent
		if lb != nil {
			etag = "etag:" + sval(lb.Etag)
		}
		l.Entries[lbKey(rg, name)] = listed(etag, lb)
	}
	pips, err := c.api.listPIPs(ctx, c.cfg.ResourceGroup)
	if err != nil {
		return nil, fmt.Errorf("listing the public IPs of cluster %s: %w", clusterName, err)
	}
	l.Entries[pipsKey(c.cfg.ResourceGroup)] = listed("list", pips)
	if s.SecurityGroupName != "" {
		rg, name := s.SecurityGroupResourceGroup, s.SecurityGroupName
		g, err := c.api.getNSG(ctx, rg, name)
		if err != nil {
			return nil, fmt.Errorf("listing the network security group of cluster %s: %w", clusterName, err)
		}
		etag := absent
		if g != nil {
			etag = "etag:" + sval(g.Etag)
		}
		l.Entries[nsgKey(rg, name)] = listed(etag, g)
	}
	return l, nil
}

// listed is the entry of one listed resource. Its Status is empty: a resource is not a
// Service; the Service's status comes from its diff.
func listed(hash string, obj any) providers.Listed {
	return providers.Listed{SpecHash: hash, Status: &v1.LoadBalancerStatus{}, Observed: obj}
}

// listingView serves a reconcile's reads from a Listing.
type listingView struct {
	l      *providers.Listing
	writes *providers.WriteLog
}

// get returns the listed object of resource key, ok false when the listing does not stand
// for a read of it (not listed, too old, or written by this process since).
func (v *listingView) get(key string) (any, bool) {
	if v == nil {
		return nil, false
	}
	e, ok := v.writes.Unchanged(v.l, key, func() string { return v.l.Entries[key].SpecHash })
	return e.Observed, ok
}

func (v *listingView) loadBalancer(rg, name string) (*armnetwork.LoadBalancer, bool) {
	x, ok := v.get(lbKey(rg, name))
	lb, _ := x.(*armnetwork.LoadBalancer)
	return lb, ok
}

func (v *listingView) securityGroup(rg, name string) (*armnetwork.SecurityGroup, bool) {
	x, ok := v.get(nsgKey(rg, name))
	g, _ := x.(*armnetwork.SecurityGroup)
	return g, ok
}

func (v *listingView) publicIPs(rg string) ([]*armnetwork.PublicIPAddress, bool) {
	x, ok := v.get(pipsKey(rg))
	pips, _ := x.([]*armnetwork.PublicIPAddress)
	return pips, ok
}

// publicIP is the public IP rg/name of the listed group (nil: it does not exist).
func (v *listingView) publicIP(rg, name string) (*armnetwork.PublicIPAddress, bool) {
	pips, ok := v.publicIPs(rg)
	if !ok {
		return nil, false
	}
	for _, p := range pips {
		if strings.EqualFold(sval(p.Name), name) {
			return p, true
		}
	}
	return nil, true
}

// writeKey is the WriteLog key of the resource w writes.
func writeKey(w *Write) string {
	switch w.Type {
	case typeLoadBalancers:
		return lbKey(w.ResourceGroup, w.Name)
	case typeSecurityGroups:
		return nsgKey(w.ResourceGroup, w.Name)
	case typePublicIPs:
		return pipsKey(w.ResourceGroup)
	}
	return strings.ToLower(w.Type + ":" + key(w.ResourceGroup, w.Name))
}

// ensureListed is the first sync of a Service with the controller's Listing: its reconcile
// planned from the listing (and what it does not hold, read). ok is true when nothing is to
// be written, with the status; false means: reconcile as usual.
func (c *Cloud) ensureListed(ctx context.Context, l *providers.Listing, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, bool) {
	m, err := c.build(clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, false
	}
	r := c.newReconcile(svc.UID, m, cfg.Azure, true)
	r.o.listing = &listingView{l: l, writes: &c.writes}
	key := replaceKey(cfg.Core.ReplaceToken, cfg.Azure)
	if d, err := r.guard(ctx, c.cfg.settings(clusterName), key); err != nil || d.kept != nil {
		return nil, false
	}
	withReplaceKey(r.m, key)
	st, err := r.ensure(ctx)
	if err != nil || len(r.planned) > 0 || unresolved(st) {
		return nil, false
	}
	pls := ""
	if r.m.PLS != nil {
		pls = plsID(r.m, r.o, r.x)
	}
	c.setPlacement(r.uid, &placement{internal: m.Internal, pipID: r.publicIPIDs(), plsID: pls, frontend: m.Frontend.Name})
	return st, true
}

// unresolved reports an address a plan could not know.
func unresolved(st *v1.LoadBalancerStatus) bool {
	for _, in := range st.Ingress {
		if in.IP == "" || in.IP == Unresolved {
			return true
		}
	}
	return false
}
