package servicecontroller

import (
	"context"
	"testing"
	"time"

	"github.com/cloudlb/cloudlb/providers"
)

// The first pass's Listing goes to the first sync of each pending Service only, and is let go
// with the last one or once too old.
func TestListingPassTake(t *testing.T) {
	ctx := context.Background()
	fresh := &providers.Listing{At: time.Now()}
	steps := []struct {
		key     string
		want    bool
		holding bool
	}{
		{"ns/a", true, true},   // first sync of a pending Service
		{"ns/a", false, true},  // its second sync observes in full
		{"ns/x", false, true},  // not in the pass
		{"ns/b", true, false},  // the last pending one: the listing is let go
		{"ns/c", false, false}, // nothing held any more
	}
	p := &listingPass{l: fresh, pending: map[string]bool{"ns/a": true, "ns/b": true}}
	for i, s := range steps {
		got := providers.ListingFrom(p.take(ctx, s.key)) == fresh
		if got != s.want || (p.l != nil) != s.holding {
			t.Errorf("step %d (%s): listing given %v, holding %v; want %v, %v", i, s.key, got, p.l != nil, s.want, s.holding)
		}
	}

	old := &providers.Listing{At: time.Now().Add(-providers.MaxListingAge - time.Second)}
	p = &listingPass{l: old, pending: map[string]bool{"ns/a": true}}
	if providers.ListingFrom(p.take(ctx, "ns/a")) != nil || p.l != nil {
		t.Error("a listing older than MaxListingAge was given out or kept")
	}
}
