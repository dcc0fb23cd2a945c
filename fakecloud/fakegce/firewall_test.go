package fakegce

import (
	"net/http"
	"slices"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

func TestFirewallLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fw := &computepb.Firewall{Name: proto.String("k8s-fw-a1"), Description: proto.String(`{"kubernetes.io/service-name":"default/web"}`),
		TargetTags: []string{"node"}, DestinationRanges: []string{"34.120.0.9"},
		Allowed: []*computepb.Allowed{{IPProtocol: proto.String("tcp"), Ports: []string{"80", "8000-8080"}}}}
	ok(t, "insert", e.wait(e.fw.Insert(e.ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: fw})))
	get := func() *computepb.Firewall {
		got, err := e.fw.Get(e.ctx, &computepb.GetFirewallRequest{Project: project, Firewall: "k8s-fw-a1"})
		ok(t, "get", err)
		return got
	}
	got := get()
	if got.GetNetwork() != e.link("global/networks/default") || got.GetPriority() != 1000 || got.GetDirection() != "INGRESS" ||
		!slices.Equal(got.SourceRanges, []string{"0.0.0.0/0"}) || got.GetDescription() != fw.GetDescription() {
		t.Errorf("defaults: %v", got)
	}
	ok(t, "patch", e.wait(e.fw.Patch(e.ctx, &computepb.PatchFirewallRequest{Project: project, Firewall: "k8s-fw-a1",
		FirewallResource: &computepb.Firewall{SourceRanges: []string{"10.0.0.0/8"}}})))
	got = get()
	if !slices.Equal(got.SourceRanges, []string{"10.0.0.0/8"}) || len(got.Allowed) != 1 || !slices.Equal(got.TargetTags, []string{"node"}) {
		t.Errorf("after patch: %v", got)
	}
	repl := proto.Clone(fw).(*computepb.Firewall)
	repl.Allowed = []*computepb.Allowed{{IPProtocol: proto.String("udp"), Ports: []string{"53"}}}
	ok(t, "update", e.wait(e.fw.Update(e.ctx, &computepb.UpdateFirewallRequest{Project: project, Firewall: "k8s-fw-a1", FirewallResource: repl})))
	if got = get(); got.Allowed[0].GetIPProtocol() != "udp" || !slices.Equal(got.SourceRanges, []string{"0.0.0.0/0"}) || got.GetId() == 0 {
		t.Errorf("after update: %v", got)
	}

	manyPorts := make([]string, 101)
	for i := range manyPorts {
		manyPorts[i] = "1"
	}
	bad := []struct {
		name       string
		fw         *computepb.Firewall
		wantStatus int
		wantReason string
	}{
		{"duplicate", fw, 409, "alreadyExists"},
		{"no rules", &computepb.Firewall{Name: proto.String("f1")}, 400, "invalid"},
		{"allowed and denied", &computepb.Firewall{Name: proto.String("f2"), Allowed: fw.Allowed, Denied: []*computepb.Denied{{IPProtocol: proto.String("all")}}}, 400, "invalid"},
		{"bad range", &computepb.Firewall{Name: proto.String("f3"), Allowed: fw.Allowed, SourceRanges: []string{"10.0.0.0/33"}}, 400, "invalid"},
		{"unknown network", &computepb.Firewall{Name: proto.String("f4"), Allowed: fw.Allowed, Network: proto.String("global/networks/nope")}, 404, "notFound"},
		{"too many ports", &computepb.Firewall{Name: proto.String("f5"), Allowed: []*computepb.Allowed{{IPProtocol: proto.String("tcp"), Ports: manyPorts}}}, 400, "invalid"},
		{"ports with icmp", &computepb.Firewall{Name: proto.String("f6"), Allowed: []*computepb.Allowed{{IPProtocol: proto.String("icmp"), Ports: []string{"1"}}}}, 400, "invalid"},
	}
	for _, tc := range bad {
		_, err := e.fw.Insert(e.ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: tc.fw})
		wantCode(t, tc.name, err, tc.wantStatus, tc.wantReason)
	}
	ok(t, "delete", e.wait(e.fw.Delete(e.ctx, &computepb.DeleteFirewallRequest{Project: project, Firewall: "k8s-fw-a1"})))
	_, err := e.fw.Get(e.ctx, &computepb.GetFirewallRequest{Project: project, Firewall: "k8s-fw-a1"})
	wantCode(t, "get deleted", err, http.StatusNotFound, "notFound")
}
