package azure_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

// upstreamWorld is what seedUpstream left: the Services and their addresses.
type upstreamWorld struct {
	svcs  []upstreamSvc
	addrs map[string]string // Service name -> frontend address
	pips  map[string]string // Service name -> public IP ID
}

// seedUpstream writes, through the SDK, what upstream leaves for svcs (upstream_fixtures_test.go):
// their public IPs, the public load balancer with the NIC-based pool the nodes' NICs joined,
// and the shared allow rules in the cluster NSG.
func seedUpstream(t *testing.T, e *env, svcs []upstreamSvc) upstreamWorld {
	t.Helper()
	ctx := testCtx(t)
	w := upstreamWorld{svcs: svcs, addrs: map[string]string{}, pips: map[string]string{}}
	for _, u := range svcs {
		name, body := upstreamPIP(u.svc)
		p, err := e.f.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx, rg, name, body, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatal(err)
		}
		w.addrs[u.svc.Name], w.pips[u.svc.Name] = *res.Properties.IPAddress, *res.ID
	}
	lbID := e.id("loadBalancers", cluster)
	e.srv.SeedNICBackends(lbID+"/backendAddressPools/"+cluster, upstreamNICs(e.nodes))
	lp, err := e.f.NewLoadBalancersClient().BeginCreateOrUpdate(ctx, rg, cluster, upstreamLB(svcs, w.pips, lbID), nil)
	if err == nil {
		_, err = lp.PollUntilDone(ctx, poll)
	}
	if err != nil {
		t.Fatalf("seeding upstream's load balancer: %v", err)
	}
	g := e.nsg()
	used := map[int32]bool{}
	for _, r := range g.Properties.SecurityRules {
		used[*r.Properties.Priority] = true
	}
	g.Properties.SecurityRules = append(g.Properties.SecurityRules, upstreamAllowRules(svcs, w.addrs, used)...)
	np, err := e.f.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, rg, nsgName, *g, nil)
	if err == nil {
		_, err = np.PollUntilDone(ctx, poll)
	}
	if err != nil {
		t.Fatalf("seeding upstream's NSG rules: %v", err)
	}
	return w
}

// upstreamRules are the NSG's rules named as upstream's, by name, with their destinations.
func upstreamRules(e *env) map[string][]string {
	out := map[string][]string{}
	for _, r := range e.nsg().Properties.SecurityRules {
		if strings.HasPrefix(*r.Name, "k8s-azure-lb_") {
			out[*r.Name] = destinations(r)
		}
	}
	return out
}

// rulePoolName is the pool a rule of lb uses.
func rulePoolName(lb *armnetwork.LoadBalancer, rule string) string {
	r := ruleByName(lb, rule)
	if r == nil || r.BackendAddressPool == nil {
		return ""
	}
	id := *r.BackendAddressPool.ID
	return id[strings.LastIndex(id, "/")+1:]
}

