package fakegce

import (
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

func (e *env) insertAddress(name string) error {
	return e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region,
		AddressResource: &computepb.Address{Name: proto.String(name)}}))
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     fakecore.Faults
		wantStatus int
		wantReason string
	}{
		{"rate limit", fakecore.Faults{ThrottleRate: 1}, http.StatusForbidden, "rateLimitExceeded"},
		{"server error", fakecore.Faults{ServerErrorRate: 1}, http.StatusInternalServerError, "backendError"},
		{"operation error", fakecore.Faults{OperationErrorRate: 1}, http.StatusInternalServerError, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.SetFaults(tc.faults)
			err := e.insertAddress("a1")
			wantCode(t, "faulted insert", err, tc.wantStatus, tc.wantReason)
			if tc.faults.OperationErrorRate > 0 && (err == nil || !strings.Contains(err.Error(), "INTERNAL_ERROR")) {
				t.Errorf("operation error %v lacks INTERNAL_ERROR", err)
			}
			if e.srv.Writes() != 1 {
				t.Errorf("Writes = %d, want the faulted insert counted", e.srv.Writes())
			}
			e.srv.SetFaults(fakecore.Faults{})
			if r := e.srv.Resources(); len(r) != 0 {
				t.Errorf("a faulted write changed state: %v", r)
			}
			ok(t, "insert after faults are off", e.insertAddress("a1"))
		})
	}
}

func TestRateLimitErrorJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetFaults(fakecore.Faults{ThrottleRate: 1})
	status, body := e.raw(t, http.MethodGet, regional("forwardingRules", "x"), "")
	errObj, _ := body["error"].(map[string]any)
	items, _ := errObj["errors"].([]any)
	if status != http.StatusForbidden || errObj["code"] != float64(403) || len(items) != 1 {
		t.Fatalf("rate limit answer: %d %v", status, body)
	}
	item := items[0].(map[string]any)
	if item["reason"] != "rateLimitExceeded" || item["domain"] != "usageLimits" || item["message"] == "" {
		t.Errorf("error item = %v", item)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetFaults(fakecore.Faults{Latency: 60 * time.Millisecond})
	start := time.Now()
	_, err := e.fr.Get(e.ctx, &computepb.GetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "x"})
	wantCode(t, "get", err, http.StatusNotFound, "notFound")
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("call took %v, want at least the 60ms latency", d)
	}
}

func TestCallCounting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok(t, "insert", e.insertAddress("a1"))
	_, err := e.addr.Get(e.ctx, &computepb.GetAddressRequest{Project: project, Region: region, Address: "a1"})
	ok(t, "get", err)
	ok(t, "firewall", e.wait(e.fw.Insert(e.ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: &computepb.Firewall{
		Name: proto.String("f"), Allowed: []*computepb.Allowed{{IPProtocol: proto.String("tcp")}}}})))
	e.srv.AddInstance(Instance{Name: "n1"})
	ok(t, "group", e.wait(e.ig.Insert(e.ctx, &computepb.InsertInstanceGroupRequest{Project: project, Zone: zone,
		InstanceGroupResource: &computepb.InstanceGroup{Name: proto.String("ig")}})))
	ok(t, "add", e.wait(e.ig.AddInstances(e.ctx, &computepb.AddInstancesInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "ig",
		InstanceGroupsAddInstancesRequestResource: &computepb.InstanceGroupsAddInstancesRequest{Instances: e.igRefs("n1")}})))
	_ = e.members(t, "ig")

	op, err := e.addr.Delete(e.ctx, &computepb.DeleteAddressRequest{Project: project, Region: region, Address: "a1"})
	ok(t, "delete", err)
	status, waited := e.raw(t, http.MethodPost, "regions/"+region+"/operations/"+op.Name()+"/wait", "")
	if status != http.StatusOK || waited["status"] != "DONE" || waited["operationType"] != "delete" {
		t.Errorf("operations wait: %d %v", status, waited)
	}
	status, _ = e.raw(t, http.MethodGet, "regions/"+region+"/operations/operation-none", "")
	if status != http.StatusNotFound {
		t.Errorf("unknown operation: %d", status)
	}

	want := map[string]int{
		"Addresses.Insert": 1, "Addresses.Get": 1, "Addresses.Delete": 1, "RegionOperations.Get": 2, "RegionOperations.Wait": 1,
		"Firewalls.Insert": 1, "GlobalOperations.Get": 1,
		"InstanceGroups.Insert": 1, "InstanceGroups.AddInstances": 1, "InstanceGroups.ListInstances": 1, "ZoneOperations.Get": 2,
	}
	if got := e.srv.Calls(); !maps.Equal(got, want) {
		t.Errorf("Calls = %v\nwant  %v", got, want)
	}
	if w := e.srv.Writes(); w != 5 {
		t.Errorf("Writes = %d, want 5", w)
	}
	e.srv.ResetCalls()
	if len(e.srv.Calls()) != 0 || e.srv.Writes() != 0 {
		t.Errorf("after ResetCalls: %v, %d writes", e.srv.Calls(), e.srv.Writes())
	}
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"unknown collection", http.MethodGet, "global/widgets/x", http.StatusNotFound},
		{"networks are read-only", http.MethodPost, "global/networks", http.StatusNotFound},
		{"unknown verb", http.MethodPost, regional("targetPools", "x") + "/explode", http.StatusNotFound},
		{"bad JSON", http.MethodPost, "global/firewalls", http.StatusBadRequest},
		{"missing name", http.MethodPost, "regions/" + region + "/addresses", http.StatusBadRequest},
	}
	for _, tc := range tests {
		body := `{}`
		if tc.name == "bad JSON" {
			body = `{"name":`
		}
		status, out := e.raw(t, tc.method, tc.path, body)
		if status != tc.want || out["error"] == nil {
			t.Errorf("%s: %d %v, want %d with an error body", tc.name, status, out, tc.want)
		}
	}
	req, _ := http.NewRequestWithContext(e.ctx, http.MethodGet, e.url+"/compute/v1/projects/other/global/networks/default", nil)
	resp, err := http.DefaultClient.Do(req)
	ok(t, "other project", err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("other project: %d, want 404", resp.StatusCode)
	}
}

