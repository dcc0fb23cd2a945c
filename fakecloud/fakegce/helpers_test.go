package fakegce

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

const (
	project = "test-project"
	region  = "us-central1"
	zone    = "us-central1-a"
)

// env is one fake behind an httptest server plus the real REST clients pointed at it.
type env struct {
	srv *Server
	url string
	ctx context.Context

	fr    *compute.ForwardingRulesClient
	addr  *compute.AddressesClient
	tp    *compute.TargetPoolsClient
	hc    *compute.HealthChecksClient
	rhc   *compute.RegionHealthChecksClient
	fw    *compute.FirewallsClient
	bs    *compute.RegionBackendServicesClient
	ig    *compute.InstanceGroupsClient
	inst  *compute.InstancesClient
	net   *compute.NetworksClient
	sub   *compute.SubnetworksClient
	rops  *compute.RegionOperationsClient
	zones *compute.ZonesClient
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := New(Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	opts := []option.ClientOption{option.WithEndpoint(hs.URL), option.WithoutAuthentication()}
	e := &env{srv: srv, url: hs.URL, ctx: ctx}
	must := func(c interface{ Close() error }, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	var err error
	e.fr, err = compute.NewForwardingRulesRESTClient(ctx, opts...)
	must(e.fr, err)
	e.addr, err = compute.NewAddressesRESTClient(ctx, opts...)
	must(e.addr, err)
	e.tp, err = compute.NewTargetPoolsRESTClient(ctx, opts...)
	must(e.tp, err)
	e.hc, err = compute.NewHealthChecksRESTClient(ctx, opts...)
	must(e.hc, err)
	e.rhc, err = compute.NewRegionHealthChecksRESTClient(ctx, opts...)
	must(e.rhc, err)
	e.fw, err = compute.NewFirewallsRESTClient(ctx, opts...)
	must(e.fw, err)
	e.bs, err = compute.NewRegionBackendServicesRESTClient(ctx, opts...)
	must(e.bs, err)
	e.ig, err = compute.NewInstanceGroupsRESTClient(ctx, opts...)
	must(e.ig, err)
	e.inst, err = compute.NewInstancesRESTClient(ctx, opts...)
	must(e.inst, err)
	e.net, err = compute.NewNetworksRESTClient(ctx, opts...)
	must(e.net, err)
	e.sub, err = compute.NewSubnetworksRESTClient(ctx, opts...)
	must(e.sub, err)
	e.rops, err = compute.NewRegionOperationsRESTClient(ctx, opts...)
	must(e.rops, err)
	e.zones, err = compute.NewZonesRESTClient(ctx, opts...)
	must(e.zones, err)
	return e
}

// wait takes a write's results and waits for its operation.
func (e *env) wait(op *compute.Operation, err error) error {
	if err != nil {
		return err
	}
	return op.Wait(e.ctx)
}

// ok fails the test on err.
func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// link is the absolute URL of a resource on this fake.
func (e *env) link(rel string) string { return e.url + "/compute/v1/projects/" + project + "/" + rel }

// code extracts the HTTP code and reason of an API error (0, "" for none).
func code(err error) (int, string) {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		reason := ""
		if len(ge.Errors) > 0 {
			reason = ge.Errors[0].Reason
		}
		if reason == "" {
			var ae *apierror.APIError
			if errors.As(err, &ae) {
				reason = ae.Reason()
			}
		}
		return ge.Code, reason
	}
	return 0, ""
}

// raw sends one request without a client library and decodes the JSON answer.
func (e *env) raw(t *testing.T, method, rel, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.link(rel), rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rel, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, rel, b)
	}
	return resp.StatusCode, out
}

// wantCode checks the HTTP code and reason of err.
func wantCode(t *testing.T, what string, err error, wantStatus int, wantReason string) {
	t.Helper()
	gotStatus, gotReason := code(err)
	if gotStatus != wantStatus || (wantReason != "" && gotReason != wantReason) {
		t.Errorf("%s: got %d %q (%v), want %d %q", what, gotStatus, gotReason, err, wantStatus, wantReason)
	}
}

// regional, zonal and global build relative links.
func regional(coll, name string) string { return "regions/" + region + "/" + coll + "/" + name }
func zonal(coll, name string) string    { return "zones/" + zone + "/" + coll + "/" + name }
func global(coll, name string) string   { return "global/" + coll + "/" + name }
