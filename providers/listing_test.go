package providers

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

func TestWriteLogUnchanged(t *testing.T) {
	status := &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: "192.0.2.1"}}}
	tests := []struct {
		name      string
		prepare   func(w *WriteLog) *Listing
		key, hash string
		want      bool
	}{
		{"listed with the desired hash", func(w *WriteLog) *Listing {
			return &Listing{Seq: w.Begin(), At: time.Now(), Entries: map[string]Listed{"a": {SpecHash: "h1", Status: status}}}
		}, "a", "h1", true},
		{"another hash", func(w *WriteLog) *Listing {
			return &Listing{Seq: w.Begin(), At: time.Now(), Entries: map[string]Listed{"a": {SpecHash: "h1", Status: status}}}
		}, "a", "h2", false},
		{"missing from the listing", func(w *WriteLog) *Listing {
			return &Listing{Seq: w.Begin(), At: time.Now(), Entries: map[string]Listed{"a": {SpecHash: "h1", Status: status}}}
		}, "b", "h1", false},
		{"no hash recorded", func(w *WriteLog) *Listing {
			return &Listing{Seq: w.Begin(), At: time.Now(), Entries: map[string]Listed{"a": {SpecHash: "", Status: status}}}
		}, "a", "", false},
		{"written after the listing began", func(w *WriteLog) *Listing {
			l := &Listing{Seq: w.Begin(), At: time.Now(), Entries: map[string]Listed{"a": {SpecHash: "h1", Status: status}}}
			w.Wrote("a")
			return l
		}, "a", "h1", false},
		{"written before the listing began", func(w *WriteLog) *Listing {
			w.Wrote("a")
			return &Listing{Seq: w.Begin(), At: time.Now(), Entries: map[string]Listed{"a": {SpecHash: "h1", Status: status}}}
		}, "a", "h1", true},
		{"another key written after", func(w *WriteLog) *Listing {
			l := &Listing{Seq: w.Begin(), At: time.Now(), Entries: map[string]Listed{"a": {SpecHash: "h1", Status: status}}}
			w.Wrote("b")
			return l
		}, "a", "h1", true},
		{"too old", func(w *WriteLog) *Listing {
			return &Listing{Seq: w.Begin(), At: time.Now().Add(-MaxListingAge - time.Second), Entries: map[string]Listed{"a": {SpecHash: "h1", Status: status}}}
		}, "a", "h1", false},
		{"no listing", func(*WriteLog) *Listing { return nil }, "a", "h1", false},
	}
	for _, tt := range tests {
		var w WriteLog
		l := tt.prepare(&w)
		if _, got := w.Unchanged(l, tt.key, func() string { return tt.hash }); got != tt.want {
			t.Errorf("%s: Unchanged = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestListingContext(t *testing.T) {
	if ListingFrom(context.Background()) != nil {
		t.Error("a bare context carries a listing")
	}
	l := &Listing{}
	if ListingFrom(WithListing(context.Background(), l)) != l {
		t.Error("WithListing's listing is not returned")
	}
}
