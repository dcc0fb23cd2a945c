package fakeazure

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

func TestEtagPreconditions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.f.NewPublicIPAddressesClient()
	first := e.pip("pip", nil)
	second := e.pip("pip", map[string]*string{"v": ptr("2")})
	if str(first.Etag) == str(second.Etag) {
		t.Fatal("an update kept the etag")
	}
	body := armnetwork.PublicIPAddress{Location: ptr(testLocation)}
	for _, tc := range []struct {
		name, header, value, pip string
		wantStatus               int
	}{
		{"stale If-Match", "If-Match", str(first.Etag), "pip", http.StatusPreconditionFailed},
		{"current If-Match", "If-Match", str(second.Etag), "pip", 0},
		{"If-Match on a missing resource", "If-Match", "*", "missing", http.StatusPreconditionFailed},
		{"If-None-Match * on an existing resource", "If-None-Match", "*", "pip", http.StatusPreconditionFailed},
		{"If-None-Match * creates", "If-None-Match", "*", "fresh", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], error) {
				return c.BeginCreateOrUpdate(withHeader(ctx(t), tc.header, tc.value), testRG, tc.pip, body, nil)
			})
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			respErr(t, err, tc.wantStatus, "PreconditionFailed")
		})
	}

	// Child resources carry their parent's etag and honour If-Match too.
	nsg, err := e.putNSG("nsg", allowRule("a", 100, "80"))
	if err != nil {
		t.Fatal(err)
	}
	rules := e.f.NewSecurityRulesClient()
	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.SecurityRulesClientCreateOrUpdateResponse], error) {
		return rules.BeginCreateOrUpdate(withHeader(ctx(t), "If-Match", str(nsg.Etag)), testRG, "nsg", "a", *allowRule("a", 101, "80"), nil)
	}); err != nil {
		t.Fatal(err)
	}
	_, err = rules.BeginCreateOrUpdate(withHeader(ctx(t), "If-Match", str(nsg.Etag)), testRG, "nsg", "a", *allowRule("a", 102, "80"), nil)
	respErr(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
	_, err = rules.BeginDelete(withHeader(ctx(t), "If-Match", str(nsg.Etag)), testRG, "nsg", "a", nil)
	respErr(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
}

func TestAsyncOperationPolling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.srv.SetAsyncPolls(3)
	c := e.f.NewPublicIPAddressesClient()

	poller, err := c.BeginCreateOrUpdate(ctx(t), testRG, "pip", armnetwork.PublicIPAddress{Location: ptr(testLocation)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if poller.Done() {
		t.Fatal("poller done before any poll: the first answer must say Updating")
	}
	resp, err := poller.Poll(ctx(t))
	if err != nil || resp.StatusCode != http.StatusOK || poller.Done() {
		t.Fatalf("first poll: %v, done %v", err, poller.Done())
	}
	res, err := poller.PollUntilDone(ctx(t), pollFast)
	if err != nil {
		t.Fatal(err)
	}
	if *res.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded {
		t.Fatalf("final state %s", *res.Properties.ProvisioningState)
	}
	calls := e.srv.Calls()
	// Three InProgress answers then Succeeded; the SDK's final GET counts as a Get.
	if calls["AsyncOperation.Get"] != 4 || calls["PublicIPAddresses.Get"] != 1 || calls["PublicIPAddresses.CreateOrUpdate"] != 1 {
		t.Fatalf("calls = %v", calls)
	}
	if e.srv.Writes() != 1 {
		t.Fatalf("writes = %d, want 1 (polls are reads)", e.srv.Writes())
	}

	e.srv.SetAsyncPolls(-1)
	e.srv.ResetCalls()
	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientDeleteResponse], error) {
		return c.BeginDelete(ctx(t), testRG, "pip", nil)
	}); err != nil {
		t.Fatal(err)
	}
	if calls := e.srv.Calls(); calls["AsyncOperation.Get"] != 1 || calls["PublicIPAddresses.Delete"] != 1 {
		t.Fatalf("delete calls = %v", calls)
	}
}

func TestAsyncOperationFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.f.NewPublicIPAddressesClient()
	e.srv.FailNext("PublicIPAddresses.CreateOrUpdate", 1, &fakecore.APIError{Code: "AllocationFailed", Async: true})
	_, err := pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], error) {
		return c.BeginCreateOrUpdate(ctx(t), testRG, "pip", armnetwork.PublicIPAddress{Location: ptr(testLocation)}, nil)
	})
	respErr(t, err, http.StatusOK, "AllocationFailed")
	_, err = c.Get(ctx(t), testRG, "pip", nil)
	respErr(t, err, http.StatusNotFound, "ResourceNotFound")

	// A client that sends the read-only provisioningState back must still see the failure:
	// the accepted answer says Updating, so the poller waits for the operation.
	e.srv.FailNext("PublicIPAddresses.CreateOrUpdate", 1, &fakecore.APIError{Code: "AllocationFailed", Async: true})
	_, err = pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], error) {
		return c.BeginCreateOrUpdate(ctx(t), testRG, "pip", armnetwork.PublicIPAddress{Location: ptr(testLocation),
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{ProvisioningState: ptr(armnetwork.ProvisioningStateSucceeded)}}, nil)
	})
	respErr(t, err, http.StatusOK, "AllocationFailed")

	e.pip("pip", nil)
	e.srv.FailNext("PublicIPAddresses.Delete", 1, &fakecore.APIError{Code: "InternalServerError", Async: true})
	_, err = pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientDeleteResponse], error) {
		return c.BeginDelete(ctx(t), testRG, "pip", nil)
	})
	respErr(t, err, http.StatusOK, "InternalServerError")
	if _, err := c.Get(ctx(t), testRG, "pip", nil); err != nil {
		t.Fatalf("a failed delete removed the resource: %v", err)
	}
}

// A second write before the first operation finished supersedes it, as in ARM.
func TestSupersededOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.srv.SetAsyncPolls(2)
	c := e.f.NewPublicIPAddressesClient()
	first, err := c.BeginCreateOrUpdate(ctx(t), testRG, "pip", armnetwork.PublicIPAddress{Location: ptr(testLocation)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.BeginCreateOrUpdate(ctx(t), testRG, "pip", armnetwork.PublicIPAddress{Location: ptr(testLocation),
		Tags: map[string]*string{"v": ptr("2")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = first.PollUntilDone(ctx(t), pollFast)
	respErr(t, err, http.StatusOK, "CanceledAndSupersededDueToAnotherOperation")
	res, err := second.PollUntilDone(ctx(t), pollFast)
	if err != nil || str(res.Tags["v"]) != "2" {
		t.Fatalf("second write: %v, tags %v", err, res.Tags)
	}
}
