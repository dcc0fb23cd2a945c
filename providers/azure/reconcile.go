package azure

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	cloudproviderapi "k8s.io/cloud-provider/api"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// reconcile is one reconcile of one Service, or the plan of one (PlanLoadBalancer): the
// steps of EnsureLoadBalancer, UpdateLoadBalancer and EnsureLoadBalancerDeleted, each a part
// that do carries out, with what was observed (and written) so far.
type reconcile struct {
	c   *Cloud
	m   *Model
	az  *annotations.AzureConfig
	uid types.UID
	x   ids
	o   *Observed
	// prev is where this Cloud last put the Service; known is false after a restart, when the
	// opposite load balancer and stale public IPs are looked at.
	prev  placement
	known bool
	// planning makes do observe and diff only (plan), collecting the writes in planned,
	// instead of converging; the Cloud's memory is left as it is.
	planning bool
	planned  []Write
	// kept is the configuration the replacement guard kept the Service on, nil if none.
	kept *annotations.AzureConfig
}

func (c *Cloud) newReconcile(uid types.UID, m *Model, az *annotations.AzureConfig, planning bool) *reconcile {
	prev, known := c.placement(uid)
	return &reconcile{c: c, m: m, az: az, uid: uid, x: c.ids(), o: newObserved(), prev: prev, known: known, planning: planning}
}

func (c *Cloud) ids() ids { return ids{c.cfg.SubscriptionID} }

// do carries out one part: converge, or plan when planning.
func (r *reconcile) do(ctx context.Context, pt part) error {
	if r.planning {
		return r.plan(ctx, pt)
	}
	return r.converge(ctx, pt)
}

// ensure puts the Service on its load balancer, in this order: its public IPs and the load
// balancer (the frontend), the NSG rules (which need the frontend's address), the Private
// Link Service (which needs the frontend), then what the Service left elsewhere: its parts of
// the opposite load balancer and the managed public IPs it no longer uses, only once the new
// frontend is in place.
func (r *reconcile) ensure(ctx context.Context) (*v1.LoadBalancerStatus, error) {
	m := r.m
	for _, pt := range r.frontendParts() {
		if err := r.do(ctx, pt); err != nil {
			return nil, fmt.Errorf("ensuring load balancer %s for %s: %w", m.LoadBalancer.Name, m.Service, err)
		}
	}
	ips, err := r.frontendIPs()
	if err != nil {
		return nil, fmt.Errorf("ensuring load balancer %s for %s: %w", m.LoadBalancer.Name, m.Service, err)
	}
	if m.Security != nil {
		pt := r.securityPart(m.Security.ResourceGroup, m.Security.Group, resolveSecurity(m.Security, ips))
		if err := r.do(ctx, pt); err != nil {
			return nil, fmt.Errorf("ensuring security rules for %s: %w", m.Service, err)
		}
	}
	plsID, err := r.ensurePLS(ctx)
	if err != nil {
		return nil, fmt.Errorf("ensuring the private link service of %s: %w", m.Service, err)
	}
	pipIDs := r.publicIPIDs()
	if err := r.cleanupElsewhere(ctx, pipIDs); err != nil {
		return nil, err
	}
	if !r.planning {
		r.c.setPlacement(r.uid, &placement{internal: m.Internal, pipID: pipIDs, plsID: plsID, frontend: m.Frontend.Name, kept: r.kept})
	}
	return status(ips.list(), m.AdditionalPublicIPs), nil
}

// frontendParts are the Service's public IPs (IPv4, then IPv6) and its load balancer.
func (r *reconcile) frontendParts() []part {
	m := r.m
	var parts []part
	if m.PublicIP != nil {
		parts = append(parts, r.publicIPPart(m.PublicIP))
	}
	if m.IPv6 != nil && m.IPv6.PublicIP != nil {
		parts = append(parts, r.publicIPPart(m.IPv6.PublicIP))
	}
	return append(parts, r.loadBalancerPart())
}

// frontendIPs are the frontends' addresses as observed once the frontend is written: the
// public IP's, or the internal frontend's private one. An address Azure has not given yet is
// a retry after pendingDelay; a plan shows the static address asked for, or Unresolved.
func (r *reconcile) frontendIPs() (frontendIPs, error) {
	m := r.m
	lb := r.o.LoadBalancers[key(m.LoadBalancer.ResourceGroup, m.LoadBalancer.Name)]
	var ips frontendIPs
	var err error
	if ips.v4, err = r.address(m.Frontend, m.PublicIP, lb); err != nil || m.IPv6 == nil {
		return ips, err
	}
	ips.v6, err = r.address(m.IPv6.Frontend, m.IPv6.PublicIP, lb)
	return ips, err
}

func (r *reconcile) address(f Frontend, pip *PublicIP, lb *armnetwork.LoadBalancer) (string, error) {
	ip := frontendPrivateIP(lb, f.Name)
	if pip != nil {
		ip = pipAddress(r.o.publicIP(pip))
	}
	switch {
	case ip != "":
		return ip, nil
	case r.planning && f.PrivateIP != "":
		return f.PrivateIP, nil
	case r.planning:
		return Unresolved, nil
	}
	return "", cloudproviderapi.NewRetryError(fmt.Sprintf("frontend %s has no address yet", f.Name), pendingDelay)
}

