package azure

import (
	"context"
	"strings"
)

// The parts of a reconcile, each binding what Observe reads to the Diff that plans its
// writes. Writes to a load balancer (and the public IPs its frontends use) or to the NSG are
// made under that resource's lock: Services of one load balancer take turns, each reading
// what the one before wrote, so they do not race one another to 412s.

func lbKey(rg, name string) string { return strings.ToLower("lb:" + rg + "/" + name) }

func nsgKey(rg, name string) string { return strings.ToLower("nsg:" + rg + "/" + name) }

// publicIPPart is the public IP a frontend wants (diffPublicIP).
func (r *reconcile) publicIPPart(want *PublicIP) part {
	name := want.Name
	if name == "" {
		name = "holding " + want.Address
	}
	return part{name: "public IP " + name, lock: lbKey(r.m.LoadBalancer.ResourceGroup, r.m.LoadBalancer.Name),
		observe: func(ctx context.Context, o *Observed) error { return r.c.observePublicIP(ctx, o, want) },
		diff:    func(o *Observed) (*Plan, error) { return diffPublicIP(r.m, want, o, r.x) }}
}

// loadBalancerPart is the Service's load balancer (diffServiceLB).
func (r *reconcile) loadBalancerPart() part {
	rg, name := r.m.LoadBalancer.ResourceGroup, r.m.LoadBalancer.Name
	return part{name: "load balancer " + name, lock: lbKey(rg, name),
		observe: func(ctx context.Context, o *Observed) error { return r.c.observeLB(ctx, o, rg, name) },
		diff:    func(o *Observed) (*Plan, error) { return diffServiceLB(r.m, o, r.x) }}
}

// poolPart is the cluster pools of the Service's load balancer (diffPool).
func (r *reconcile) poolPart() part {
	rg, name := r.m.LoadBalancer.ResourceGroup, r.m.LoadBalancer.Name
	return part{name: "load balancer " + name, lock: lbKey(rg, name),
		observe: func(ctx context.Context, o *Observed) error { return r.c.observeLB(ctx, o, rg, name) },
		diff:    func(o *Observed) (*Plan, error) { return diffPool(r.m, o, r.x) }}
}

// leavePart is the Service's parts of load balancer rg/name going (diffLeaveLB).
func (r *reconcile) leavePart(rg, name string) part {
	return part{name: "load balancer " + name, lock: lbKey(rg, name),
		observe: func(ctx context.Context, o *Observed) error { return r.c.observeLB(ctx, o, rg, name) },
		diff:    func(o *Observed) (*Plan, error) { return diffLeaveLB(r.m, o, r.x, rg, name) }}
}

// securityPart is the Service's rules in the NSG rg/name: want among those named with its
// prefix (diffSecurity).
func (r *reconcile) securityPart(rg, name string, want []SecurityRule) part {
	return part{name: "network security group " + name, lock: nsgKey(rg, name),
		observe: func(ctx context.Context, o *Observed) error { return r.c.observeNSG(ctx, o, rg, name) },
		diff:    func(o *Observed) (*Plan, error) { return diffSecurity(o, r.x, rg, name, r.m.Prefix, want) }}
}

// plsPart is the Service's Private Link Service (diffPLS).
func (r *reconcile) plsPart() part {
	want := r.m.PLS
	return part{name: "private link service " + want.Name,
		observe: func(ctx context.Context, o *Observed) error { return r.c.observePLSList(ctx, o, want.ResourceGroup) },
		diff:    func(o *Observed) (*Plan, error) { return diffPLS(r.m, o, r.x) }}
}

// previousPLSPart is the Private Link Service id the Service had (diffPreviousPLS).
func (r *reconcile) previousPLSPart(id string) part {
	rg, name := resourceGroupAndName(id)
	return part{name: "private link service " + id,
		observe: func(ctx context.Context, o *Observed) error { return r.c.observePLS(ctx, o, rg, name) },
		diff:    func(o *Observed) (*Plan, error) { return diffPreviousPLS(r.m, id, o, r.x) }}
}

// dropPLSPart is the Private Link Service id going if it is the Service's (diffDropPLS).
func (r *reconcile) dropPLSPart(id string) part {
	rg, name := resourceGroupAndName(id)
	return part{name: "private link service " + id,
		observe: func(ctx context.Context, o *Observed) error { return r.c.observePLS(ctx, o, rg, name) },
		diff:    func(o *Observed) (*Plan, error) { return diffDropPLS(r.m.Service, r.m.Cluster, id, o, r.x) }}
}

// releasePart is the Service's managed public IPs in the resource groups, but keepIDs
// (diffRelease).
func (r *reconcile) releasePart(rgs []string, keepIDs string) part {
	return part{name: "public IPs of " + r.m.Service,
		observe: func(ctx context.Context, o *Observed) error {
			for _, rg := range rgs {
				if err := r.c.observePIPList(ctx, o, rg); err != nil {
					return err
				}
			}
			return nil
		},
		diff: func(o *Observed) (*Plan, error) { return diffRelease(r.m.Service, r.m.Cluster, rgs, keepIDs, o, r.x) }}
}
