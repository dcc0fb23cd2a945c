package azure

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// Observed is what Azure holds of the resources one Service's reconcile reads: only reads
// fill it (Observe), and each write's answer (Apply records it) replaces what was read, so
// the later parts of the reconcile see the frontend's new address. Resources are keyed by
// key(resource group, name); a key whose value is nil was read and does not exist.
type Observed struct {
	LoadBalancers  map[string]*armnetwork.LoadBalancer
	PublicIPs      map[string]*armnetwork.PublicIPAddress
	SecurityGroups map[string]*armnetwork.SecurityGroup
	// PrivateLinkServices are the Private Link Services read by name or ID.
	PrivateLinkServices map[string]*armnetwork.PrivateLinkService
	// PublicIPLists are the public IPs of a resource group (by lowercased name), listed to find
	// one by address and the Service's stale managed ones.
	PublicIPLists map[string][]*armnetwork.PublicIPAddress
	// PLSLists are the Private Link Services of a resource group, listed to find the one
	// attached to the Service's frontend.
	PLSLists map[string][]*armnetwork.PrivateLinkService
	// prefetched marks what the replacement guard read at the start of a reconcile, with the
	// WriteLog sequence before the read: the next observe of it uses that read instead of
	// another GET (a retry reads again), unless this process wrote it since.
	prefetched map[string]uint64
	// listing serves reads from the controller's Listing (nil: read from ARM).
	listing *listingView
}

// prefetch marks what a read just stored as good for the next observe of it; seq is the
// WriteLog's Begin before the read.
func (o *Observed) prefetch(what string, seq uint64) {
	if o.prefetched == nil {
		o.prefetched = map[string]uint64{}
	}
	o.prefetched[what] = seq
}

// take reports whether what was prefetched, with the sequence before its read, and forgets
// it.
func (o *Observed) take(what string) (uint64, bool) {
	seq, ok := o.prefetched[what]
	delete(o.prefetched, what)
	return seq, ok
}

func newObserved() *Observed {
	return &Observed{
		LoadBalancers: map[string]*armnetwork.LoadBalancer{}, PublicIPs: map[string]*armnetwork.PublicIPAddress{},
		SecurityGroups: map[string]*armnetwork.SecurityGroup{}, PrivateLinkServices: map[string]*armnetwork.PrivateLinkService{},
		PublicIPLists: map[string][]*armnetwork.PublicIPAddress{}, PLSLists: map[string][]*armnetwork.PrivateLinkService{},
	}
}

// key is the map key of a resource: ARM names and resource groups are case-insensitive.
func key(rg, name string) string { return strings.ToLower(rg + "/" + name) }

func (c *Cloud) observeLB(ctx context.Context, o *Observed, rg, name string) error {
	// Another Service's reconcile may have written the load balancer since the guard read
	// it (the guard reads outside the lock): its etag would be stale and the write a 412.
	if seq, ok := o.take("lb:" + key(rg, name)); ok && !c.writes.WroteSince(lbKey(rg, name), seq) {
		return nil
	}
	if lb, ok := o.listing.loadBalancer(rg, name); ok {
		o.LoadBalancers[key(rg, name)] = lb
		return nil
	}
	lb, err := c.api.getLB(ctx, rg, name)
	if err == nil {
		o.LoadBalancers[key(rg, name)] = lb
	}
	return err
}

func (c *Cloud) observePIP(ctx context.Context, o *Observed, rg, name string) error {
	if _, ok := o.take("pip:" + key(rg, name)); ok {
		return nil
	}
	if p, ok := o.listing.publicIP(rg, name); ok {
		o.PublicIPs[key(rg, name)] = p
		return nil
	}
	p, err := c.api.getPIP(ctx, rg, name)
	if err == nil {
		o.PublicIPs[key(rg, name)] = p
	}
	return err
}

func (c *Cloud) observePIPList(ctx context.Context, o *Observed, rg string) error {
	if pips, ok := o.listing.publicIPs(rg); ok {
		o.PublicIPLists[strings.ToLower(rg)] = pips
		return nil
	}
	pips, err := c.api.listPIPs(ctx, rg)
	if err == nil {
		o.PublicIPLists[strings.ToLower(rg)] = pips
	}
	return err
}