// publicIPIDs are the IDs of the frontends' public IPs joined with "," ("" for an internal
// Service), as the placement remembers them.
func (r *reconcile) publicIPIDs() string {
	m := withPublicIPIDs(r.m, r.o)
	id := m.Frontend.PublicIPID
	if m.IPv6 != nil && m.IPv6.PublicIP != nil {
		id += "," + m.IPv6.Frontend.PublicIPID
	}
	return id
}

// ensurePLS deletes the Private Link Service the Service had when azure-pls-create went away
// or its name or group changed (known since this process placed the Service; after a restart
// such a leftover goes with the Service), then creates or updates the wanted one. It returns
// the Private Link Service's ID, "" without one.
func (r *reconcile) ensurePLS(ctx context.Context) (string, error) {
	m := r.m
	if prev := r.prev.plsID; r.known && prev != "" && (m.PLS == nil || !idEqual(prev, r.x.privateLinkService(m.PLS.ResourceGroup, m.PLS.Name))) {
		if err := r.do(ctx, r.previousPLSPart(prev)); err != nil {
			return "", err
		}
	}
	if m.PLS == nil {
		return "", nil
	}
	if err := r.do(ctx, r.plsPart()); err != nil {
		return "", err
	}
	return plsID(m, r.o, r.x), nil
}

// cleanupElsewhere removes the Service from the opposite load balancer and releases public
// IPs it no longer uses, when its placement changed or is not known (first reconcile since
// start).
func (r *reconcile) cleanupElsewhere(ctx context.Context, pipIDs string) error {
	m := r.m
	if !r.known || r.prev.internal != m.Internal {
		other := m.LoadBalancer.Name + internalSuffix
		if m.Internal {
			other = strings.TrimSuffix(m.LoadBalancer.Name, internalSuffix)
		}
		if err := r.do(ctx, r.leavePart(m.LoadBalancer.ResourceGroup, other)); err != nil {
			return fmt.Errorf("removing %s from load balancer %s: %w", m.Service, other, err)
		}
	}
	if !r.known || !idEqual(r.prev.pipID, pipIDs) {
		if err := r.do(ctx, r.releasePart(r.c.pipResourceGroups(r.az), pipIDs)); err != nil {
			return fmt.Errorf("releasing public IPs of %s: %w", m.Service, err)
		}
	}
	return nil
}

// updateNodes brings the cluster pools of the Service's load balancer to the model's nodes,
// then the NSG rules that list node addresses (floating IP disabled).
func (r *reconcile) updateNodes(ctx context.Context) error {
	m := r.m
	if err := r.do(ctx, r.poolPart()); err != nil {
		return fmt.Errorf("updating the pool of load balancer %s for %s: %w", m.LoadBalancer.Name, m.Service, err)
	}
	if m.Security != nil && r.az.DisableFloatingIP {
		pt := r.securityPart(m.Security.ResourceGroup, m.Security.Group, resolveSecurity(m.Security, frontendIPs{}))
		if err := r.do(ctx, pt); err != nil {
			return fmt.Errorf("updating security rules for %s: %w", m.Service, err)
		}
	}
	return nil
}

// delete applies the empty model: the Private Link Services the Service is known to have,
// its NSG rules, its parts of both load balancers (a load balancer left without frontends is
// deleted), then its managed public IPs. az may be nil (annotations unreadable).
func (r *reconcile) delete(ctx context.Context, s Settings) error {
	m := r.m
	prevPLS := ""
	if r.known {
		prevPLS = r.prev.plsID
	}
	for _, id := range knownPLS(prevPLS, r.az, s, m.Service, m.Prefix) {
		if err := r.do(ctx, r.dropPLSPart(id)); err != nil && !providers.IsUserError(err) {
			return fmt.Errorf("deleting the private link service of %s: %w", m.Service, err)
		}
	}
	if s.SecurityGroupName != "" {
		if err := r.do(ctx, r.securityPart(s.SecurityGroupResourceGroup, s.SecurityGroupName, nil)); err != nil {
			return fmt.Errorf("deleting security rules of %s: %w", m.Service, err)
		}
	}
	for _, internal := range []bool{false, true} {
		name := loadBalancerName(s.LoadBalancerName, internal)
		if err := r.do(ctx, r.leavePart(s.LoadBalancerResourceGroup, name)); err != nil {
			return fmt.Errorf("removing %s from load balancer %s: %w", m.Service, name, err)
		}
	}
	if err := r.do(ctx, r.releasePart(r.c.pipResourceGroups(r.az), "")); err != nil {
		return fmt.Errorf("deleting public IPs of %s: %w", m.Service, err)
	}
	if !r.planning {
		r.c.setPlacement(r.uid, nil)
	}
	return nil
}
