package azure

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/annotations"
)

// shared is a cluster's load balancer and NSG holding the parts of several Services, as
// their reconciles wrote them, with the Observed a reconcile of any of them reads.
type shared struct {
	models []*Model
	lb     *armnetwork.LoadBalancer
	nsg    *armnetwork.SecurityGroup
	x      ids
}

const sharedNSG = "cluster-nsg"

// sharedModel is the model of the i-th Service of a shared load balancer, on its own public
// IP; ann and mutate change it.
func sharedModel(t testing.TB, i int, ann map[string]string, mutate ...func(*v1.Service)) *Model {
	t.Helper()
	svc := testService(ann, append([]func(*v1.Service){func(s *v1.Service) {
		s.Name = fmt.Sprintf("web-%02d", i)
		s.UID = types.UID(fmt.Sprintf("%08d-8b7d-4e6f-9a1b-2c3d4e5f6a7b", i))
	}}, mutate...)...)
	cfg, problems := annotations.Parse(svc, annotations.Azure)
	if err := problems.Err(cfg.Service); err != nil {
		t.Fatalf("annotations: %v", err)
	}
	m, err := Build(Input{Service: svc, Nodes: testNodes(), Azure: cfg.Azure, Settings: testSettings()})
	if err != nil {
		t.Fatal(err)
	}
	m.Frontend.PublicIPID = fmt.Sprintf("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/demo-%02d", i)
	return m
}

// sharedFrontend is the i-th Service's frontend address.
func sharedFrontend(i int) frontendIPs { return frontendIPs{v4: fmt.Sprintf("20.0.0.%d", i+1)} }

// newShared writes n Services into one load balancer and one NSG (holding a rule of the
// user's) through their diffs, each write's body becoming what the next one reads.
func newShared(t *testing.T, n int) *shared {
	t.Helper()
	user := &armnetwork.SecurityRule{Name: to.Ptr("user"), Properties: &armnetwork.SecurityRulePropertiesFormat{
		Priority: to.Ptr[int32](500), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound), Access: to.Ptr(armnetwork.SecurityRuleAccessAllow)}}
	s := &shared{x: ids{"sub"}, nsg: &armnetwork.SecurityGroup{Name: to.Ptr(sharedNSG), Etag: to.Ptr("e"),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{user}}}}
	for i := range n {
		m := sharedModel(t, i, nil)
		s.models = append(s.models, m)
		o := s.observed()
		p, err := diffServiceLB(m, o, s.x)
		if err != nil || len(p.Writes) != 1 {
			t.Fatalf("adding Service %d to the load balancer: %v, %+v", i, err, p)
		}
		s.lb = p.Writes[0].Body.(*armnetwork.LoadBalancer)
		p, err = diffSecurity(o, s.x, "rg", sharedNSG, m.Prefix, resolveSecurity(m.Security, sharedFrontend(i)))
		if err != nil || len(p.Writes) != 1 {
			t.Fatalf("adding Service %d to the NSG: %v, %+v", i, err, p)
		}
		s.nsg = p.Writes[0].Body.(*armnetwork.SecurityGroup)
	}
	return s
}

func (s *shared) observed() *Observed {
	o := newObserved()
	if s.lb != nil {
		o.LoadBalancers[key("rg-lb", "demo")] = s.lb
	}
	o.SecurityGroups[key("rg", sharedNSG)] = s.nsg
	return o
}

