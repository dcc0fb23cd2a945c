package fakegce

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"
)

func (e *env) members(t *testing.T, group string) []string {
	t.Helper()
	it := e.ig.ListInstances(e.ctx, &computepb.ListInstancesInstanceGroupsRequest{Project: project, Zone: zone, InstanceGroup: group,
		InstanceGroupsListInstancesRequestResource: &computepb.InstanceGroupsListInstancesRequest{InstanceState: proto.String("ALL")}})
	var out []string
	for {
		m, err := it.Next()
		if err == iterator.Done {
			return out
		}
		ok(t, "listInstances", err)
		out = append(out, m.GetInstance())
	}
}

func (e *env) igRefs(names ...string) []*computepb.InstanceReference {
	var out []*computepb.InstanceReference
	for _, n := range names {
		out = append(out, &computepb.InstanceReference{Instance: proto.String(e.link(zonal("instances", n)))})
	}
	return out
}

func TestInstanceGroupMembership(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, n := range []string{"n1", "n2", "n3"} {
		e.srv.AddInstance(Instance{Name: n})
	}
	e.srv.AddInstance(Instance{Name: "far", Zone: "us-central1-b"})
	ok(t, "insert group", e.wait(e.ig.Insert(e.ctx, &computepb.InsertInstanceGroupRequest{Project: project, Zone: zone,
		InstanceGroupResource: &computepb.InstanceGroup{Name: proto.String("k8s-ig--c1"), Network: proto.String(e.link("global/networks/default"))}})))
	op, err := e.ig.AddInstances(e.ctx, &computepb.AddInstancesInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "k8s-ig--c1",
		InstanceGroupsAddInstancesRequestResource: &computepb.InstanceGroupsAddInstancesRequest{Instances: e.igRefs("n3", "n1", "n2")}})
	ok(t, "addInstances", e.wait(op, err))
	if sl := op.Proto().GetSelfLink(); sl != e.link("zones/"+zone+"/operations/"+op.Name()) {
		t.Errorf("zonal write answered with operation %s", sl)
	}
	ok(t, "removeInstances", e.wait(e.ig.RemoveInstances(e.ctx, &computepb.RemoveInstancesInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "k8s-ig--c1",
		InstanceGroupsRemoveInstancesRequestResource: &computepb.InstanceGroupsRemoveInstancesRequest{Instances: e.igRefs("n2")}})))
	want := []string{e.link(zonal("instances", "n1")), e.link(zonal("instances", "n3"))}
	if got := e.members(t, "k8s-ig--c1"); !slices.Equal(got, want) {
		t.Errorf("members = %v, want %v", got, want)
	}
	ig, err := e.ig.Get(e.ctx, &computepb.GetInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "k8s-ig--c1"})
	ok(t, "get group", err)
	if ig.GetSize() != 2 || ig.GetZone() != e.link("zones/"+zone) {
		t.Errorf("group = %v", ig)
	}
	if got := e.srv.Members(zone, "k8s-ig--c1"); !slices.Equal(got, []string{"n1", "n3"}) {
		t.Errorf("Members = %v", got)
	}

	tests := []struct {
		name       string
		refs       []*computepb.InstanceReference
		wantStatus int
		wantReason string
	}{
		{"already a member", e.igRefs("n1"), 400, "memberAlreadyExists"},
		{"unknown instance", e.igRefs("ghost"), 404, "notFound"},
		{"other zone", []*computepb.InstanceReference{{Instance: proto.String(e.link("zones/us-central1-b/instances/far"))}}, 400, "invalid"},
	}
	for _, tc := range tests {
		err := e.wait(e.ig.AddInstances(e.ctx, &computepb.AddInstancesInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "k8s-ig--c1",
			InstanceGroupsAddInstancesRequestResource: &computepb.InstanceGroupsAddInstancesRequest{Instances: tc.refs}}))
		wantCode(t, tc.name, err, tc.wantStatus, tc.wantReason)
	}

	it := e.ig.List(e.ctx, &computepb.ListInstanceGroupsRequest{Project: project, Zone: zone})
	if g, err := it.Next(); err != nil || g.GetName() != "k8s-ig--c1" {
		t.Errorf("list = %v, %v", g, err)
	}
	ok(t, "delete group", e.wait(e.ig.Delete(e.ctx, &computepb.DeleteInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "k8s-ig--c1"})))
}

