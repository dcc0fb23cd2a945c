package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/providers"
)

// part is the unit Apply converges: the ARM resources one step of a reconcile reads and
// writes together (the Service's public IP, its load balancer, the cluster NSG, ...), with
// the lock its writes are made under ("" for none). observe only reads, diff is pure.
type part struct {
	// name is what an error says ("load balancer demo").
	name    string
	lock    string
	observe func(ctx context.Context, o *Observed) error
	diff    func(o *Observed) (*Plan, error)
}

// converge is the one loop of the provider that writes. Under the part's lock it observes
// the part's resources, diffs them with the model and makes the plan's writes in order,
// recording each answer in o. A write that lost a race (another writer changed the resource
// since it was read: 412 on its etag, or ARM's 409 "superseded") observes and diffs again,
// as does one ARM refuses because a Private Link Service still references the frontend it
// removes: that Private Link Service is deleted first when it is the Service's, as upstream
// does. At most maxConflictRetries rounds.
func (r *reconcile) converge(ctx context.Context, pt part) error {
	if pt.lock != "" {
		defer r.c.locks.lock(pt.lock)()
	}
	o := r.o
	log := klog.FromContext(ctx)
	for range maxConflictRetries {
		if err := pt.observe(ctx, o); err != nil {
			return err
		}
		p, err := pt.diff(o)
		if err != nil {
			return err
		}
		if p.Note != "" {
			log.V(2).Info("Left alone", "part", pt.name, "why", p.Note)
		}
		err = r.c.apply(ctx, o, p)
		if isConflict(err) {
			log.V(2).Info("Changed concurrently, reading it again", "part", pt.name, "err", err.Error())
			continue
		}
		if pls := blockingPLS(err); pls != "" {
			if err := r.converge(ctx, r.dropPLSPart(pls)); err != nil {
				return err
			}
			continue
		}
		return err
	}
	return fmt.Errorf("%s: still changing under us after %d attempts", pt.name, maxConflictRetries)
}

// apply makes the plan's writes in order, each audited with its step, and records ARM's
// answers in o; it stops at the first error.
func (c *Cloud) apply(ctx context.Context, o *Observed, p *Plan) error {
	for i := range p.Writes {
		w := &p.Writes[i]
		res, err := c.write(providers.WithStep(ctx, w.Step), w)
		if err != nil {
			return err
		}
		o.record(w, res)
		log := klog.FromContext(ctx)
		if w.Method == http.MethodDelete {
			log.Info("Deleted Azure resource", "type", w.Type, "name", w.Name, "step", w.Step)
		} else {
			log.V(2).Info("Wrote Azure resource", "type", w.Type, "name", w.Name, "changes", w.Changes)
		}
	}
	return nil
}

// write sends one write: a conditional PUT of its body, or a DELETE, and records it in the
// WriteLog (after it returns, failed or not: a failed write may have changed the resource),
// so no Listing taken before stands for a read of the resource any more.
func (c *Cloud) write(ctx context.Context, w *Write) (any, error) {
	defer c.writes.Wrote(writeKey(w))
	rg, name := w.ResourceGroup, w.Name
	switch {
	case w.Method == http.MethodDelete && w.Type == typeLoadBalancers:
		return nil, c.api.deleteLB(ctx, rg, name, w.Etag)
	case w.Method == http.MethodDelete && w.Type == typePublicIPs:
		return nil, c.api.deletePIP(ctx, rg, name, w.Etag)
	case w.Method == http.MethodDelete && w.Type == typePLS:
		return nil, c.api.deletePLS(ctx, rg, name, w.Etag)
	}
	switch b := w.Body.(type) {
	case *armnetwork.LoadBalancer:
		return c.api.putLB(ctx, rg, name, b)
	case *armnetwork.PublicIPAddress:
		return c.api.putPIP(ctx, rg, name, b)
	case *armnetwork.SecurityGroup:
		return c.api.putNSG(ctx, rg, name, b)
	case *armnetwork.PrivateLinkService:
		return c.api.putPLS(ctx, rg, name, b)
	}
	return nil, fmt.Errorf("azure: no %s of %s %s", w.Method, w.Type, name)
}

var plsIDRE = regexp.MustCompile(`(?i)/subscriptions/[^/\s]+/resourceGroups/[^/\s]+/providers/Microsoft\.Network/privateLinkServices/[\w.-]*\w`)

// blockingPLS returns the Private Link Service named by an ARM refusal (400) to remove a
// load balancer or frontend it references, "" for other errors. The code of the load
// balancer's case is CannotDeleteLoadBalancerWithPrivateLinkService; the frontend's was not
// found in public material, so any 400 whose message names a Private Link Service counts.
func blockingPLS(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 {
		return ""
	}
	return plsIDRE.FindString(err.Error())
}
