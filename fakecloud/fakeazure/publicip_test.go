package fakeazure

import (
	"net/http"
	"net/netip"
	"regexp"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

var etagRE = regexp.MustCompile(`^W/"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$`)

func TestPublicIPLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.f.NewPublicIPAddressesClient()

	a := e.pip("pip-a", map[string]*string{"owner": ptr("alice")})
	b := e.pip("pip-b", nil)
	for _, p := range []*armnetwork.PublicIPAddress{a, b} {
		ip, err := netip.ParseAddr(str(p.Properties.IPAddress))
		if err != nil || !publicPoolV4.Contains(ip) {
			t.Fatalf("%s: ipAddress %q not in %s", str(p.Name), str(p.Properties.IPAddress), publicPoolV4)
		}
		if !etagRE.MatchString(str(p.Etag)) {
			t.Errorf("%s: etag %q is not W/\"<uuid>\"", str(p.Name), str(p.Etag))
		}
		if *p.SKU.Name != armnetwork.PublicIPAddressSKUNameStandard || *p.Properties.PublicIPAllocationMethod != armnetwork.IPAllocationMethodStatic {
			t.Errorf("%s: sku %v allocation %v, want Standard Static defaults", str(p.Name), *p.SKU.Name, *p.Properties.PublicIPAllocationMethod)
		}
		if *p.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded || str(p.ID) != e.id("publicIPAddresses", str(p.Name)) {
			t.Errorf("%s: state %v id %q", str(p.Name), *p.Properties.ProvisioningState, str(p.ID))
		}
	}
	if str(a.Properties.IPAddress) == str(b.Properties.IPAddress) {
		t.Fatalf("two public IPs share %s", str(a.Properties.IPAddress))
	}

	// An update keeps the address and renews the etag.
	a.Tags["owner"] = ptr("bob")
	up, err := pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], error) {
		return c.BeginCreateOrUpdate(ctx(t), testRG, "pip-a", *a, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if str(up.Properties.IPAddress) != str(a.Properties.IPAddress) || str(up.Etag) == str(a.Etag) || str(up.Tags["owner"]) != "bob" {
		t.Fatalf("update: ip %s->%s etag %s->%s tags %v", str(a.Properties.IPAddress), str(up.Properties.IPAddress), str(a.Etag), str(up.Etag), up.Tags)
	}

	// UpdateTags is a synchronous PATCH.
	tagged, err := c.UpdateTags(ctx(t), testRG, "pip-b", armnetwork.TagsObject{Tags: map[string]*string{"x": ptr("y")}}, nil)
	if err != nil || str(tagged.Tags["x"]) != "y" || str(tagged.Etag) == str(b.Etag) {
		t.Fatalf("UpdateTags: %v %v", err, tagged.Tags)
	}

	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientDeleteResponse], error) {
		return c.BeginDelete(ctx(t), testRG, "pip-a", nil)
	}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(ctx(t), testRG, "pip-a", nil)
	respErr(t, err, http.StatusNotFound, "ResourceNotFound")
	// Deleting what is gone succeeds (204), as in ARM.
	if _, err := pollPut(t, func() (*runtime.Poller[armnetwork.PublicIPAddressesClientDeleteResponse], error) {
		return c.BeginDelete(ctx(t), testRG, "pip-a", nil)
	}); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func TestPublicIPValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.f.NewPublicIPAddressesClient()
	dynamic := armnetwork.IPAllocationMethodDynamic
	for _, tc := range []struct {
		name, pipName string
		pip           armnetwork.PublicIPAddress
		code          string
	}{
		{"no location", "p1", armnetwork.PublicIPAddress{}, "LocationRequired"},
		{"bad name", "-bad", armnetwork.PublicIPAddress{Location: ptr(testLocation)}, "InvalidResourceName"},
		{"standard dynamic", "p2", armnetwork.PublicIPAddress{Location: ptr(testLocation),
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: &dynamic}}, "StandardSkuPublicIPAddressesMustBeStatic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.BeginCreateOrUpdate(ctx(t), testRG, tc.pipName, tc.pip, nil)
			respErr(t, err, http.StatusBadRequest, tc.code)
		})
	}
	if n := len(e.srv.Resources()); n != 0 {
		t.Fatalf("failed creates left %d resources", n)
	}
}