// internalLB builds the ILB topology: network vpc/nodes, instance group with n1, regional
// health check, INTERNAL backend service and a forwarding rule.
func (e *env) internalLB(t *testing.T) {
	t.Helper()
	e.srv.AddNetwork("vpc", map[string]string{"nodes": "10.0.0.0/24"})
	e.srv.AddInstance(Instance{Name: "n1", Network: "vpc", Subnetwork: "nodes"})
	ok(t, "group", e.wait(e.ig.Insert(e.ctx, &computepb.InsertInstanceGroupRequest{Project: project, Zone: zone,
		InstanceGroupResource: &computepb.InstanceGroup{Name: proto.String("ig"), Network: proto.String(e.link("global/networks/vpc"))}})))
	ok(t, "add n1", e.wait(e.ig.AddInstances(e.ctx, &computepb.AddInstancesInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "ig",
		InstanceGroupsAddInstancesRequestResource: &computepb.InstanceGroupsAddInstancesRequest{Instances: e.igRefs("n1")}})))
	ok(t, "regional hc", e.wait(e.rhc.Insert(e.ctx, &computepb.InsertRegionHealthCheckRequest{Project: project, Region: region,
		HealthCheckResource: &computepb.HealthCheck{Name: proto.String("hc"), Type: proto.String("HTTP"),
			HttpHealthCheck: &computepb.HTTPHealthCheck{Port: proto.Int32(10256), RequestPath: proto.String("/healthz")}}})))
	ok(t, "backend service", e.wait(e.bs.Insert(e.ctx, &computepb.InsertRegionBackendServiceRequest{Project: project, Region: region,
		BackendServiceResource: &computepb.BackendService{Name: proto.String("ilb"), LoadBalancingScheme: proto.String("INTERNAL"),
			HealthChecks: []string{e.link(regional("healthChecks", "hc"))}, Backends: []*computepb.Backend{{Group: proto.String(e.link(zonal("instanceGroups", "ig")))}}}})))
	ok(t, "internal rule", e.wait(e.fr.Insert(e.ctx, &computepb.InsertForwardingRuleRequest{Project: project, Region: region,
		ForwardingRuleResource: &computepb.ForwardingRule{Name: proto.String("ilb"), LoadBalancingScheme: proto.String("INTERNAL"),
			BackendService: proto.String(e.link(regional("backendServices", "ilb"))), Ports: []string{"80", "443"},
			Subnetwork: proto.String(e.link(regional("subnetworks", "nodes")))}})))
}

func TestInternalLoadBalancer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.internalLB(t)
	fr := e.getFR(t, "ilb")
	ip, err := netip.ParseAddr(fr.GetIPAddress())
	if err != nil || !netip.MustParsePrefix("10.0.0.0/24").Contains(ip) {
		t.Errorf("internal IP %q not from the subnetwork", fr.GetIPAddress())
	}
	if fr.GetNetwork() != e.link("global/networks/vpc") {
		t.Errorf("network = %s", fr.GetNetwork())
	}
	hc, err := e.rhc.Get(e.ctx, &computepb.GetRegionHealthCheckRequest{Project: project, Region: region, HealthCheck: "hc"})
	ok(t, "get hc", err)
	if hc.GetCheckIntervalSec() != 5 || hc.GetHttpHealthCheck().GetPort() != 10256 || hc.GetRegion() != e.link("regions/"+region) {
		t.Errorf("regional health check = %v", hc)
	}

	inUse := []struct {
		name string
		err  error
	}{
		{"backend service used by a rule", e.wait(e.bs.Delete(e.ctx, &computepb.DeleteRegionBackendServiceRequest{Project: project, Region: region, BackendService: "ilb"}))},
		{"health check used by a backend service", e.wait(e.rhc.Delete(e.ctx, &computepb.DeleteRegionHealthCheckRequest{Project: project, Region: region, HealthCheck: "hc"}))},
		{"instance group used by a backend service", e.wait(e.ig.Delete(e.ctx, &computepb.DeleteInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "ig"}))},
	}
	for _, tc := range inUse {
		wantCode(t, tc.name, tc.err, http.StatusBadRequest, "resourceInUseByAnotherResource")
	}

	bad := []struct {
		name string
		fr   *computepb.ForwardingRule
	}{
		{"six ports", &computepb.ForwardingRule{Name: proto.String("x1"), LoadBalancingScheme: proto.String("INTERNAL"),
			BackendService: proto.String(e.link(regional("backendServices", "ilb"))), Ports: []string{"1", "2", "3", "4", "5", "6"}}},
		{"scheme mismatch", &computepb.ForwardingRule{Name: proto.String("x2"),
			BackendService: proto.String(e.link(regional("backendServices", "ilb"))), PortRange: proto.String("80")}},
		{"IP outside the subnetwork", &computepb.ForwardingRule{Name: proto.String("x3"), LoadBalancingScheme: proto.String("INTERNAL"), IPAddress: proto.String("10.9.9.9"),
			BackendService: proto.String(e.link(regional("backendServices", "ilb"))), Subnetwork: proto.String(e.link(regional("subnetworks", "nodes")))}},
	}
	for _, tc := range bad {
		_, err := e.fr.Insert(e.ctx, &computepb.InsertForwardingRuleRequest{Project: project, Region: region, ForwardingRuleResource: tc.fr})
		wantCode(t, tc.name, err, http.StatusBadRequest, "invalid")
	}

	ok(t, "reserve internal", e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region,
		AddressResource: &computepb.Address{Name: proto.String("ilb-ip"), AddressType: proto.String("INTERNAL"), Subnetwork: proto.String(e.link(regional("subnetworks", "nodes")))}})))
	a := e.getAddress(t, "ilb-ip")
	if a.GetAddress() == fr.GetIPAddress() || !netip.MustParsePrefix("10.0.0.0/24").Contains(netip.MustParseAddr(a.GetAddress())) {
		t.Errorf("internal address %s collides with the rule's %s or is outside the subnetwork", a.GetAddress(), fr.GetIPAddress())
	}

	ok(t, "patch global access", e.wait(e.fr.Patch(e.ctx, &computepb.PatchForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "ilb",
		ForwardingRuleResource: &computepb.ForwardingRule{Fingerprint: fr.Fingerprint, AllowGlobalAccess: proto.Bool(true)}})))
	if !e.getFR(t, "ilb").GetAllowGlobalAccess() {
		t.Error("allowGlobalAccess not patched")
	}
}

