package fakegce

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"
)

// externalLB builds instance node-1, target pool name and a forwarding rule name to it.
func (e *env) externalLB(t *testing.T, name string, fr *computepb.ForwardingRule) {
	t.Helper()
	e.srv.AddInstance(Instance{Name: "node-1", Tags: []string{"node"}})
	ok(t, "insert target pool", e.wait(e.tp.Insert(e.ctx, &computepb.InsertTargetPoolRequest{Project: project, Region: region,
		TargetPoolResource: &computepb.TargetPool{Name: proto.String(name), Instances: []string{e.link(zonal("instances", "node-1"))}}})))
	if fr == nil {
		fr = &computepb.ForwardingRule{}
	}
	fr.Name = proto.String(name)
	fr.Target = proto.String(e.link(regional("targetPools", name)))
	ok(t, "insert forwarding rule", e.wait(e.fr.Insert(e.ctx, &computepb.InsertForwardingRuleRequest{Project: project, Region: region, ForwardingRuleResource: fr})))
}

func (e *env) getFR(t *testing.T, name string) *computepb.ForwardingRule {
	t.Helper()
	fr, err := e.fr.Get(e.ctx, &computepb.GetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: name})
	ok(t, "get forwarding rule "+name, err)
	return fr
}

func (e *env) getAddress(t *testing.T, name string) *computepb.Address {
	t.Helper()
	a, err := e.addr.Get(e.ctx, &computepb.GetAddressRequest{Project: project, Region: region, Address: name})
	ok(t, "get address "+name, err)
	return a
}

func TestForwardingRuleLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.externalLB(t, "a1", &computepb.ForwardingRule{PortRange: proto.String("80-443"), Description: proto.String(`{"kubernetes.io/service-name":"default/web"}`)})

	fr := e.getFR(t, "a1")
	if _, err := netip.ParseAddr(fr.GetIPAddress()); err != nil {
		t.Errorf("IPAddress %q not allocated: %v", fr.GetIPAddress(), err)
	}
	checks := map[string][2]string{
		"selfLink":            {fr.GetSelfLink(), e.link(regional("forwardingRules", "a1"))},
		"target":              {fr.GetTarget(), e.link(regional("targetPools", "a1"))},
		"region":              {fr.GetRegion(), e.link("regions/" + region)},
		"portRange":           {fr.GetPortRange(), "80-443"},
		"IPProtocol":          {fr.GetIPProtocol(), "TCP"},
		"loadBalancingScheme": {fr.GetLoadBalancingScheme(), "EXTERNAL"},
		"networkTier":         {fr.GetNetworkTier(), "PREMIUM"},
		"kind":                {fr.GetKind(), "compute#forwardingRule"},
	}
	for f, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", f, c[0], c[1])
		}
	}
	if fr.GetId() == 0 || fr.GetFingerprint() == "" || fr.GetCreationTimestamp() == "" {
		t.Errorf("output-only fields missing: id %d fingerprint %q created %q", fr.GetId(), fr.GetFingerprint(), fr.GetCreationTimestamp())
	}

	it := e.fr.List(e.ctx, &computepb.ListForwardingRulesRequest{Project: project, Region: region})
	var names []string
	for {
		r, err := it.Next()
		if err == iterator.Done {
			break
		}
		ok(t, "list", err)
		names = append(names, r.GetName())
	}
	if strings.Join(names, ",") != "a1" {
		t.Errorf("list = %v, want [a1]", names)
	}

	_, err := e.fr.Insert(e.ctx, &computepb.InsertForwardingRuleRequest{Project: project, Region: region,
		ForwardingRuleResource: &computepb.ForwardingRule{Name: proto.String("a1"), Target: fr.Target}})
	wantCode(t, "duplicate insert", err, http.StatusConflict, "alreadyExists")

	err = e.wait(e.tp.Delete(e.ctx, &computepb.DeleteTargetPoolRequest{Project: project, Region: region, TargetPool: "a1"}))
	wantCode(t, "delete target pool in use", err, http.StatusBadRequest, "resourceInUseByAnotherResource")
	if err == nil || !strings.Contains(err.Error(), "being used by") {
		t.Errorf("in-use error %v does not say 'being used by'", err)
	}

	ok(t, "delete rule", e.wait(e.fr.Delete(e.ctx, &computepb.DeleteForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "a1"})))
	_, err = e.fr.Get(e.ctx, &computepb.GetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "a1"})
	wantCode(t, "get deleted rule", err, http.StatusNotFound, "notFound")
	err = e.wait(e.fr.Delete(e.ctx, &computepb.DeleteForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "a1"}))
	wantCode(t, "delete deleted rule", err, http.StatusNotFound, "notFound")
	ok(t, "delete pool", e.wait(e.tp.Delete(e.ctx, &computepb.DeleteTargetPoolRequest{Project: project, Region: region, TargetPool: "a1"})))
	if got := e.srv.Resources(); len(got) != 0 {
		t.Errorf("resources left: %+v", got)
	}
}

func TestForwardingRuleInsertValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.externalLB(t, "base", nil)
	pool := e.link(regional("targetPools", "base"))
	tests := []struct {
		name       string
		fr         *computepb.ForwardingRule
		wantStatus int
		wantReason string
	}{
		{"missing target", &computepb.ForwardingRule{Name: proto.String("x1")}, 400, "required"},
		{"unknown target", &computepb.ForwardingRule{Name: proto.String("x2"), Target: proto.String(e.link(regional("targetPools", "nope")))}, 404, "notFound"},
		{"bad name", &computepb.ForwardingRule{Name: proto.String("Bad_Name"), Target: proto.String(pool)}, 400, "invalid"},
		{"bad port range", &computepb.ForwardingRule{Name: proto.String("x3"), Target: proto.String(pool), PortRange: proto.String("90-80")}, 400, "invalid"},
		{"unreserved external IP", &computepb.ForwardingRule{Name: proto.String("x4"), Target: proto.String(pool), IPAddress: proto.String("203.0.113.9")}, 400, "invalid"},
		{"global access on external", &computepb.ForwardingRule{Name: proto.String("x5"), Target: proto.String(pool), AllowGlobalAccess: proto.Bool(true)}, 400, "invalid"},
		{"bad tier", &computepb.ForwardingRule{Name: proto.String("x6"), Target: proto.String(pool), NetworkTier: proto.String("GOLD")}, 400, "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.fr.Insert(e.ctx, &computepb.InsertForwardingRuleRequest{Project: project, Region: region, ForwardingRuleResource: tc.fr})
			wantCode(t, tc.name, err, tc.wantStatus, tc.wantReason)
		})
	}
	if n := len(e.srv.Resources()); n != 2 {
		t.Errorf("failed inserts left resources: %d, want 2 (pool and rule base)", n)
	}
}

func TestAddressLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok(t, "insert address", e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region,
		AddressResource: &computepb.Address{Name: proto.String("a1")}})))
	a := e.getAddress(t, "a1")
	ip := a.GetAddress()
	if a.GetStatus() != "RESERVED" || a.GetAddressType() != "EXTERNAL" || a.GetNetworkTier() != "PREMIUM" {
		t.Errorf("address = %v", a)
	}

	for filter, want := range map[string]int{`address = "` + ip + `"`: 1, "address = 1.1.1.1": 0, "name eq a.*": 1, `(name = "a1") (addressType = "INTERNAL")`: 0} {
		it := e.addr.List(e.ctx, &computepb.ListAddressesRequest{Project: project, Region: region, Filter: proto.String(filter)})
		n := 0
		for {
			_, err := it.Next()
			if err == iterator.Done {
				break
			}
			ok(t, "list "+filter, err)
			n++
		}
		if n != want {
			t.Errorf("filter %q matched %d, want %d", filter, n, want)
		}
	}

	e.externalLB(t, "fr1", &computepb.ForwardingRule{IPAddress: proto.String(ip)})
	a = e.getAddress(t, "a1")
	if a.GetStatus() != "IN_USE" || len(a.Users) != 1 || a.Users[0] != e.link(regional("forwardingRules", "fr1")) {
		t.Errorf("address after use: status %s users %v", a.GetStatus(), a.Users)
	}
	err := e.wait(e.addr.Delete(e.ctx, &computepb.DeleteAddressRequest{Project: project, Region: region, Address: "a1"}))
	wantCode(t, "delete address in use", err, http.StatusBadRequest, "resourceInUseByAnotherResource")

	err = e.wait(e.fr.Insert(e.ctx, &computepb.InsertForwardingRuleRequest{Project: project, Region: region,
		ForwardingRuleResource: &computepb.ForwardingRule{Name: proto.String("fr2"), IPAddress: proto.String(ip), Target: proto.String(e.link(regional("targetPools", "fr1")))}}))
	wantCode(t, "second rule on a used address (operation error)", err, http.StatusBadRequest, "")
	if err == nil || !strings.Contains(err.Error(), "IP_IN_USE_BY_ANOTHER_RESOURCE") {
		t.Errorf("operation error %v lacks IP_IN_USE_BY_ANOTHER_RESOURCE", err)
	}
	_, err = e.fr.Get(e.ctx, &computepb.GetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "fr2"})
	wantCode(t, "failed rule must not exist", err, http.StatusNotFound, "notFound")

	ok(t, "delete rule", e.wait(e.fr.Delete(e.ctx, &computepb.DeleteForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "fr1"})))
	if a = e.getAddress(t, "a1"); a.GetStatus() != "RESERVED" || len(a.Users) != 0 {
		t.Errorf("address after rule deletion: %s %v", a.GetStatus(), a.Users)
	}
	ok(t, "delete address", e.wait(e.addr.Delete(e.ctx, &computepb.DeleteAddressRequest{Project: project, Region: region, Address: "a1"})))
}

func TestAddressPromotesEphemeralIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.externalLB(t, "lb", nil)
	ip := e.getFR(t, "lb").GetIPAddress()
	ok(t, "reserve the rule's IP", e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region,
		AddressResource: &computepb.Address{Name: proto.String("lb"), Address: proto.String(ip)}})))
	a := e.getAddress(t, "lb")
	if a.GetAddress() != ip || a.GetStatus() != "IN_USE" || len(a.Users) != 1 {
		t.Errorf("promoted address = %v", a)
	}
	err := e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region,
		AddressResource: &computepb.Address{Name: proto.String("again"), Address: proto.String(ip)}}))
	wantCode(t, "second reservation of one IP", err, http.StatusBadRequest, "")
	ok(t, "standard tier address", e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region,
		AddressResource: &computepb.Address{Name: proto.String("std"), NetworkTier: proto.String("STANDARD")}})))
	err = e.wait(e.fr.Insert(e.ctx, &computepb.InsertForwardingRuleRequest{Project: project, Region: region,
		ForwardingRuleResource: &computepb.ForwardingRule{Name: proto.String("tier"), IPAddress: proto.String(e.getAddress(t, "std").GetAddress()),
			Target: proto.String(e.link(regional("targetPools", "lb")))}}))
	wantCode(t, "tier mismatch", err, http.StatusBadRequest, "invalid")
}