func TestResources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.externalLB(t, "lb", &computepb.ForwardingRule{Description: proto.String(`{"kubernetes.io/service-name":"ns/web"}`)})
	ok(t, "firewall", e.wait(e.fw.Insert(e.ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: &computepb.Firewall{
		Name: proto.String("k8s-fw-lb"), Allowed: []*computepb.Allowed{{IPProtocol: proto.String("tcp")}}}})))
	got := e.srv.Resources()
	want := []Resource{
		{Kind: "compute#firewall", Name: "k8s-fw-lb", Scope: "global", SelfLink: e.link(global("firewalls", "k8s-fw-lb"))},
		{Kind: "compute#forwardingRule", Name: "lb", Scope: "regions/" + region, SelfLink: e.link(regional("forwardingRules", "lb")), Description: `{"kubernetes.io/service-name":"ns/web"}`},
		{Kind: "compute#targetPool", Name: "lb", Scope: "regions/" + region, SelfLink: e.link(regional("targetPools", "lb"))},
	}
	if len(got) != len(want) {
		t.Fatalf("Resources = %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Resources[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestRequestIDMakesRetriesIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rid := "3b4a1c1e-0000-4000-8000-000000000001"
	req := &computepb.InsertAddressRequest{Project: project, Region: region, RequestId: proto.String(rid),
		AddressResource: &computepb.Address{Name: proto.String("a1")}}
	first, err := e.addr.Insert(e.ctx, req)
	ok(t, "first insert", err)
	again, err := e.addr.Insert(e.ctx, req)
	ok(t, "retried insert with the same requestId", err)
	if first.Name() != again.Name() {
		t.Errorf("retry got operation %s, want the first %s", again.Name(), first.Name())
	}
	req.RequestId = proto.String("3b4a1c1e-0000-4000-8000-000000000002")
	_, err = e.addr.Insert(e.ctx, req)
	wantCode(t, "new requestId", err, http.StatusConflict, "alreadyExists")
}

func TestFaultsLimitedToOperationsAndFailNext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetFaults(fakecore.Faults{OperationErrorRate: 1, Operations: []string{"Firewalls.Insert"}})
	ok(t, "address insert is not faulted", e.insertAddress("a1"))
	err := e.wait(e.fw.Insert(e.ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: &computepb.Firewall{
		Name: proto.String("f"), Allowed: []*computepb.Allowed{{IPProtocol: proto.String("tcp")}}}}))
	wantCode(t, "faulted firewall insert", err, http.StatusInternalServerError, "")
	e.srv.SetFaults(fakecore.Faults{})

	e.srv.FailNext("Addresses.Get", 1, &fakecore.APIError{Status: http.StatusServiceUnavailable, Code: "backendError"})
	e.srv.FailNext("Addresses.Delete", 1, &fakecore.APIError{Status: http.StatusConflict, Code: "resourceNotReady"})
	_, err = e.addr.Get(e.ctx, &computepb.GetAddressRequest{Project: project, Region: region, Address: "a1"})
	ok(t, "Get retries a 503 (the client's retry policy)", err)
	if n := e.srv.Calls()["Addresses.Get"]; n != 2 {
		t.Errorf("Addresses.Get calls = %d, want 2 (one injected 503, one retry)", n)
	}
	err = e.wait(e.addr.Delete(e.ctx, &computepb.DeleteAddressRequest{Project: project, Region: region, Address: "a1"}))
	wantCode(t, "injected delete failure", err, http.StatusConflict, "resourceNotReady")
	ok(t, "second delete", e.wait(e.addr.Delete(e.ctx, &computepb.DeleteAddressRequest{Project: project, Region: region, Address: "a1"})))
}