// TestAdoptUpstream: cloudlb takes over what upstream made for two public Services that share
// one upstream NSG rule, in place: the same frontends and addresses, no load balancer or
// public IP deleted, never a rule on an empty pool, the load balancer tagged once, the rules
// moved to cloudlb's IP pool while upstream's NIC pool stays as it was, the shared rule
// narrowed and then removed as each Service gets its own rule; node changes reach the pool,
// narrowed source ranges take effect, and deletion works. Then what upstream expects of its
// objects still holds, and its roll-back write is accepted in place.
func TestAdoptUpstream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	a, b := service("web", uid(7001), nil), service("api", uid(7002), nil)
	w := seedUpstream(t, e, []upstreamSvc{{svc: a, sources: []string{"Internet"}}, {svc: b, sources: []string{"Internet"}}})
	shared := upstreamAllowRuleName("Tcp", "IPv4", []string{"Internet"}, []int32{443, 80})
	if got := upstreamRules(e)[shared]; len(got) != 2 {
		t.Fatalf("fixture: shared rule %s lists %v, want both Services' addresses", shared, got)
	}
	e.srv.ResetCalls()

	steps := []struct {
		name string
		do   func() *v1.LoadBalancerStatus
		// onSide are the Services whose rules must be on cloudlb's pool afterwards.
		onSide     []*v1.Service
		sharedDsts int // destinations left in upstream's shared rule (0: gone)
	}{
		{"ensure web", func() *v1.LoadBalancerStatus { return e.ensure(a) }, []*v1.Service{a}, 1},
		{"ensure api", func() *v1.LoadBalancerStatus { return e.ensure(b) }, []*v1.Service{a, b}, 0},
		{"no-op resync of web", func() *v1.LoadBalancerStatus { return e.ensure(a) }, []*v1.Service{a, b}, 0},
	}
	for _, s := range steps {
		st := s.do()
		if st == nil || len(st.Ingress) != 1 {
			t.Fatalf("%s: status %v", s.name, st)
		}
		lb := e.lb(cluster)
		if v := lb.Tags["k8s-azure-cluster-name"]; v == nil || *v != cluster {
			t.Errorf("%s: load balancer tags %v, want the cluster tag", s.name, lb.Tags)
		}
		if got := frontendNames(lb); !slices.Contains(got, svcPrefix(a)) || !slices.Contains(got, svcPrefix(b)) {
			t.Errorf("%s: frontends %v, want both upstream frontends kept", s.name, got)
		}
		for _, svc := range []*v1.Service{a, b} {
			want := cluster
			if slices.Contains(s.onSide, svc) {
				want = cluster + "-cloudlb"
			}
			if got := rulePoolName(lb, svcPrefix(svc)+"-TCP-80"); got != want {
				t.Errorf("%s: %s's rule is on pool %q, want %q", s.name, svc.Name, got, want)
			}
		}
		for _, p := range lb.Properties.BackendAddressPools {
			if *p.Name == cluster && (len(p.Properties.BackendIPConfigurations) != 3 || len(p.Properties.LoadBalancerBackendAddresses) != 0) {
				t.Errorf("%s: upstream's NIC pool changed: %d NICs, %d addresses", s.name, len(p.Properties.BackendIPConfigurations), len(p.Properties.LoadBalancerBackendAddresses))
			}
		}
		if got := len(upstreamRules(e)[shared]); got != s.sharedDsts {
			t.Errorf("%s: upstream's shared rule has %d destinations, want %d", s.name, got, s.sharedDsts)
		}
	}
	for _, svc := range []*v1.Service{a, b} {
		if got := e.ensure(svc).Ingress[0].IP; got != w.addrs[svc.Name] {
			t.Errorf("%s: address %s, upstream's was %s", svc.Name, got, w.addrs[svc.Name])
		}
		if got := e.securityRules()[svcPrefix(svc)+"-TCP-Internet"]; got == nil || *got.DestinationAddressPrefix != w.addrs[svc.Name] {
			t.Errorf("%s: cloudlb's own allow rule %v, want one to %s", svc.Name, got, w.addrs[svc.Name])
		}
	}
	calls := e.srv.Calls()
	if calls["LoadBalancers.Delete"]+calls["PublicIPAddresses.Delete"] != 0 {
		t.Errorf("adoption deleted a load balancer or public IP: %v", calls)
	}
	if calls["LoadBalancers.CreateOrUpdate"] != 2 {
		t.Errorf("load balancer writes: %d, want one per Service (adoption, rules and pool in the same PUT)", calls["LoadBalancers.CreateOrUpdate"])
	}

	// Node changes reach the pool; narrowed source ranges take effect.
	e.nodes = append(e.nodes, node("node-4", "10.240.0.20"))
	if err := e.cloud.UpdateLoadBalancer(testCtx(t), cluster, a, e.nodes); err != nil {
		t.Fatal(err)
	}
	if got := poolIPs(e.lb(cluster)); len(got) != 4 {
		t.Errorf("after a node was added, cloudlb's pool holds %v, want 4 nodes", got)
	}
	a.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"}
	e.ensure(a)
	for name, r := range e.securityRules() {
		src := *to.Ptr(sval(r.SourceAddressPrefix))
		if slices.Contains(destinationsOf(r), w.addrs[a.Name]) && src == "Internet" {
			t.Errorf("after narrowing web's source ranges, rule %s still allows Internet to %s", name, w.addrs[a.Name])
		}
	}
	if got := e.srv.EmptyPools(); len(got) != 0 {
		t.Errorf("a write left a rule on an empty pool: %v", got)
	}

	checkUpstreamCanTakeBack(t, e, w)

	// Deleting an adopted Service removes its parts and releases its public IP.
	e.remove(b)
	if slices.Contains(frontendNames(e.lb(cluster)), svcPrefix(b)) || e.pip(cluster+"-"+svcPrefix(b)) != nil {
		t.Errorf("after deleting api: frontends %v, its public IP still there: %v", frontendNames(e.lb(cluster)), e.pip(cluster+"-"+svcPrefix(b)) != nil)
	}
}

