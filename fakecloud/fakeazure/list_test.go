package fakeazure

import (
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

func TestListsPaginate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{PageSize: 2})
	for i := range 5 {
		e.pip(fmt.Sprintf("pip-%d", i), nil)
	}
	other, err := e.f.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx(t), "other-rg", "elsewhere", armnetwork.PublicIPAddress{Location: ptr(testLocation)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.PollUntilDone(ctx(t), pollFast); err != nil {
		t.Fatal(err)
	}

	e.srv.ResetCalls()
	names, pages := collect(t, e.f.NewPublicIPAddressesClient().NewListPager(testRG, nil))
	if strings.Join(names, ",") != "pip-0,pip-1,pip-2,pip-3,pip-4" || pages != 3 {
		t.Fatalf("List = %v in %d pages, want 5 in creation order in 3 pages", names, pages)
	}
	if n := e.srv.Calls()["PublicIPAddresses.List"]; n != 3 {
		t.Fatalf("List calls = %d, want 3 (one per page)", n)
	}
	all, _ := collect(t, e.f.NewPublicIPAddressesClient().NewListAllPager(nil))
	if len(all) != 6 {
		t.Fatalf("ListAll = %v, want 6 across resource groups", all)
	}
	empty, pages := collect(t, e.f.NewPublicIPAddressesClient().NewListPager("empty-rg", nil))
	if len(empty) != 0 || pages != 1 {
		t.Fatalf("empty List = %v in %d pages", empty, pages)
	}
}

// collect drains a pager of named resources.
func collect[T any](t *testing.T, p *runtime.Pager[T]) (names []string, pages int) {
	t.Helper()
	for p.More() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		names = append(names, pageNames(page)...)
	}
	return names, pages
}

func pageNames(page any) []string {
	var out []string
	switch p := page.(type) {
	case armnetwork.PublicIPAddressesClientListResponse:
		for _, v := range p.Value {
			out = append(out, str(v.Name))
		}
	case armnetwork.PublicIPAddressesClientListAllResponse:
		for _, v := range p.Value {
			out = append(out, str(v.Name))
		}
	}
	return out
}