// state is the JSON of the shared resources, to tell that a diff did not modify them.
func (s *shared) state(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal([]any{s.lb, s.nsg})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUnchangedServiceAmongManyWritesNothing: the diffs of a Service whose parts are as
// observed plan no write, whatever other Services share its load balancer and NSG, and they
// do not copy what they share (the cost of a restart pass grew with the square of the
// number of Services when each diff copied the whole load balancer, issue 16).
func TestUnchangedServiceAmongManyWritesNothing(t *testing.T) {
	t.Parallel()
	s := newShared(t, 12)
	before := s.state(t)
	for i, m := range s.models {
		o := s.observed()
		for _, d := range []struct {
			part string
			diff func() (*Plan, error)
		}{
			{"load balancer", func() (*Plan, error) { return diffServiceLB(m, o, s.x) }},
			{"pool", func() (*Plan, error) { return diffPool(m, o, s.x) }},
			{"opposite load balancer", func() (*Plan, error) { return diffLeaveLB(m, o, s.x, "rg-lb", "demo-internal") }},
			{"security rules", func() (*Plan, error) {
				return diffSecurity(o, s.x, "rg", sharedNSG, m.Prefix, resolveSecurity(m.Security, sharedFrontend(i)))
			}},
		} {
			p, err := d.diff()
			if err != nil {
				t.Fatalf("Service %d, %s: %v", i, d.part, err)
			}
			if len(p.Writes) != 0 {
				t.Errorf("Service %d unchanged, %s: %d writes (%v), want none", i, d.part, len(p.Writes), p.Writes[0].Changes)
			}
		}
		if _, changes, _ := updatePublicIP(newPublicIP(m.PublicIP), m.PublicIP); len(changes) != 0 {
			t.Errorf("Service %d unchanged, public IP: changes %q", i, changes)
		}
		view, changes, err := DiffLoadBalancer(s.lb, m, testLBID, false)
		if err != nil || len(changes) != 0 {
			t.Fatalf("Service %d: DiffLoadBalancer: %v, changes %q", i, err, changes)
		}
		if view.Properties.LoadBalancingRules[0] != s.lb.Properties.LoadBalancingRules[0] {
			t.Errorf("Service %d unchanged: DiffLoadBalancer copied the shared load balancer", i)
		}
		g, _, err := DiffSecurityGroup(s.nsg, m.Prefix, resolveSecurity(m.Security, sharedFrontend(i)))
		if err != nil {
			t.Fatal(err)
		}
		if g.Properties.SecurityRules[0] != s.nsg.Properties.SecurityRules[0] {
			t.Errorf("Service %d unchanged: DiffSecurityGroup copied the shared NSG", i)
		}
	}
	if s.state(t) != before {
		t.Error("the diffs modified the load balancer or the NSG as observed")
	}
}

// TestChangedServiceAmongManyWritten: a change of any part of one Service among many is
// planned as one write of the shared resource, which holds the change and every other
// Service's parts as observed, in a copy: what was observed is not modified.
func TestChangedServiceAmongManyWritten(t *testing.T) {
	t.Parallel()
	const n, k = 12, 5
	s := newShared(t, n)
	prefix := s.models[k].Prefix
	lbDiff := func(m *Model) func(*Observed) (*Plan, error) {
		return func(o *Observed) (*Plan, error) { return diffServiceLB(m, o, s.x) }
	}
	nsgDiff := func(m *Model, ips frontendIPs) func(*Observed) (*Plan, error) {
		return func(o *Observed) (*Plan, error) {
			return diffSecurity(o, s.x, "rg", sharedNSG, m.Prefix, resolveSecurity(m.Security, ips))
		}
	}
	moved := sharedModel(t, k, nil)
	moved.Frontend.PublicIPID += "-new"
	fewerNodes := sharedModel(t, k, nil)
	fewerNodes.Pool.Addresses = fewerNodes.Pool.Addresses[:1]
	for _, tc := range []struct {
		name string
		diff func(*Observed) (*Plan, error)
		// want is a change the write must list.
		want string
	}{
		{"rule", lbDiff(sharedModel(t, k, map[string]string{ann + "azure-load-balancer-tcp-idle-timeout": "10"})), "update rule " + prefix + "-TCP-443"},
		{"probe", lbDiff(sharedModel(t, k, map[string]string{ann + "azure-load-balancer-health-probe-interval": "10"})), "update probe " + prefix + "-TCP-443"},
		{"frontend", lbDiff(moved), "update frontend " + prefix},
		{"port added", lbDiff(sharedModel(t, k, nil, func(svc *v1.Service) {
			svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{Name: "alt", Protocol: v1.ProtocolTCP, Port: 8080, NodePort: 30808})
		})), "add rule " + prefix + "-TCP-8080"},
		{"nodes, on ensure", lbDiff(fewerNodes), "update pool demo: 2 -> 1 addresses"},
		{"nodes, on update", func(o *Observed) (*Plan, error) { return diffPool(fewerNodes, o, s.x) }, "update pool demo: 2 -> 1 addresses"},
		{"leaving", func(o *Observed) (*Plan, error) { return diffLeaveLB(s.models[k], o, s.x, "rg-lb", "demo") }, "remove frontend " + prefix},
		{"security rule", nsgDiff(sharedModel(t, k, nil, func(svc *v1.Service) {
			svc.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"}
		}), sharedFrontend(k)), "add security rule " + prefix + "-TCP-SourceRanges"},
		{"frontend address", nsgDiff(s.models[k], frontendIPs{v4: "20.0.1.1"}), "update security rule " + prefix + "-TCP-Internet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := s.state(t)
			p, err := tc.diff(s.observed())
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Writes) != 1 {
				t.Fatalf("%d writes, want 1", len(p.Writes))
			}
			w := p.Writes[0]
			if !slices.ContainsFunc(w.Changes, func(c string) bool { return strings.EqualFold(c, tc.want) }) {
				t.Errorf("changes %q, want %q among them", w.Changes, tc.want)
			}
			switch b := w.Body.(type) {
			case *armnetwork.LoadBalancer:
				checkOthersKept(t, prefix, s.lb.Properties.FrontendIPConfigurations, b.Properties.FrontendIPConfigurations, func(f *armnetwork.FrontendIPConfiguration) string { return sval(f.Name) })
				checkOthersKept(t, prefix, s.lb.Properties.LoadBalancingRules, b.Properties.LoadBalancingRules, func(r *armnetwork.LoadBalancingRule) string { return sval(r.Name) })
				checkOthersKept(t, prefix, s.lb.Properties.Probes, b.Properties.Probes, func(r *armnetwork.Probe) string { return sval(r.Name) })
			case *armnetwork.SecurityGroup:
				checkOthersKept(t, prefix, s.nsg.Properties.SecurityRules, b.Properties.SecurityRules, func(r *armnetwork.SecurityRule) string { return sval(r.Name) })
			default:
				t.Fatalf("a write of %T", w.Body)
			}
			if s.state(t) != before {
				t.Error("the diff modified the load balancer or the NSG as observed")
			}
		})
	}
}