func TestForwardingRulePatchSetLabelsSetTarget(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.externalLB(t, "lb", nil)
	fr := e.getFR(t, "lb")

	patch := func(body *computepb.ForwardingRule) error {
		return e.wait(e.fr.Patch(e.ctx, &computepb.PatchForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "lb", ForwardingRuleResource: body}))
	}
	wantCode(t, "patch with a made-up fingerprint", patch(&computepb.ForwardingRule{Fingerprint: proto.String("AAAAAAAAAAA="), NetworkTier: proto.String("STANDARD")}), http.StatusPreconditionFailed, "conditionNotMet")
	wantCode(t, "patch portRange", patch(&computepb.ForwardingRule{Fingerprint: fr.Fingerprint, PortRange: proto.String("1-2")}), http.StatusBadRequest, "invalid")
	ok(t, "patch networkTier", patch(&computepb.ForwardingRule{Fingerprint: fr.Fingerprint, NetworkTier: proto.String("STANDARD")}))
	got := e.getFR(t, "lb")
	if got.GetNetworkTier() != "STANDARD" || got.GetFingerprint() == fr.GetFingerprint() || got.GetIPAddress() != fr.GetIPAddress() {
		t.Errorf("after patch: tier %s fingerprint %s (was %s) ip %s", got.GetNetworkTier(), got.GetFingerprint(), fr.GetFingerprint(), got.GetIPAddress())
	}
	wantCode(t, "patch with stale fingerprint", patch(&computepb.ForwardingRule{Fingerprint: fr.Fingerprint, NetworkTier: proto.String("PREMIUM")}), http.StatusPreconditionFailed, "conditionNotMet")
	ok(t, "patch without fingerprint (optional for forwarding rules)", patch(&computepb.ForwardingRule{NetworkTier: proto.String("PREMIUM")}))

	setLabels := func(fp string) error {
		return e.wait(e.fr.SetLabels(e.ctx, &computepb.SetLabelsForwardingRuleRequest{Project: project, Region: region, Resource: "lb",
			RegionSetLabelsRequestResource: &computepb.RegionSetLabelsRequest{LabelFingerprint: proto.String(fp), Labels: map[string]string{"cluster": "c1"}}}))
	}
	ok(t, "setLabels", setLabels(got.GetLabelFingerprint()))
	wantCode(t, "setLabels with stale fingerprint", setLabels(got.GetLabelFingerprint()), http.StatusPreconditionFailed, "conditionNotMet")
	if l := e.getFR(t, "lb").GetLabels(); l["cluster"] != "c1" {
		t.Errorf("labels = %v", l)
	}

	ok(t, "second pool", e.wait(e.tp.Insert(e.ctx, &computepb.InsertTargetPoolRequest{Project: project, Region: region,
		TargetPoolResource: &computepb.TargetPool{Name: proto.String("other")}})))
	ok(t, "setTarget", e.wait(e.fr.SetTarget(e.ctx, &computepb.SetTargetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: "lb",
		TargetReferenceResource: &computepb.TargetReference{Target: proto.String(e.link(regional("targetPools", "other")))}})))
	if tgt := e.getFR(t, "lb").GetTarget(); tgt != e.link(regional("targetPools", "other")) {
		t.Errorf("target after setTarget = %s", tgt)
	}
	ok(t, "old pool is free", e.wait(e.tp.Delete(e.ctx, &computepb.DeleteTargetPoolRequest{Project: project, Region: region, TargetPool: "lb"})))
}

func TestIDsAreJSONStrings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, op := e.raw(t, http.MethodPost, "regions/"+region+"/addresses", `{"name":"a1"}`)
	if status != http.StatusOK {
		t.Fatalf("insert: %d %v", status, op)
	}
	status, a := e.raw(t, http.MethodGet, regional("addresses", "a1"), "")
	if status != http.StatusOK {
		t.Fatalf("get: %d %v", status, a)
	}
	for what, v := range map[string]any{"address id": a["id"], "operation id": op["id"], "operation targetId": op["targetId"]} {
		s, isString := v.(string)
		if !isString {
			t.Errorf("%s = %#v (%T), want a JSON string", what, v, v)
			continue
		}
		if n, err := strconv.ParseUint(s, 10, 64); err != nil || n <= 1<<63 {
			t.Errorf("%s = %q: want a uint64 beyond int64 and float precision (%v)", what, s, err)
		}
	}
	if op["targetId"] != a["id"] || op["status"] != "DONE" || op["operationType"] != "insert" {
		t.Errorf("operation = %v", op)
	}
	if a["selfLink"] != e.link(regional("addresses", "a1")) {
		t.Errorf("selfLink %v does not use the request's base URL %s", a["selfLink"], e.url)
	}
}
