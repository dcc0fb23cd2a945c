package fakegce

import (
	"fmt"
	"net/http"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"
)

// TestListLabelFilterAndPages lists forwarding rules by a dashed label key, as providers/gce's
// listing does, page by page: the filter applies before the pages, pages hold at most 500, a
// filter mixing the regexp form with comparisons is refused, as is a page size above 500.
func TestListLabelFilterAndPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.externalLB(t, "mine", &computepb.ForwardingRule{Labels: map[string]string{"cloudlb-cluster-id": "c1", "cloudlb-spec": "h1"}})
	e.externalLB(t, "theirs", &computepb.ForwardingRule{Labels: map[string]string{"cloudlb-cluster-id": "c2"}})
	e.externalLB(t, "bare", nil)
	names := func(filter string, max uint32) ([]string, int, error) {
		it := e.fr.List(e.ctx, &computepb.ListForwardingRulesRequest{Project: project, Region: region, Filter: proto.String(filter)})
		token, pages := "", 0
		var out []string
		for {
			var page []*computepb.ForwardingRule
			next, err := iterator.NewPager(it, int(max), token).NextPage(&page)
			if err != nil {
				return nil, pages, err
			}
			pages++
			for _, r := range page {
				out = append(out, r.GetName())
			}
			if next == "" {
				return out, pages, nil
			}
			token = next
			it = e.fr.List(e.ctx, &computepb.ListForwardingRulesRequest{Project: project, Region: region, Filter: proto.String(filter)})
		}
	}
	for filter, want := range map[string]string{
		`labels.cloudlb-cluster-id = "c1"`: "[mine]", `labels.cloudlb-cluster-id != "c1"`: "[bare theirs]",
		"labels.cloudlb-spec:*": "[mine]", `(labels.cloudlb-cluster-id = c2) (name = "mine")`: "[]",
	} {
		got, _, err := names(filter, 500)
		ok(t, "list "+filter, err)
		if fmt.Sprint(got) != want && !(want == "[]" && got == nil) {
			t.Errorf("filter %q: %v, want %s", filter, got, want)
		}
	}
	_, _, err := names(`(name eq mine) (labels.cloudlb-spec = h1)`, 500)
	wantCode(t, "mixed filter", err, http.StatusBadRequest, "invalid")
	code, _ := e.raw(t, http.MethodGet, "regions/"+region+"/forwardingRules?maxResults=501", "")
	if code != http.StatusBadRequest {
		t.Errorf("maxResults=501: HTTP %d, want 400", code)
	}

	// 501 labelled addresses and one other: two pages of the filtered list.
	for i := range 501 {
		ok(t, "insert address", e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region,
			AddressResource: &computepb.Address{Name: proto.String(fmt.Sprintf("a%d", i)), Labels: map[string]string{"cloudlb-cluster-id": "c1"}}})))
	}
	ok(t, "insert address", e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region,
		AddressResource: &computepb.Address{Name: proto.String("other")}})))
	it := e.addr.List(e.ctx, &computepb.ListAddressesRequest{Project: project, Region: region, Filter: proto.String(`labels.cloudlb-cluster-id = "c1"`)})
	var first []*computepb.Address
	next, err := iterator.NewPager(it, 500, "").NextPage(&first)
	ok(t, "first page", err)
	if len(first) != 500 || next == "" {
		t.Fatalf("first page: %d addresses, next %q; want 500 and a token", len(first), next)
	}
	it = e.addr.List(e.ctx, &computepb.ListAddressesRequest{Project: project, Region: region, Filter: proto.String(`labels.cloudlb-cluster-id = "c1"`)})
	var second []*computepb.Address
	next, err = iterator.NewPager(it, 500, next).NextPage(&second)
	ok(t, "second page", err)
	if len(second) != 1 || next != "" || second[0].GetName() == "other" {
		t.Errorf("second page: %d addresses, next %q; want the last labelled one and no token", len(second), next)
	}
}
