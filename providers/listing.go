package providers

import (
	"context"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Batched observation. When the controller starts (or takes over as leader) it syncs every
// Service once; observing each load balancer on its own costs a few reads per Service. A
// provider that implements Lister instead lists what the cloud has for the cluster in a few
// calls (pages of load balancers, tags for many at once), and each Service's first sync reads
// its entry from that Listing: when the spec hash the load balancer carries is the hash of
// the Service's desired model, the sync is done without a call of its own. A Service that
// differs, is missing from the listing, or whose load balancer this process wrote since the
// listing began, gets the full observation, so a stale listing costs at most an extra read,
// never a skipped write. A change made by someone else after the listing (as after any read)
// is found by drift repair, which always observes in full.

// Lister is implemented by providers that can observe every load balancer of a cluster at once.
type Lister interface {
	// ListLoadBalancers lists the cluster's load balancers. The provider reads the Listing
	// back from the context of an Ensure call (ListingFrom).
	ListLoadBalancers(ctx context.Context, clusterName string) (*Listing, error)
}

// MaxListingAge bounds how long a Listing is used: past it, Services are observed one by one.
const MaxListingAge = 2 * time.Minute

// Listing is what one listing pass saw, by the provider's own key of a load balancer.
type Listing struct {
	// Seq is the provider's write sequence when the listing began (WriteLog.Begin).
	Seq uint64
	// At is when the listing began.
	At time.Time
	// Entries are the listed load balancers.
	Entries map[string]Listed
}

// Listed is one load balancer of a Listing.
type Listed struct {
	// SpecHash is the hash of the model last applied, as recorded on the cloud object.
	SpecHash string
	// Status is the load balancer's status as the listing shows it.
	Status *v1.LoadBalancerStatus
	// Observed is what the listing saw of the load balancer, in the provider's own form, for a
	// provider whose no-op check needs more than the hash (nil otherwise).
	Observed any
}

type listingKey struct{}

// WithListing returns ctx carrying l for the provider's Ensure.
func WithListing(ctx context.Context, l *Listing) context.Context {
	return context.WithValue(ctx, listingKey{}, l)
}

// ListingFrom returns the Listing ctx carries, or nil.
func ListingFrom(ctx context.Context) *Listing {
	l, _ := ctx.Value(listingKey{}).(*Listing)
	return l
}

// WriteLog is a provider's record of which load balancers it wrote and when, in a sequence
// shared with its listings. The zero value is ready to use.
type WriteLog struct {
	mu   sync.Mutex
	seq  uint64
	last map[string]uint64
}

// Begin returns the sequence a listing starting now records as its Seq.
func (w *WriteLog) Begin() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	return w.seq
}

// Wrote records a write (or an attempt, which may have changed the cloud) to key. Call it after
// the write returns.
func (w *WriteLog) Wrote(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	if w.last == nil {
		w.last = map[string]uint64{}
	}
	w.last[key] = w.seq
}

// WroteSince reports whether this process wrote key (or tried to) after seq, a value of
// Begin: a read made after that Begin may be stale.
func (w *WriteLog) WroteSince(key string, seq uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[key] > seq
}

// Unchanged returns l's entry for key when it may stand for a read of the cloud: l is
// not older than MaxListingAge, it has key, this process wrote nothing to key since l began,
// and its spec hash is specHash(). specHash is called only when everything else holds, so an
// Ensure without a listing (every one but a first pass's) computes no hash for it. ok false
// means: observe the load balancer.
func (w *WriteLog) Unchanged(l *Listing, key string, specHash func() string) (Listed, bool) {
	if l == nil || time.Since(l.At) > MaxListingAge {
		return Listed{}, false
	}
	e, ok := l.Entries[key]
	if !ok || e.SpecHash == "" || e.Status == nil {
		return Listed{}, false
	}
	w.mu.Lock()
	written := w.last[key] > l.Seq
	w.mu.Unlock()
	if written || e.SpecHash != specHash() {
		return Listed{}, false
	}
	return e, true
}