// checkOthersKept fails unless the parts of other Services (and the user's) in obs are in out,
// equal and copied (out may be changed without changing obs).
func checkOthersKept[T any](t *testing.T, prefix string, obs, out []*T, name func(*T) string) {
	t.Helper()
	got := map[string]*T{}
	for _, p := range out {
		got[name(p)] = p
	}
	for _, p := range obs {
		n := name(p)
		if ownedBy(n, prefix) {
			continue
		}
		q, ok := got[n]
		switch {
		case !ok:
			t.Errorf("%s of another Service is gone", n)
			continue
		case q == p:
			t.Errorf("%s is the observed one, not a copy", n)
		}
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(q)
		if string(a) != string(b) {
			t.Errorf("%s of another Service changed:\n got %s\nwant %s", n, b, a)
		}
	}
}

// TestPublicIPCopiedOnlyOnChange: a managed public IP's diff writes a copy when a tag or the
// DNS label differs, and leaves the public IP as observed alone.
func TestPublicIPCopiedOnlyOnChange(t *testing.T) {
	t.Parallel()
	m := sharedModel(t, 1, map[string]string{ann + "azure-dns-label-name": "shop"})
	obs := newPublicIP(m.PublicIP)
	relabeled := *m.PublicIP
	relabeled.DNSLabel = to.Ptr("shop2")
	before, _ := json.Marshal(obs)
	out, changes, err := updatePublicIP(obs, &relabeled)
	if err != nil || !slices.Equal(changes, []string{"dns label"}) {
		t.Fatalf("changes %q, %v; want the dns label", changes, err)
	}
	if sval(out.Properties.DNSSettings.DomainNameLabel) != "shop2" || out.Properties == obs.Properties {
		t.Errorf("the body is not a copy with the new label: %+v", out.Properties.DNSSettings)
	}
	if after, _ := json.Marshal(obs); string(after) != string(before) {
		t.Errorf("the public IP as observed changed:\n%s\n%s", before, after)
	}
}
