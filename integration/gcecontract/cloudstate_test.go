package gcecontract_test

import (
	"context"
	"fmt"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
)

// The suite reads the cloud through its own apiv1 clients, as a user with gcloud would.

func rule(t *testing.T, name string) *computepb.ForwardingRule {
	t.Helper()
	c, err := compute.NewForwardingRulesRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Get(t.Context(), &computepb.GetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: name})
	if err != nil {
		return nil
	}
	return r
}

func backendService(t *testing.T, name string) *computepb.BackendService {
	t.Helper()
	c, err := compute.NewRegionBackendServicesRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := c.Get(t.Context(), &computepb.GetRegionBackendServiceRequest{Project: project, Region: region, BackendService: name})
	if err != nil {
		return nil
	}
	return b
}

// reserveAddress reserves an external address the way a user would and releases it when
// the test ends; it returns the IP.
func reserveAddress(t *testing.T, name string) string {
	t.Helper()
	c, err := compute.NewAddressesRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	op, err := c.Insert(t.Context(), &computepb.InsertAddressRequest{Project: project, Region: region,
		AddressResource: &computepb.Address{Name: &name}})
	if err == nil {
		err = op.Wait(t.Context())
	}
	if err != nil {
		t.Fatalf("reserve address %s: %v", name, err)
	}
	a, err := c.Get(t.Context(), &computepb.GetAddressRequest{Project: project, Region: region, Address: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := compute.NewAddressesRESTClient(context.Background(), clientOpts()...)
		if err != nil {
			return
		}
		defer c.Close()
		// After the test's Services are gone (cleanups run last-in first-out, and the
		// tenant was created first); the address must still be there: it is the user's.
		if op, err := c.Delete(context.Background(), &computepb.DeleteAddressRequest{Project: project, Region: region, Address: name}); err != nil {
			t.Errorf("the user's address %s was released by the provider: %v", name, err)
		} else {
			_ = op.Wait(context.Background())
		}
	})
	return a.GetAddress()
}

// waitRule waits until the Service's forwarding rule satisfies ok.
func waitRule(t *testing.T, lb string, ok func(*computepb.ForwardingRule) error) {
	t.Helper()
	waitFor(t, "forwarding rule "+lb, func() (bool, string) {
		r := rule(t, lb)
		if r == nil {
			return false, "no rule"
		}
		if err := ok(r); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// waitBackend waits until the backend service named by the Service's rule satisfies ok.
func waitBackend(t *testing.T, lb string, ok func(*computepb.BackendService) error) {
	t.Helper()
	waitFor(t, "backend service of "+lb, func() (bool, string) {
		r := rule(t, lb)
		if r == nil || r.GetBackendService() == "" {
			return false, fmt.Sprintf("rule %v", r)
		}
		b := backendService(t, lastSegment(r.GetBackendService()))
		if b == nil {
			return false, "no backend service"
		}
		if err := ok(b); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

func lastSegment(u string) string {
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '/' {
			return u[i+1:]
		}
	}
	return u
}

func want[T comparable](what string, got, want T) error {
	if got != want {
		return fmt.Errorf("%s = %v, want %v", what, got, want)
	}
	return nil
}
