package fakegce

import (
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// TestAddressSharing: GCE lets several forwarding rules use one reserved address when each
// (protocol, ports) is unique: any EXTERNAL address, INTERNAL ones only with purpose
// SHARED_LOADBALANCER_VIP.
func TestAddressSharing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reserve := func(name string, a *computepb.Address) string {
		t.Helper()
		a.Name = proto.String(name)
		ok(t, "reserve "+name, e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region, AddressResource: a})))
		return e.getAddress(t, name).GetAddress()
	}
	ext := reserve("ext", &computepb.Address{})
	e.externalLB(t, "tcp80", &computepb.ForwardingRule{IPAddress: proto.String(ext), PortRange: proto.String("80")})
	e.internalLB(t)
	sub := proto.String(e.link(regional("subnetworks", "nodes")))
	plain := reserve("plain", &computepb.Address{AddressType: proto.String("INTERNAL"), Subnetwork: sub})
	vip := reserve("vip", &computepb.Address{AddressType: proto.String("INTERNAL"), Subnetwork: sub, Purpose: proto.String("SHARED_LOADBALANCER_VIP")})
	if got := e.getAddress(t, "plain").GetPurpose(); got != "GCE_ENDPOINT" {
		t.Errorf("internal address purpose = %q, want the default GCE_ENDPOINT", got)
	}

	pool := e.link(regional("targetPools", "tcp80"))
	bs := e.link(regional("backendServices", "ilb"))
	external := func(name, ip, proto_, ports string) *computepb.ForwardingRule {
		return &computepb.ForwardingRule{Name: proto.String(name), IPAddress: proto.String(ip), IPProtocol: proto.String(proto_),
			PortRange: proto.String(ports), Target: proto.String(pool)}
	}
	internal := func(name, ip, proto_ string, ports ...string) *computepb.ForwardingRule {
		return &computepb.ForwardingRule{Name: proto.String(name), IPAddress: proto.String(ip), IPProtocol: proto.String(proto_),
			LoadBalancingScheme: proto.String("INTERNAL"), BackendService: proto.String(bs), Ports: ports, Subnetwork: sub}
	}
	steps := []struct {
		name    string
		rule    *computepb.ForwardingRule
		inUseBy string // "" when the insert must succeed
	}{
		{"external: UDP on the TCP rule's address", external("udp53", ext, "UDP", "53"), ""},
		{"external: TCP on other ports", external("tcp8080", ext, "TCP", "8080-8090"), ""},
		{"external: TCP overlapping 80", external("tcp70", ext, "TCP", "70-80"), "tcp80"},
		{"external: UDP overlapping 53", external("udp50", ext, "UDP", "50-60"), "udp53"},
		{"internal GCE_ENDPOINT: first rule", internal("p1", plain, "TCP", "80"), ""},
		{"internal GCE_ENDPOINT: second rule", internal("p2", plain, "UDP", "53"), "p1"},
		{"internal shared VIP: TCP", internal("v1", vip, "TCP", "80", "443"), ""},
		{"internal shared VIP: UDP same ports", internal("v2", vip, "UDP", "80", "443"), ""},
		{"internal shared VIP: TCP overlap", internal("v3", vip, "TCP", "443"), "v1"},
	}
	for _, st := range steps {
		err := e.wait(e.fr.Insert(e.ctx, &computepb.InsertForwardingRuleRequest{Project: project, Region: region, ForwardingRuleResource: st.rule}))
		if st.inUseBy == "" {
			if err != nil {
				t.Errorf("%s: %v", st.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "IP_IN_USE_BY_ANOTHER_RESOURCE") || !strings.Contains(err.Error(), "/forwardingRules/"+st.inUseBy) {
			t.Errorf("%s: err = %v, want IP_IN_USE_BY_ANOTHER_RESOURCE naming %s", st.name, err, st.inUseBy)
		}
	}
	for name, want := range map[string]int{"ext": 3, "plain": 1, "vip": 2} {
		if a := e.getAddress(t, name); len(a.Users) != want || a.GetStatus() != "IN_USE" {
			t.Errorf("address %s: status %s users %v, want %d", name, a.GetStatus(), a.Users, want)
		}
	}

	// The address stays in use until its last rule goes.
	for _, r := range []string{"v1", "v2"} {
		err := e.wait(e.addr.Delete(e.ctx, &computepb.DeleteAddressRequest{Project: project, Region: region, Address: "vip"}))
		wantCode(t, "delete vip before "+r, err, http.StatusBadRequest, "resourceInUseByAnotherResource")
		ok(t, "delete "+r, e.wait(e.fr.Delete(e.ctx, &computepb.DeleteForwardingRuleRequest{Project: project, Region: region, ForwardingRule: r})))
	}
	if a := e.getAddress(t, "vip"); a.GetStatus() != "RESERVED" || len(a.Users) != 0 {
		t.Errorf("vip after its rules: %s %v", a.GetStatus(), a.Users)
	}
}

func TestAddressPurposeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddNetwork("vpc", map[string]string{"nodes": "10.0.0.0/24"})
	sub := proto.String(e.link(regional("subnetworks", "nodes")))
	for _, tc := range []struct {
		name string
		a    *computepb.Address
	}{
		{"external with a purpose", &computepb.Address{Name: proto.String("x1"), Purpose: proto.String("SHARED_LOADBALANCER_VIP")}},
		{"internal unknown purpose", &computepb.Address{Name: proto.String("x2"), AddressType: proto.String("INTERNAL"), Subnetwork: sub, Purpose: proto.String("VPC_PEERING")}},
	} {
		_, err := e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region, AddressResource: tc.a})
		wantCode(t, tc.name, err, http.StatusBadRequest, "invalid")
	}
}