// checkUpstreamCanTakeBack: what upstream's reconcile looks for on its objects is still there
// (frontends a<uid> on the same public IPs, probes and rules as upstream computes them but for
// the pool, the NIC pool <cluster> with its NICs, the public IPs' ownership tags), and the
// write upstream makes on roll-back (its rules back on <cluster>: findRule sees the pool
// differ and updates the rule in place) is accepted, with no rule ever on an empty pool.
func checkUpstreamCanTakeBack(t *testing.T, e *env, w upstreamWorld) {
	t.Helper()
	lb := e.lb(cluster)
	lbID := e.id("loadBalancers", cluster)
	for _, u := range w.svcs {
		f, probes, rules := upstreamParts(u.svc, lbID, w.pips[u.svc.Name], cluster)
		var got *armnetwork.FrontendIPConfiguration
		for _, gf := range lb.Properties.FrontendIPConfigurations {
			if *gf.Name == *f.Name {
				got = gf
			}
		}
		if got == nil || !strings.EqualFold(*got.Properties.PublicIPAddress.ID, *f.Properties.PublicIPAddress.ID) {
			t.Errorf("upstream's frontend %s is not as upstream expects: %+v", *f.Name, got)
		}
		for _, p := range probes {
			g := probeByName(lb, *p.Name)
			if g == nil || *g.Port != *p.Properties.Port || *g.IntervalInSeconds != 5 || *g.ProbeThreshold != 2 || *g.Protocol != armnetwork.ProbeProtocolTCP {
				t.Errorf("probe %s differs from upstream's: %+v", *p.Name, g)
			}
		}
		for _, r := range rules {
			g := ruleByName(lb, *r.Name)
			if g == nil || *g.FrontendPort != *r.Properties.FrontendPort || *g.BackendPort != *r.Properties.BackendPort || !*g.EnableFloatingIP || *g.IdleTimeoutInMinutes != 4 || !*g.EnableTCPReset {
				t.Errorf("rule %s differs from upstream's beyond its pool: %+v", *r.Name, g)
			}
		}
		p := e.pip(cluster + "-" + svcPrefix(u.svc))
		if p == nil || sval(p.Tags["k8s-azure-service"]) != u.svc.Namespace+"/"+u.svc.Name || sval(p.Tags["k8s-azure-cluster-name"]) != cluster {
			t.Errorf("%s: the public IP upstream owns by its tags lost them: %v", u.svc.Name, p)
		}
	}
	// Upstream's roll-back write: its rules back on its pool, one conditional PUT.
	for _, r := range lb.Properties.LoadBalancingRules {
		r.Properties.BackendAddressPool = &armnetwork.SubResource{ID: to.Ptr(lbID + "/backendAddressPools/" + cluster)}
		r.Properties.BackendAddressPools = nil
	}
	ctx := testCtx(t)
	p, err := e.f.NewLoadBalancersClient().BeginCreateOrUpdate(ctx, rg, cluster, *lb, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, poll)
	}
	if err != nil {
		t.Fatalf("upstream's roll-back write was refused: %v", err)
	}
	if got := e.srv.EmptyPools(); len(got) != 0 {
		t.Errorf("roll-back left a rule on an empty pool: %v", got)
	}
	if e.lb(cluster) == nil {
		t.Fatal("the load balancer is gone")
	}
}

// TestAdoptedReplacementGuard: an adopted Service (no key recorded) asking for the internal
// load balancer is kept where it is with ReplacementRefused and its status; the key is
// recorded, so setting cloudlb.io/replace-load-balancer then moves it. A Service cloudlb made
// moves at once.
func TestAdoptedReplacementGuard(t *testing.T) {
	t.Parallel()
	internal := map[string]string{prefix + "azure-load-balancer-internal": "true"}
	for _, c := range []struct {
		name    string
		adopted bool
	}{{"adopted from upstream", true}, {"made by cloudlb", false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			svc := service("web", uid(7101), nil)
			var addr string
			if c.adopted {
				addr = seedUpstream(t, e, []upstreamSvc{{svc: svc, sources: []string{"Internet"}}}).addrs["web"]
			} else {
				addr = e.ensure(svc).Ingress[0].IP
			}
			moved := service("web", uid(7101), internal)
			st, err := e.cloud.EnsureLoadBalancer(testCtx(t), cluster, moved, e.nodes)
			rr := providers.AsReplacementRefused(err)
			if !c.adopted {
				if err != nil || e.lb(cluster+"-internal") == nil {
					t.Fatalf("a Service cloudlb made: err %v, internal load balancer %v; want it moved", err, e.lb(cluster+"-internal") != nil)
				}
				return
			}
			if rr == nil || st == nil || st.Ingress[0].IP != addr || rr.Status == nil {
				t.Fatalf("adopted: EnsureLoadBalancer = %v, %v; want ReplacementRefused keeping %s", st, err, addr)
			}
			if !errors.As(err, &rr) || len(rr.Changes) != 1 || rr.Changes[0].Field != prefix+"azure-load-balancer-internal" {
				t.Errorf("refused changes %+v", rr.Changes)
			}
			if e.lb(cluster+"-internal") != nil || !slices.Contains(frontendNames(e.lb(cluster)), svcPrefix(svc)) {
				t.Errorf("the refused move changed the load balancers")
			}
			if k := e.pip(cluster + "-" + svcPrefix(svc)).Tags[providers.ReplaceKeyTag]; k == nil {
				t.Errorf("the key was not recorded on the public IP")
			}
			moved.Annotations["cloudlb.io/replace-load-balancer"] = "1"
			if _, err := e.cloud.EnsureLoadBalancer(testCtx(t), cluster, moved, e.nodes); err != nil {
				t.Fatalf("after asking for the replacement: %v", err)
			}
			if e.lb(cluster+"-internal") == nil {
				t.Errorf("asked for, the replacement did not happen")
			}
		})
	}
}

// destinationsOf merges a rule's singular and plural destinations.
func destinationsOf(p *armnetwork.SecurityRulePropertiesFormat) []string {
	return destinations(&armnetwork.SecurityRule{Properties: p})
}

func sval(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