// observePublicIP reads the public IP a frontend wants: by name, or the public IPs of its
// resource group to find the one holding the wanted address.
func (c *Cloud) observePublicIP(ctx context.Context, o *Observed, want *PublicIP) error {
	if want.Address != "" {
		return c.observePIPList(ctx, o, want.ResourceGroup)
	}
	return c.observePIP(ctx, o, want.ResourceGroup, want.Name)
}

func (c *Cloud) observeNSG(ctx context.Context, o *Observed, rg, name string) error {
	if g, ok := o.listing.securityGroup(rg, name); ok {
		o.SecurityGroups[key(rg, name)] = g
		return nil
	}
	g, err := c.api.getNSG(ctx, rg, name)
	if err == nil {
		o.SecurityGroups[key(rg, name)] = g
	}
	return err
}

func (c *Cloud) observePLS(ctx context.Context, o *Observed, rg, name string) error {
	p, err := c.api.getPLS(ctx, rg, name)
	if err == nil {
		o.PrivateLinkServices[key(rg, name)] = p
	}
	return err
}

func (c *Cloud) observePLSList(ctx context.Context, o *Observed, rg string) error {
	all, err := c.api.listPLS(ctx, rg)
	if err == nil {
		o.PLSLists[strings.ToLower(rg)] = all
	}
	return err
}

// publicIPByAddress is the public IP of the resource group's list holding address; nil when
// none does.
func (o *Observed) publicIPByAddress(rg, address string) *armnetwork.PublicIPAddress {
	for _, p := range o.PublicIPLists[strings.ToLower(rg)] {
		if p.Properties != nil && sval(p.Properties.IPAddress) == address {
			return p
		}
	}
	return nil
}

// record makes what Observe holds for w's resource what ARM answered to it: the resource as
// written (res) for a PUT, nothing for a DELETE.
func (o *Observed) record(w *Write, res any) {
	k := key(w.ResourceGroup, w.Name)
	deleted := w.Method == http.MethodDelete
	switch w.Type {
	case typeLoadBalancers:
		lb, _ := res.(*armnetwork.LoadBalancer)
		o.LoadBalancers[k] = lb
	case typeSecurityGroups:
		g, _ := res.(*armnetwork.SecurityGroup)
		o.SecurityGroups[k] = g
	case typePublicIPs:
		p, _ := res.(*armnetwork.PublicIPAddress)
		o.PublicIPs[k] = p
		recordInList(o.PublicIPLists, w, p, deleted, func(p *armnetwork.PublicIPAddress) string { return sval(p.Name) })
	case typePLS:
		p, _ := res.(*armnetwork.PrivateLinkService)
		o.PrivateLinkServices[k] = p
		recordInList(o.PLSLists, w, p, deleted, func(p *armnetwork.PrivateLinkService) string { return sval(p.Name) })
	}
}

// recordInList replaces (or, for a delete, removes) w's resource in its resource group's
// list, when that list was read.
func recordInList[T any](lists map[string][]*T, w *Write, res *T, deleted bool, name func(*T) string) {
	rg := strings.ToLower(w.ResourceGroup)
	list, ok := lists[rg]
	if !ok {
		return
	}
	i := slices.IndexFunc(list, func(r *T) bool { return strings.EqualFold(name(r), w.Name) })
	switch {
	case deleted && i >= 0:
		list = slices.Delete(slices.Clone(list), i, i+1)
	case deleted || res == nil:
	case i >= 0:
		list = slices.Clone(list)
		list[i] = res
	default:
		list = append(slices.Clone(list), res)
	}
	lists[rg] = list
}

// publicIP is the observed public IP a frontend wants (want nil: none); nil when it does not
// exist or was not found by its address.
func (o *Observed) publicIP(want *PublicIP) *armnetwork.PublicIPAddress {
	switch {
	case want == nil:
		return nil
	case want.Address != "":
		return o.publicIPByAddress(want.ResourceGroup, want.Address)
	}
	return o.PublicIPs[key(want.ResourceGroup, want.Name)]
}
