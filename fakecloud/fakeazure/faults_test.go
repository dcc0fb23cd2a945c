package fakeazure

import (
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.pip("pip", nil)
	c := e.f.NewPublicIPAddressesClient()
	const wait = 300 * time.Millisecond
	e.srv.SetFaults(fakecore.Faults{RetryAfter: wait})
	e.srv.FailNext("PublicIPAddresses.Get", 1, &fakecore.APIError{Status: http.StatusTooManyRequests, Code: "SubscriptionRequestsThrottled"})
	e.srv.ResetCalls()
	start := time.Now()
	if _, err := c.Get(ctx(t), testRG, "pip", nil); err != nil {
		t.Fatalf("the SDK did not retry the 429: %v", err)
	}
	if elapsed := time.Since(start); elapsed < wait {
		t.Fatalf("retried after %v, before Retry-After %v", elapsed, wait)
	}
	if n := e.srv.Calls()["PublicIPAddresses.Get"]; n != 2 {
		t.Fatalf("Get calls = %d, want 2 (throttled + retry)", n)
	}
}

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		faults fakecore.Faults
		status int
		code   string
	}{
		{"throttled", fakecore.Faults{ThrottleRate: 1, RetryAfter: 5 * time.Millisecond, Operations: []string{"PublicIPAddresses.Get"}}, http.StatusTooManyRequests, "SubscriptionRequestsThrottled"},
		{"server errors", fakecore.Faults{ServerErrorRate: 1, Operations: []string{"PublicIPAddresses.Get"}}, http.StatusInternalServerError, "InternalServerError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{})
			e.pip("pip", nil)
			e.srv.SetFaults(tc.faults)
			e.srv.ResetCalls()
			_, err := e.f.NewPublicIPAddressesClient().Get(ctx(t), testRG, "pip", nil)
			respErr(t, err, tc.status, tc.code)
			// ClientOptions retries 4 times: 5 calls, all faulted.
			if n := e.srv.Calls()["PublicIPAddresses.Get"]; n != 5 {
				t.Fatalf("Get calls = %d, want 5", n)
			}
			// Calls outside the filter are untouched.
			if _, err := e.f.NewPublicIPAddressesClient().NewListPager(testRG, nil).NextPage(ctx(t)); err != nil {
				t.Fatalf("unfaulted List: %v", err)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	const lat = 100 * time.Millisecond
	e.srv.SetFaults(fakecore.Faults{Latency: lat})
	start := time.Now()
	_, err := e.f.NewLoadBalancersClient().Get(ctx(t), testRG, "none", nil)
	respErr(t, err, http.StatusNotFound, "ResourceNotFound")
	if elapsed := time.Since(start); elapsed < lat {
		t.Fatalf("answered in %v, before the %v latency", elapsed, lat)
	}
}

func TestFailNextCountsAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.srv.FailNext("PublicIPAddresses.CreateOrUpdate", 1, &fakecore.APIError{Status: http.StatusConflict, Code: "AnotherOperationInProgress"})
	_, err := e.f.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx(t), testRG, "pip", armnetwork.PublicIPAddress{Location: ptr(testLocation)}, nil)
	respErr(t, err, http.StatusConflict, "AnotherOperationInProgress")
	if len(e.srv.Resources()) != 0 || e.srv.Writes() != 1 {
		t.Fatalf("resources %v, writes %d", e.srv.Resources(), e.srv.Writes())
	}
}
