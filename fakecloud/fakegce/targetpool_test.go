package fakegce

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// legacyHC creates a legacy HTTP health check through raw REST (compute/apiv1 has no client for it).
func (e *env) legacyHC(t *testing.T, name string, port int) {
	t.Helper()
	status, op := e.raw(t, http.MethodPost, "global/httpHealthChecks", `{"name":"`+name+`","port":`+strconv.Itoa(port)+`,"requestPath":"/healthz","checkIntervalSec":8,"timeoutSec":1,"healthyThreshold":1,"unhealthyThreshold":3}`)
	if status != http.StatusOK || op["status"] != "DONE" || op["error"] != nil {
		t.Fatalf("insert httpHealthCheck: %d %v", status, op)
	}
	if !strings.Contains(op["selfLink"].(string), "/global/operations/") {
		t.Errorf("global write answered with operation %v", op["selfLink"])
	}
}

func (e *env) pool(t *testing.T, name string) *computepb.TargetPool {
	t.Helper()
	tp, err := e.tp.Get(e.ctx, &computepb.GetTargetPoolRequest{Project: project, Region: region, TargetPool: name})
	ok(t, "get pool", err)
	return tp
}

func TestHTTPHealthCheckLegacy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.legacyHC(t, "k8s-c1-node", 10256)
	status, hc := e.raw(t, http.MethodGet, global("httpHealthChecks", "k8s-c1-node"), "")
	if status != http.StatusOK {
		t.Fatalf("get: %d %v", status, hc)
	}
	want := map[string]any{"kind": "compute#httpHealthCheck", "port": float64(10256), "requestPath": "/healthz", "checkIntervalSec": float64(8),
		"timeoutSec": float64(1), "healthyThreshold": float64(1), "unhealthyThreshold": float64(3), "selfLink": e.link(global("httpHealthChecks", "k8s-c1-node"))}
	for k, v := range want {
		if hc[k] != v {
			t.Errorf("%s = %#v, want %#v", k, hc[k], v)
		}
	}
	if _, isString := hc["id"].(string); !isString {
		t.Errorf("id = %#v, want a string", hc["id"])
	}
	status, _ = e.raw(t, http.MethodPatch, global("httpHealthChecks", "k8s-c1-node"), `{"checkIntervalSec":10}`)
	if _, hc = e.raw(t, http.MethodGet, global("httpHealthChecks", "k8s-c1-node"), ""); status != http.StatusOK || hc["checkIntervalSec"] != float64(10) || hc["port"] != float64(10256) {
		t.Errorf("after patch (%d): %v", status, hc)
	}
	status, body := e.raw(t, http.MethodPut, global("httpHealthChecks", "k8s-c1-node"), `{"name":"k8s-c1-node","port":31000}`)
	if _, hc = e.raw(t, http.MethodGet, global("httpHealthChecks", "k8s-c1-node"), ""); status != http.StatusOK || hc["port"] != float64(31000) || hc["requestPath"] != "/" {
		t.Errorf("after update (%d %v): %v", status, body, hc)
	}
	status, body = e.raw(t, http.MethodPost, "global/httpHealthChecks", `{"name":"bad","checkIntervalSec":2,"timeoutSec":5}`)
	if status != http.StatusBadRequest {
		t.Errorf("timeout > interval: %d %v", status, body)
	}
	status, body = e.raw(t, http.MethodPost, "global/httpHealthChecks", `{"name":"k8s-c1-node"}`)
	if status != http.StatusConflict {
		t.Errorf("duplicate: %d %v", status, body)
	}
}

func TestTargetPoolMembershipAndHealthChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		e.srv.AddInstance(Instance{Name: n})
	}
	e.legacyHC(t, "hc", 10256)
	hcLink := e.link(global("httpHealthChecks", "hc"))
	ok(t, "insert pool", e.wait(e.tp.Insert(e.ctx, &computepb.InsertTargetPoolRequest{Project: project, Region: region,
		TargetPoolResource: &computepb.TargetPool{Name: proto.String("lb"), HealthChecks: []string{hcLink},
			SessionAffinity: proto.String("CLIENT_IP"), Instances: []string{"zones/" + zone + "/instances/node-1"}}})))
	tp := e.pool(t, "lb")
	if !slices.Equal(tp.Instances, []string{e.link(zonal("instances", "node-1"))}) || tp.GetSessionAffinity() != "CLIENT_IP" {
		t.Errorf("pool = %v", tp)
	}

	ref := func(names ...string) []*computepb.InstanceReference {
		var out []*computepb.InstanceReference
		for _, n := range names {
			out = append(out, &computepb.InstanceReference{Instance: proto.String(e.link(zonal("instances", n)))})
		}
		return out
	}
	ok(t, "addInstance", e.wait(e.tp.AddInstance(e.ctx, &computepb.AddInstanceTargetPoolRequest{Project: project, Region: region, TargetPool: "lb",
		TargetPoolsAddInstanceRequestResource: &computepb.TargetPoolsAddInstanceRequest{Instances: ref("node-2", "node-3")}})))
	ok(t, "removeInstance", e.wait(e.tp.RemoveInstance(e.ctx, &computepb.RemoveInstanceTargetPoolRequest{Project: project, Region: region, TargetPool: "lb",
		TargetPoolsRemoveInstanceRequestResource: &computepb.TargetPoolsRemoveInstanceRequest{Instances: ref("node-1")}})))
	want := []string{e.link(zonal("instances", "node-2")), e.link(zonal("instances", "node-3"))}
	if got := e.pool(t, "lb").Instances; !slices.Equal(got, want) {
		t.Errorf("members = %v, want %v", got, want)
	}
	err := e.wait(e.tp.AddInstance(e.ctx, &computepb.AddInstanceTargetPoolRequest{Project: project, Region: region, TargetPool: "lb",
		TargetPoolsAddInstanceRequestResource: &computepb.TargetPoolsAddInstanceRequest{Instances: ref("ghost")}}))
	wantCode(t, "add unknown instance", err, http.StatusNotFound, "notFound")

	status, body := e.raw(t, http.MethodDelete, global("httpHealthChecks", "hc"), "")
	if status != http.StatusBadRequest || !strings.Contains(body["error"].(map[string]any)["message"].(string), "being used by") {
		t.Errorf("delete health check used by a pool: %d %v", status, body)
	}
	ok(t, "removeHealthCheck", e.wait(e.tp.RemoveHealthCheck(e.ctx, &computepb.RemoveHealthCheckTargetPoolRequest{Project: project, Region: region, TargetPool: "lb",
		TargetPoolsRemoveHealthCheckRequestResource: &computepb.TargetPoolsRemoveHealthCheckRequest{HealthChecks: []*computepb.HealthCheckReference{{HealthCheck: proto.String(hcLink)}}}})))
	if status, body = e.raw(t, http.MethodDelete, global("httpHealthChecks", "hc"), ""); status != http.StatusOK {
		t.Errorf("delete unused health check: %d %v", status, body)
	}

	ok(t, "global health check", e.wait(e.hc.Insert(e.ctx, &computepb.InsertHealthCheckRequest{Project: project,
		HealthCheckResource: &computepb.HealthCheck{Name: proto.String("modern"), Type: proto.String("HTTP")}})))
	err = e.wait(e.tp.AddHealthCheck(e.ctx, &computepb.AddHealthCheckTargetPoolRequest{Project: project, Region: region, TargetPool: "lb",
		TargetPoolsAddHealthCheckRequestResource: &computepb.TargetPoolsAddHealthCheckRequest{HealthChecks: []*computepb.HealthCheckReference{{HealthCheck: proto.String(e.link(global("healthChecks", "modern")))}}}}))
	wantCode(t, "target pool with a non-legacy health check", err, http.StatusBadRequest, "invalid")
}
