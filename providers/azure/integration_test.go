package azure_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/providers"
)

func TestCreatePublicAndInternal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	pub := service("web", uid(1), nil)
	st := e.ensure(pub)
	p := e.pip(cluster + "-" + svcPrefix(pub))
	if p == nil {
		t.Fatal("managed public IP not created")
	}
	if got, want := st.Ingress[0].IP, *p.Properties.IPAddress; got != want || got == "" {
		t.Errorf("ingress %q, want the public IP's address %q", got, want)
	}
	if *p.Tags["k8s-azure-service"] != "shop/web" || *p.Tags["k8s-azure-cluster-name"] != cluster || *p.SKU.Name != "Standard" ||
		*p.Properties.PublicIPAllocationMethod != "Static" {
		t.Errorf("managed public IP: tags %v sku %s method %s", p.Tags, *p.SKU.Name, *p.Properties.PublicIPAllocationMethod)
	}
	lb := e.lb(cluster)
	if lb == nil {
		t.Fatal("load balancer demo not created")
	}
	if *lb.SKU.Name != "Standard" || *lb.Tags["k8s-azure-cluster-name"] != cluster {
		t.Errorf("load balancer sku %v tags %v", *lb.SKU.Name, lb.Tags)
	}
	if got := frontendNames(lb); !slices.Equal(got, []string{svcPrefix(pub)}) {
		t.Errorf("frontends %v", got)
	}
	r := ruleByName(lb, svcPrefix(pub)+"-TCP-443")
	if r == nil || *r.FrontendPort != 443 || *r.BackendPort != 443 || !*r.EnableFloatingIP || !*r.EnableTCPReset || r.Probe == nil {
		t.Fatalf("rule TCP-443: %+v", r)
	}
	if pr := probeByName(lb, svcPrefix(pub)+"-TCP-443"); pr == nil || *pr.Port != 30443 || *pr.Protocol != "Tcp" {
		t.Errorf("probe TCP-443: %+v", pr)
	}
	if got := poolIPs(lb); !slices.Equal(sorted(got), []string{"10.240.0.4", "10.240.0.5", "10.240.0.6"}) {
		t.Errorf("pool %v", got)
	}
	rules := e.securityRules()
	allow := rules[svcPrefix(pub)+"-TCP-Internet"]
	if allow == nil || *allow.SourceAddressPrefix != "Internet" || *allow.DestinationAddressPrefix != st.Ingress[0].IP || *allow.Priority == 500 {
		t.Errorf("NSG allow rule %+v (the user's rule holds 500)", allow)
	}
	if rules[userRule] == nil {
		t.Error("the user's NSG rule is gone")
	}

	internal := service("api", uid(2), map[string]string{prefix + "azure-load-balancer-internal": "true", prefix + "azure-load-balancer-ipv4": "10.240.9.9"})
	st = e.ensure(internal)
	if st.Ingress[0].IP != "10.240.9.9" {
		t.Errorf("internal ingress %v, want the static 10.240.9.9", st.Ingress)
	}
	ilb := e.lb(cluster + "-internal")
	if ilb == nil || !slices.Equal(frontendNames(ilb), []string{svcPrefix(internal)}) {
		t.Fatalf("internal load balancer frontends %v", frontendNames(ilb))
	}
	if f := ilb.Properties.FrontendIPConfigurations[0].Properties; *f.PrivateIPAllocationMethod != "Static" || !strings.HasSuffix(*f.Subnet.ID, "/subnets/nodes") {
		t.Errorf("internal frontend %+v", f)
	}
	if got := frontendNames(e.lb(cluster)); !slices.Equal(got, []string{svcPrefix(pub)}) {
		t.Errorf("the public load balancer changed: %v", got)
	}
	// A dynamic internal frontend keeps its address.
	dyn := service("dyn", uid(3), map[string]string{prefix + "azure-load-balancer-internal": "true", prefix + "azure-load-balancer-internal-subnet": "ilb"})
	st = e.ensure(dyn)
	if ip := st.Ingress[0].IP; !strings.HasPrefix(ip, "10.241.0.") {
		t.Errorf("dynamic internal ingress %q, want an address of subnet ilb", ip)
	}
	e.srv.ResetCalls()
	if again := e.ensure(dyn); again.Ingress[0].IP != st.Ingress[0].IP {
		t.Errorf("dynamic address changed from %s to %s", st.Ingress[0].IP, again.Ingress[0].IP)
	}
	if w, _, calls := e.counts(); w != 0 {
		t.Errorf("no-op of a dynamic internal frontend wrote: %v", calls)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestNoOpReconcileCost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	for _, tc := range []struct {
		name     string
		svc      *v1.Service
		maxReads int
	}{
		{"public", service("web", uid(1), map[string]string{prefix + "azure-dns-label-name": "shop-web", prefix + "azure-pip-tags": "team=shop"},
			func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"} }), 3},
		{"internal", service("api", uid(2), map[string]string{prefix + "azure-load-balancer-internal": "true"}), 2},
		{"local", service("local", uid(3), nil, func(s *v1.Service) {
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 32000
		}), 3},
	} {
		first := e.ensure(tc.svc)
		e.srv.ResetCalls()
		st := e.ensure(tc.svc)
		w, r, calls := e.counts()
		if w != 0 || r > tc.maxReads {
			t.Errorf("%s: no-op reconcile made %d writes and %d reads (want 0 and <= %d): %v", tc.name, w, r, tc.maxReads, calls)
		}
		if st.Ingress[0].IP != first.Ingress[0].IP {
			t.Errorf("%s: ingress changed from %v to %v", tc.name, first.Ingress, st.Ingress)
		}
	}
	// A restarted controller (new Cloud) checks the other load balancer and stale public
	// IPs once, still without writing.
	e.cloud = e.newCloud()
	e.srv.ResetCalls()
	e.ensure(service("web", uid(1), map[string]string{prefix + "azure-dns-label-name": "shop-web", prefix + "azure-pip-tags": "team=shop"},
		func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"} }))
	if w, _, calls := e.counts(); w != 0 {
		t.Errorf("first reconcile after a restart wrote: %v", calls)
	}
}

func TestNodeChurnWritesPoolOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	var svcs []*v1.Service
	for i := range 20 {
		s := service("svc", uid(100+i), nil)
		s.Name = s.Name + string(rune('a'+i))
		svcs = append(svcs, s)
		e.ensure(s)
	}
	e.nodes = append(e.nodes[1:], node("node-4", "10.240.0.20"))
	e.srv.ResetCalls()
	var wg sync.WaitGroup
	errs := make(chan error, len(svcs))
	for _, s := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e.cloud.UpdateLoadBalancer(testCtx(t), cluster, s, e.nodes)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	calls := e.srv.Calls()
	if calls["LoadBalancers.CreateOrUpdate"] != 1 || e.srv.Writes() != 1 {
		t.Errorf("node churn with 20 Services: %d writes, want the pool written once: %v", e.srv.Writes(), calls)
	}
	// One read per Service, plus the write's own final read.
	if n := calls["LoadBalancers.Get"]; n > len(svcs)+1 {
		t.Errorf("node churn: %d load balancer reads for %d Services", n, len(svcs))
	}
	if got := poolIPs(e.lb(cluster)); !slices.Equal(sorted(got), []string{"10.240.0.20", "10.240.0.5", "10.240.0.6"}) {
		t.Errorf("pool after churn %v", got)
	}
}

func TestConcurrentWritersRetryOn412(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	seed := service("seed", uid(1), nil)
	e.ensure(seed)
	// Two controllers (no shared lock) write the same load balancer at once; the fake adds
	// latency so their read-modify-write cycles overlap.
	other := e.newCloud()
	e.srv.SetFaults(fakecore.Faults{Latency: 20 * time.Millisecond})
	a, b := service("a", uid(2), nil), service("b", uid(3), nil)
	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(2)
	go func() { defer wg.Done(); _, errA = e.cloud.EnsureLoadBalancer(testCtx(t), cluster, a, e.nodes) }()
	go func() { defer wg.Done(); _, errB = other.EnsureLoadBalancer(testCtx(t), cluster, b, e.nodes) }()
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("concurrent ensures: %v, %v", errA, errB)
	}
	got := sorted(frontendNames(e.lb(cluster)))
	if want := sorted([]string{svcPrefix(seed), svcPrefix(a), svcPrefix(b)}); !slices.Equal(got, want) {
		t.Errorf("frontends %v, want %v: a concurrent write was lost", got, want)
	}
	// Deterministically: a stale etag on the write is answered 412, and the provider
	// re-reads and writes again.
	e.srv.SetFaults(fakecore.Faults{})
	e.srv.FailNext("LoadBalancers.CreateOrUpdate", 1, &fakecore.APIError{Status: http.StatusPreconditionFailed, Code: "PreconditionFailed"})
	c := service("c", uid(4), nil)
	e.srv.ResetCalls()
	e.ensure(c)
	if n := e.srv.Calls()["LoadBalancers.CreateOrUpdate"]; n != 2 {
		t.Errorf("after a 412: %d load balancer writes, want 2 (the failed one and the retry)", n)
	}
	if !slices.Contains(frontendNames(e.lb(cluster)), svcPrefix(c)) {
		t.Error("frontend of c missing after the 412 retry")
	}
}

func TestThrottlingHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.srv.SetFaults(fakecore.Faults{ThrottleRate: 0.3, RetryAfter: 20 * time.Millisecond})
	svc := service("web", uid(1), nil)
	e.ensure(svc)
	e.srv.SetFaults(fakecore.Faults{})
	if st := e.cloud.APIStats(); st.Throttled == 0 || st.Attempts <= st.Throttled {
		t.Errorf("stats %+v: want throttled attempts retried", st)
	}
	if e.lb(cluster) == nil {
		t.Error("load balancer not created under throttling")
	}
}

func TestDeleteLeavesNothingOfOursAndEverythingOfTheUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	pub := service("web", uid(1), nil, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"} })
	user := service("byo", uid(2), map[string]string{prefix + "azure-pip-name": userPIP})
	internal := service("api", uid(3), map[string]string{prefix + "azure-load-balancer-internal": "true"})
	for _, s := range []*v1.Service{pub, user, internal} {
		e.ensure(s)
	}
	userIP := *e.pip(userPIP).Properties.IPAddress
	for _, s := range []*v1.Service{pub, user, internal} {
		st, exists, err := e.cloud.GetLoadBalancer(testCtx(t), cluster, s)
		if err != nil || !exists || st.Ingress[0].IP == "" {
			t.Errorf("GetLoadBalancer(%s) = %v, %v, %v", s.Name, st, exists, err)
		}
	}
	if st, _, _ := e.cloud.GetLoadBalancer(testCtx(t), cluster, user); st.Ingress[0].IP != userIP {
		t.Errorf("GetLoadBalancer(byo) ingress %v, want the user's %s", st.Ingress, userIP)
	}
	e.remove(pub)
	if _, exists, err := e.cloud.GetLoadBalancer(testCtx(t), cluster, pub); exists || err != nil {
		t.Errorf("GetLoadBalancer after delete: exists %v, err %v", exists, err)
	}
	if e.pip(cluster+"-"+svcPrefix(pub)) != nil {
		t.Error("managed public IP left after delete")
	}
	if got := frontendNames(e.lb(cluster)); !slices.Equal(got, []string{svcPrefix(user)}) {
		t.Errorf("frontends after deleting web: %v", got)
	}
	e.remove(user)
	e.remove(internal)
	for _, r := range e.srv.Resources() {
		if strings.Contains(strings.ToLower(r.Type), "loadbalancers") {
			t.Errorf("load balancer %s left after every Service was deleted", r.Name)
		}
		if r.Tags["k8s-azure-service"] != "" {
			t.Errorf("managed resource %s left", r.ID)
		}
	}
	p := e.pip(userPIP)
	if p == nil || *p.Properties.IPAddress != userIP || len(p.Tags) != 1 || *p.Tags["owner"] != "me" {
		t.Errorf("the user's public IP was changed or deleted: %+v", p)
	}
	rules := e.securityRules()
	if len(rules) != 1 || rules[userRule] == nil {
		t.Errorf("NSG rules after deletes: %v, want only the user's", rules)
	}
	e.srv.ResetCalls()
	e.remove(pub)
	if w, _, calls := e.counts(); w != 0 {
		t.Errorf("deleting an already deleted Service wrote: %v", calls)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	for _, tc := range []struct {
		name string
		svc  *v1.Service
	}{
		{"missing pip name", service("nopip", uid(2), map[string]string{prefix + "azure-pip-name": "does-not-exist"})},
		{"unknown address", service("noaddr", uid(3), map[string]string{prefix + "azure-load-balancer-ipv4": "20.99.99.99"})},
	} {
		_, err := e.cloud.EnsureLoadBalancer(testCtx(t), cluster, tc.svc, e.nodes)
		var ue *providers.UserError
		if !errors.As(err, &ue) {
			t.Errorf("%s: err = %v, want a providers.UserError", tc.name, err)
		}
	}
	if e.srv.Resources() != nil && e.lb(cluster) != nil {
		t.Error("a refused Service created a load balancer")
	}
}

func TestPublicIPChoices(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	userIP := *e.pip(userPIP).Properties.IPAddress
	pinned := service("pinned", uid(1), map[string]string{prefix + "azure-load-balancer-ipv4": userIP})
	if st := e.ensure(pinned); st.Ingress[0].IP != userIP {
		t.Errorf("pinned address: ingress %v, want the user's %s", st.Ingress, userIP)
	}
	elsewhere := service("elsewhere", uid(2), map[string]string{prefix + "azure-load-balancer-resource-group": "ips-rg",
		prefix + "azure-pip-ip-tags": "RoutingPreference=Internet", prefix + "azure-additional-public-ips": "20.9.9.9"})
	st := e.ensure(elsewhere)
	id := "/subscriptions/" + sub + "/resourceGroups/ips-rg/providers/Microsoft.Network/publicIPAddresses/" + cluster + "-" + svcPrefix(elsewhere)
	raw, ok := e.srv.Get(id)
	if !ok {
		t.Fatalf("no managed public IP in ips-rg")
	}
	if !strings.Contains(string(raw), `"ipTagType":"RoutingPreference"`) {
		t.Errorf("ip tags missing: %s", raw)
	}
	if len(st.Ingress) != 2 || st.Ingress[1].IP != "20.9.9.9" {
		t.Errorf("ingress %v, want the additional public IP second", st.Ingress)
	}
	allow := e.securityRules()[svcPrefix(elsewhere)+"-TCP-Internet"]
	if got := sorted(derefs(allow.DestinationAddressPrefixes)); !slices.Equal(got, sorted([]string{st.Ingress[0].IP, "20.9.9.9"})) {
		t.Errorf("NSG destinations %v, want the frontend and the additional IP", got)
	}
	e.remove(elsewhere)
	if _, ok := e.srv.Get(id); ok {
		t.Error("managed public IP in ips-rg left after delete")
	}
	e.remove(pinned)
	if p := e.pip(userPIP); p == nil || len(p.Tags) != 1 {
		t.Error("the user's public IP selected by address was changed or deleted")
	}
}

// TestRecoversFromFailedWrites fails each write of a first reconcile in turn (as a crash
// between two writes would leave things): the next reconcile completes the rest, and the
// one after writes nothing.
func TestRecoversFromFailedWrites(t *testing.T) {
	t.Parallel()
	for _, call := range []string{"PublicIPAddresses.CreateOrUpdate", "LoadBalancers.CreateOrUpdate", "SecurityGroups.CreateOrUpdate"} {
		t.Run(call, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "")
			svc := service("web", uid(1), nil)
			e.srv.FailNext(call, 1, &fakecore.APIError{Code: "InternalServerError", Async: true})
			if _, err := e.cloud.EnsureLoadBalancer(testCtx(t), cluster, svc, e.nodes); err == nil {
				t.Fatalf("%s failed but EnsureLoadBalancer reported success", call)
			}
			st := e.ensure(svc)
			if e.securityRules()[svcPrefix(svc)+"-TCP-Internet"] == nil || !slices.Contains(frontendNames(e.lb(cluster)), svcPrefix(svc)) || st.Ingress[0].IP == "" {
				t.Errorf("not converged after a failed %s", call)
			}
			e.srv.ResetCalls()
			e.ensure(svc)
			if w, _, calls := e.counts(); w != 0 {
				t.Errorf("reconcile after recovery wrote: %v", calls)
			}
		})
	}
}