func TestBackendServicePatchUpdateFingerprint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.internalLB(t)
	get := func() *computepb.BackendService {
		bs, err := e.bs.Get(e.ctx, &computepb.GetRegionBackendServiceRequest{Project: project, Region: region, BackendService: "ilb"})
		ok(t, "get backend service", err)
		return bs
	}
	bs := get()
	if bs.GetFingerprint() == "" || bs.GetProtocol() != "TCP" || bs.GetSessionAffinity() != "NONE" || bs.Backends[0].GetBalancingMode() != "CONNECTION" {
		t.Fatalf("backend service = %v", bs)
	}
	patch := func(body *computepb.BackendService) error {
		return e.wait(e.bs.Patch(e.ctx, &computepb.PatchRegionBackendServiceRequest{Project: project, Region: region, BackendService: "ilb", BackendServiceResource: body}))
	}
	ok(t, "patch affinity", patch(&computepb.BackendService{Fingerprint: bs.Fingerprint, SessionAffinity: proto.String("CLIENT_IP")}))
	wantCode(t, "patch with stale fingerprint", patch(&computepb.BackendService{Fingerprint: bs.Fingerprint, SessionAffinity: proto.String("NONE")}), http.StatusPreconditionFailed, "conditionNotMet")
	wantCode(t, "patch without fingerprint", patch(&computepb.BackendService{SessionAffinity: proto.String("NONE")}), http.StatusPreconditionFailed, "conditionNotMet")
	after := get()
	if after.GetSessionAffinity() != "CLIENT_IP" || len(after.Backends) != 1 || len(after.HealthChecks) != 1 {
		t.Errorf("patch lost fields or did not apply: %v", after)
	}

	e.srv.AddInstance(Instance{Name: "n2", Zone: "us-central1-b", Network: "vpc", Subnetwork: "nodes"})
	ok(t, "second group", e.wait(e.ig.Insert(e.ctx, &computepb.InsertInstanceGroupRequest{Project: project, Zone: "us-central1-b",
		InstanceGroupResource: &computepb.InstanceGroup{Name: proto.String("ig")}})))
	upd := proto.Clone(after).(*computepb.BackendService)
	upd.Backends = append(upd.Backends, &computepb.Backend{Group: proto.String(e.link("zones/us-central1-b/instanceGroups/ig"))})
	ok(t, "update backends", e.wait(e.bs.Update(e.ctx, &computepb.UpdateRegionBackendServiceRequest{Project: project, Region: region, BackendService: "ilb", BackendServiceResource: upd})))
	if got := get(); len(got.Backends) != 2 || got.GetId() != after.GetId() || got.GetFingerprint() == after.GetFingerprint() {
		t.Errorf("after update: %v", got)
	}
	err := e.wait(e.bs.Update(e.ctx, &computepb.UpdateRegionBackendServiceRequest{Project: project, Region: region, BackendService: "ilb", BackendServiceResource: upd}))
	wantCode(t, "update with stale fingerprint", err, http.StatusPreconditionFailed, "conditionNotMet")
	upd.Fingerprint = get().Fingerprint
	upd.Protocol = proto.String("UDP")
	err = e.wait(e.bs.Update(e.ctx, &computepb.UpdateRegionBackendServiceRequest{Project: project, Region: region, BackendService: "ilb", BackendServiceResource: upd}))
	wantCode(t, "protocol change under a live rule", err, http.StatusBadRequest, "resourceInUseByAnotherResource")
	upd.Protocol = proto.String("TCP")
	upd.Backends = append(upd.Backends, &computepb.Backend{Group: proto.String(e.link(zonal("instanceGroups", "nope")))})
	err = e.wait(e.bs.Update(e.ctx, &computepb.UpdateRegionBackendServiceRequest{Project: project, Region: region, BackendService: "ilb", BackendServiceResource: upd}))
	wantCode(t, "unknown group", err, http.StatusNotFound, "notFound")

	ok(t, "delete rule", e.wait(e.fr.Delete(e.ctx, &computepb.DeleteForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "ilb"})))
	ok(t, "delete backend service", e.wait(e.bs.Delete(e.ctx, &computepb.DeleteRegionBackendServiceRequest{Project: project, Region: region, BackendService: "ilb"})))
	ok(t, "delete hc", e.wait(e.rhc.Delete(e.ctx, &computepb.DeleteRegionHealthCheckRequest{Project: project, Region: region, HealthCheck: "hc"})))
	ok(t, "delete group", e.wait(e.ig.Delete(e.ctx, &computepb.DeleteInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "ig"})))
}

func TestGlobalHealthChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok(t, "insert", e.wait(e.hc.Insert(e.ctx, &computepb.InsertHealthCheckRequest{Project: project,
		HealthCheckResource: &computepb.HealthCheck{Name: proto.String("k8s-c1-node"), Type: proto.String("HTTP"), CheckIntervalSec: proto.Int32(8), TimeoutSec: proto.Int32(1),
			HttpHealthCheck: &computepb.HTTPHealthCheck{Port: proto.Int32(10256), RequestPath: proto.String("/healthz")}}})))
	ok(t, "update", e.wait(e.hc.Update(e.ctx, &computepb.UpdateHealthCheckRequest{Project: project, HealthCheck: "k8s-c1-node",
		HealthCheckResource: &computepb.HealthCheck{Name: proto.String("k8s-c1-node"), Type: proto.String("HTTP"), CheckIntervalSec: proto.Int32(10), TimeoutSec: proto.Int32(2),
			HttpHealthCheck: &computepb.HTTPHealthCheck{Port: proto.Int32(31000), RequestPath: proto.String("/healthz")}}})))
	ok(t, "patch", e.wait(e.hc.Patch(e.ctx, &computepb.PatchHealthCheckRequest{Project: project, HealthCheck: "k8s-c1-node",
		HealthCheckResource: &computepb.HealthCheck{UnhealthyThreshold: proto.Int32(4)}})))
	hc, err := e.hc.Get(e.ctx, &computepb.GetHealthCheckRequest{Project: project, HealthCheck: "k8s-c1-node"})
	ok(t, "get", err)
	if hc.GetCheckIntervalSec() != 10 || hc.GetHttpHealthCheck().GetPort() != 31000 || hc.GetUnhealthyThreshold() != 4 || hc.GetHealthyThreshold() != 2 || hc.Region != nil {
		t.Errorf("health check = %v", hc)
	}
	err = e.wait(e.hc.Insert(e.ctx, &computepb.InsertHealthCheckRequest{Project: project,
		HealthCheckResource: &computepb.HealthCheck{Name: proto.String("bad"), Type: proto.String("HTTP"), CheckIntervalSec: proto.Int32(1), TimeoutSec: proto.Int32(5)}}))
	wantCode(t, "timeout above interval", err, http.StatusBadRequest, "invalid")
	err = e.wait(e.hc.Patch(e.ctx, &computepb.PatchHealthCheckRequest{Project: project, HealthCheck: "missing", HealthCheckResource: &computepb.HealthCheck{}}))
	wantCode(t, "patch missing", err, http.StatusNotFound, "notFound")
	ok(t, "delete", e.wait(e.hc.Delete(e.ctx, &computepb.DeleteHealthCheckRequest{Project: project, HealthCheck: "k8s-c1-node"})))
}
