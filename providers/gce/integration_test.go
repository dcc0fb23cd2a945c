package gce

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	"github.com/cloudlb/cloudlb/providers"
)

func TestExternalClusterLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("web", nil)
	lb := LoadBalancerName(s)
	st := e.ensure(s)
	for _, want := range []string{
		"forwardingRule " + lb, "address " + lb, "targetPool " + lb, "httpHealthCheck k8s-demo-node",
		"firewall k8s-fw-" + lb, "firewall k8s-demo-node-http-hc",
	} {
		if !slices.Contains(e.names(), want) {
			t.Errorf("missing %s in %v", want, e.names())
		}
	}
	fw, err := e.cloud.getFirewall(e.ctx(), testProject, trafficFirewallName(lb))
	if err != nil || fw == nil || !slices.Equal(fw.DestinationRanges, []string{st.Ingress[0].IP + "/32"}) {
		t.Errorf("traffic firewall destination = %+v, %v; want the load balancer IP", fw, err)
	}
	e.fake.ResetCalls()
	st2 := e.ensure(s)
	if st2.Ingress[0].IP != st.Ingress[0].IP {
		t.Errorf("IP changed: %s -> %s", st.Ingress[0].IP, st2.Ingress[0].IP)
	}
	if w, r := e.fake.Writes(), e.reads(); w != 0 || r != 1 {
		t.Errorf("no-op reconcile: %d writes, %d reads (%v); want 0 and 1", w, r, e.fake.Calls())
	}
	got, exists, err := e.cloud.GetLoadBalancer(e.ctx(), "", s)
	if err != nil || !exists || got.Ingress[0].IP != st.Ingress[0].IP {
		t.Errorf("GetLoadBalancer = %+v, %v, %v", got, exists, err)
	}
	e.delete(s)
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
	e.delete(s) // idempotent
}

func TestExternalLocalAndPolicySwitchInPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("web", nil, local)
	lb := LoadBalancerName(s)
	ip := e.ensure(s).Ingress[0].IP
	for _, want := range []string{"httpHealthCheck " + lb, "firewall k8s-" + lb + "-http-hc"} {
		if !e.has(splitKind(want)) {
			t.Errorf("missing %s in %v", want, e.names())
		}
	}
	if e.has("httpHealthCheck", "k8s-demo-node") {
		t.Error("node health check created for a Local Service")
	}
	// Local -> Cluster: the pool's health check is swapped, nothing is re-created.
	e.fake.ResetCalls()
	s.Spec.ExternalTrafficPolicy, s.Spec.HealthCheckNodePort = v1.ServiceExternalTrafficPolicyCluster, 0
	if got := e.ensure(s).Ingress[0].IP; got != ip {
		t.Errorf("IP changed %s -> %s", ip, got)
	}
	calls := e.fake.Calls()
	for _, k := range []string{"ForwardingRules.Insert", "ForwardingRules.Delete", "TargetPools.Insert", "TargetPools.Delete", "Addresses.Insert"} {
		if calls[k] != 0 {
			t.Errorf("%s called %d times: %v", k, calls[k], calls)
		}
	}
	if calls["TargetPools.AddHealthCheck"] != 1 || calls["TargetPools.RemoveHealthCheck"] != 1 {
		t.Errorf("health check not swapped in place: %v", calls)
	}
	if e.has("httpHealthCheck", lb) || e.has("firewall", "k8s-"+lb+"-http-hc") || !e.has("httpHealthCheck", "k8s-demo-node") {
		t.Errorf("after switch: %v", e.names())
	}
	e.delete(s)
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
}

func splitKind(s string) (string, string) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func TestInternal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("ilb", map[string]string{annType: "Internal"})
	lb := LoadBalancerName(s)
	e.ensure(s)
	for _, want := range []string{
		"forwardingRule " + lb, "address " + lb, "backendService " + lb, "healthCheck k8s-demo-node",
		"firewall k8s-fw-" + lb, "firewall k8s-demo-node-hc", "instanceGroup k8s-ig--demo",
	} {
		if !e.has(splitKind(want)) {
			t.Errorf("missing %s in %v", want, e.names())
		}
	}
	if got := e.fake.Members("us-central1-a", "k8s-ig--demo"); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Errorf("zone a members = %v", got)
	}
	if got := e.fake.Members("us-central1-b", "k8s-ig--demo"); !slices.Equal(got, []string{"n3"}) {
		t.Errorf("zone b members = %v", got)
	}
	e.fake.ResetCalls()
	e.ensure(s)
	if w, r := e.fake.Writes(), e.reads(); w != 0 || r != 1 {
		t.Errorf("no-op reconcile: %d writes, %d reads (%v)", w, r, e.fake.Calls())
	}
	// Global access is patched in place.
	e.fake.ResetCalls()
	s.Annotations["networking.gke.io/internal-load-balancer-allow-global-access"] = "true"
	e.ensure(s)
	if c := e.fake.Calls(); c["ForwardingRules.Patch"] != 1 || c["ForwardingRules.Insert"] != 0 || c["ForwardingRules.Delete"] != 0 {
		t.Errorf("global access: %v", c)
	}
	e.delete(s)
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
}

func TestRBSUpdatedInPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("rbs", map[string]string{"cloud.google.com/l4-rbs": "enabled"})
	lb := LoadBalancerName(s)
	e.ensure(s)
	if !e.has("backendService", lb) || e.has("targetPool", lb) || !e.has("healthCheck", "k8s-demo-node") {
		t.Errorf("rbs resources: %v", e.names())
	}
	e.fake.ResetCalls()
	s.Annotations["networking.gke.io/connection-draining-timeout"] = "60s"
	s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	e.ensure(s)
	c := e.fake.Calls()
	if c["RegionBackendServices.Patch"] != 1 || c["RegionBackendServices.Insert"] != 0 || c["ForwardingRules.Insert"] != 0 || c["ForwardingRules.Delete"] != 0 {
		t.Errorf("not patched in place: %v", c)
	}
	e.delete(s)
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
}

func TestAnnotationChangesInPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("web", nil)
	e.ensure(s)
	e.fake.ResetCalls()
	s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
	e.ensure(s)
	c := e.fake.Calls()
	if c["Firewalls.Patch"] != 1 || e.fake.Writes() != 2 { // the patch and the spec label
		t.Errorf("source ranges: %d writes %v", e.fake.Writes(), c)
	}
	// A port change re-creates the rule on the same address.
	ip := e.ensure(s).Ingress[0].IP
	s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "alt", Protocol: v1.ProtocolTCP, Port: 8443, NodePort: 30843})
	e.fake.ResetCalls()
	if got := e.ensure(s).Ingress[0].IP; got != ip {
		t.Errorf("IP changed %s -> %s", ip, got)
	}
	if c := e.fake.Calls(); c["ForwardingRules.Delete"] != 1 || c["ForwardingRules.Insert"] != 1 || c["Addresses.Insert"] != 0 {
		t.Errorf("port change: %v", c)
	}
}

func TestNodeChurnManyServices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 20
	var ilbs, exts []*v1.Service
	for i := range n {
		ilbs = append(ilbs, svc("ilb-"+string(rune('a'+i)), map[string]string{annType: "Internal"}))
		exts = append(exts, svc("ext-"+string(rune('a'+i)), nil))
	}
	for _, s := range append(slices.Clone(ilbs), exts...) {
		e.ensure(s)
	}
	e.addNode("n4", "us-central1-a")
	e.addNode("n5", "us-central1-b")

	e.fake.ResetCalls()
	for _, s := range ilbs {
		if err := e.cloud.UpdateLoadBalancer(e.ctx(), "", s, e.nodes); err != nil {
			t.Fatal(err)
		}
	}
	c := e.fake.Calls()
	if c["InstanceGroups.AddInstances"] != 2 || e.fake.Writes() != 2 {
		t.Errorf("internal: %d writes for %d Services, want one AddInstances per zone: %v", e.fake.Writes(), n, c)
	}
	// One rule read per Service; the groups' members applied at creation are cached.
	if r := e.reads(); r != n {
		t.Errorf("internal: %d reads, want %d: %v", r, n, c)
	}
	if !slices.Equal(e.fake.Members("us-central1-b", "k8s-ig--demo"), []string{"n3", "n5"}) {
		t.Errorf("zone b members = %v", e.fake.Members("us-central1-b", "k8s-ig--demo"))
	}

	e.fake.ResetCalls()
	for _, s := range exts {
		if err := e.cloud.UpdateLoadBalancer(e.ctx(), "", s, e.nodes); err != nil {
			t.Fatal(err)
		}
	}
	c = e.fake.Calls()
	if c["TargetPools.AddInstance"] != n || e.fake.Writes() != n {
		t.Errorf("external: %d writes, want %d AddInstance: %v", e.fake.Writes(), n, c)
	}
	if r := e.reads(); r != 2*n {
		t.Errorf("external: %d reads, want a rule and a pool per Service (%d): %v", r, 2*n, c)
	}

	// Node removal: one RemoveInstances for the groups.
	e.nodes = slices.DeleteFunc(e.nodes, func(nd *v1.Node) bool { return nd.Name == "n4" })
	e.fake.ResetCalls()
	for _, s := range ilbs {
		if err := e.cloud.UpdateLoadBalancer(e.ctx(), "", s, e.nodes); err != nil {
			t.Fatal(err)
		}
	}
	if c := e.fake.Calls(); c["InstanceGroups.RemoveInstances"] != 1 || e.fake.Writes() != 1 {
		t.Errorf("removal: %v", c)
	}
}

func TestSharedObjectsLiveUntilLastService(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := svc("a", nil), svc("b", nil)
	ia, ib := svc("ia", map[string]string{annType: "Internal"}), svc("ib", map[string]string{annType: "Internal"})
	for _, s := range []*v1.Service{a, b, ia, ib} {
		e.ensure(s)
	}
	e.delete(a)
	e.delete(ia)
	for _, want := range []string{"httpHealthCheck k8s-demo-node", "firewall k8s-demo-node-http-hc", "healthCheck k8s-demo-node", "firewall k8s-demo-node-hc", "instanceGroup k8s-ig--demo"} {
		if !e.has(splitKind(want)) {
			t.Errorf("shared %s deleted while still used: %v", want, e.names())
		}
	}
	e.delete(b)
	e.delete(ib)
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after the last delete: %v", n)
	}
}

func TestFaultsAreRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.SetFaults(fakecore.Faults{ThrottleRate: 0.2, ServerErrorRate: 0.1, OperationErrorRate: 0.2})
	s := svc("flaky", map[string]string{annType: "Internal"})
	var err error
	for range 10 { // each attempt is itself bounded; the controller would requeue
		if _, err = e.cloud.EnsureLoadBalancer(e.ctx(), "", s, e.nodes); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("never converged: %v", err)
	}
	if e.cloud.APIStats().Throttled == 0 {
		t.Error("no throttled attempt seen: the faults were not injected")
	}
	e.fake.SetFaults(fakecore.Faults{})
	e.fake.ResetCalls()
	e.ensure(s)
	if e.fake.Writes() != 0 {
		t.Errorf("converged state not stable: %v", e.fake.Calls())
	}

	// Permanent throttling: bounded attempts, then an error.
	e.fake.SetFaults(fakecore.Faults{ThrottleRate: 1})
	before := e.cloud.APIStats().Attempts
	_, _, err = e.cloud.GetLoadBalancer(e.ctx(), "", s)
	if err == nil || !isThrottle(err) {
		t.Fatalf("err = %v, want the throttling error", err)
	}
	if got := e.cloud.APIStats().Attempts - before; got != DefaultMaxAttempts {
		t.Errorf("%d attempts, want %d", got, DefaultMaxAttempts)
	}
	e.fake.SetFaults(fakecore.Faults{})
	e.delete(s)
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
}

func TestForeignResourcesAreLeftAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine := svc("mine", nil)
	e.ensure(mine)
	// Another Service whose UID maps to the same name (a copied manifest, another cluster).
	other := svc("mine", nil)
	other.Namespace = "other"
	if _, err := e.cloud.EnsureLoadBalancer(e.ctx(), "", other, e.nodes); !providers.IsUserError(err) {
		t.Fatalf("ensure: err = %v, want a UserError", err)
	}
	err := e.cloud.EnsureLoadBalancerDeleted(e.ctx(), "", other)
	var ue *providers.UserError
	if !errors.As(err, &ue) {
		t.Fatalf("delete: err = %v, want a UserError", err)
	}
	if !e.has("forwardingRule", LoadBalancerName(mine)) || !e.has("targetPool", LoadBalancerName(mine)) {
		t.Errorf("foreign Service touched our resources: %v", e.names())
	}
}

func TestUserAddressIsNeverReleased(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Reserve through the provider's own client, as a user would with gcloud.
	reserve := svc("reserve", nil)
	ip := e.ensure(reserve).Ingress[0].IP
	// Hand the address over: delete the Service's resources but keep a user reservation
	// named "user-ip" with that IP.
	e.delete(reserve)
	m := &Model{Name: "user-ip", Service: "", ClusterID: "", Project: testProject, Region: testRegion,
		Address: Address{Name: "user-ip", IP: ip, Type: SchemeExternal, NetworkTier: "PREMIUM"}}
	if err := e.cloud.applyAddress(e.ctx(), m, &Plan{CreateAddress: true}); err != nil {
		t.Fatal(err)
	}
	s := svc("web", nil, func(s *v1.Service) { s.Spec.LoadBalancerIP = ip })
	if got := e.ensure(s).Ingress[0].IP; got != ip {
		t.Errorf("IP = %s, want the reserved %s", got, ip)
	}
	if e.has("address", LoadBalancerName(s)) {
		t.Error("reserved a second address although the user's is used")
	}
	e.delete(s)
	if n := e.names(); !slices.Equal(n, []string{"address user-ip"}) {
		t.Errorf("after delete: %v, want only the user's address", n)
	}
}

func TestSchemeChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("web", nil)
	lb := LoadBalancerName(s)
	e.ensure(s)
	s.Annotations = map[string]string{annType: "Internal"}
	e.ensure(s)
	if e.has("targetPool", lb) || e.has("httpHealthCheck", "k8s-demo-node") || e.has("firewall", "k8s-demo-node-http-hc") {
		t.Errorf("external resources left after the switch to internal: %v", e.names())
	}
	if !e.has("backendService", lb) || !e.has("healthCheck", "k8s-demo-node") {
		t.Errorf("internal resources missing: %v", e.names())
	}
	e.fake.ResetCalls()
	e.ensure(s)
	if e.fake.Writes() != 0 {
		t.Errorf("not stable after the switch: %v", e.fake.Calls())
	}
	e.delete(s)
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
}

func TestDeleteAfterPartialFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("ilb", map[string]string{annType: "Internal"}, local)
	e.ensure(s)
	// Every write fails: the delete reports an error and leaves what it could not remove.
	e.fake.SetFaults(fakecore.Faults{OperationErrorRate: 1})
	if err := e.cloud.EnsureLoadBalancerDeleted(e.ctx(), "", s); err == nil {
		t.Fatal("delete with failing writes reported success")
	}
	e.fake.SetFaults(fakecore.Faults{OperationErrorRate: 0.3})
	var err error
	for range 10 {
		if err = e.cloud.EnsureLoadBalancerDeleted(e.ctx(), "", s); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("delete never converged: %v", err)
	}
	e.fake.SetFaults(fakecore.Faults{})
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
}

func TestNamedAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := &Model{Name: "my-ip", Project: testProject, Region: testRegion, Address: Address{Name: "my-ip", Type: SchemeExternal, NetworkTier: "PREMIUM"}}
	p := &Plan{CreateAddress: true}
	if err := e.cloud.applyAddress(e.ctx(), m, p); err != nil {
		t.Fatal(err)
	}
	s := svc("web", map[string]string{"networking.gke.io/load-balancer-ip-addresses": "my-ip"})
	if got := e.ensure(s).Ingress[0].IP; got != p.IP {
		t.Errorf("IP = %s, want the named address %s", got, p.IP)
	}
	e.delete(s)
	if n := e.names(); !slices.Equal(n, []string{"address my-ip"}) {
		t.Errorf("after delete: %v", n)
	}
	missing := svc("other", map[string]string{"networking.gke.io/load-balancer-ip-addresses": "nope"})
	if _, err := e.cloud.EnsureLoadBalancer(e.ctx(), "", missing, e.nodes); !providers.IsUserError(err) {
		t.Errorf("missing named address: err = %v, want a UserError", err)
	}
}

func TestConcurrentNodeChurn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ilbs []*v1.Service
	for i := range 10 {
		ilbs = append(ilbs, svc("c-"+string(rune('a'+i)), map[string]string{annType: "Internal"}))
	}
	run := func() {
		errs := make(chan error, len(ilbs))
		for _, s := range ilbs {
			go func() { _, err := e.cloud.EnsureLoadBalancer(e.ctx(), "", s, e.nodes); errs <- err }()
		}
		for range ilbs {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}
	run()
	e.addNode("n4", "us-central1-a")
	e.addNode("n5", "us-central1-b")
	e.fake.ResetCalls()
	run()
	if c := e.fake.Calls(); c["InstanceGroups.AddInstances"] != 2 || e.fake.Writes() != 2 {
		t.Errorf("concurrent node add: %v", c)
	}
}

func TestMembershipIsReadAgainAfterTheCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Now()
	e.cloud.now = func() time.Time { return now }
	ext, ilb := svc("ext", nil), svc("ilb", map[string]string{annType: "Internal"})
	e.ensure(ext)
	e.ensure(ilb)
	now = now.Add(cacheTTL + time.Second)
	e.fake.ResetCalls()
	e.ensure(ext)
	if w, r := e.fake.Writes(), e.reads(); w != 0 || r != 2 {
		t.Errorf("external after the cache: %d writes, %d reads (%v), want 0 and 2 (rule, pool)", w, r, e.fake.Calls())
	}
	e.fake.ResetCalls()
	e.ensure(ilb)
	if w, r := e.fake.Writes(), e.reads(); w != 0 || r != 5 {
		t.Errorf("internal after the cache: %d writes, %d reads (%v), want 0 and 5 (rule, group and members per zone)", w, r, e.fake.Calls())
	}
}

func TestZoneWithoutNodesLeavesTheBackends(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("ilb", map[string]string{annType: "Internal"})
	e.ensure(s)
	e.nodes = slices.DeleteFunc(e.nodes, func(n *v1.Node) bool { return n.Name == "n3" })
	e.ensure(s)
	if got := e.fake.Members("us-central1-b", "k8s-ig--demo"); got != nil {
		t.Errorf("zone b group still there with %v", got)
	}
	if got := e.fake.Members("us-central1-a", "k8s-ig--demo"); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Errorf("zone a members = %v", got)
	}
	e.delete(s)
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
}

func TestNodeTagsFromInstances(t *testing.T) {
	t.Parallel()
	fake := fakegce.New(fakegce.Options{Project: testProject, Region: testRegion})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg, err := ParseCloudConfig(strings.NewReader(fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\ncluster-id = demo\napi-endpoint = %s\n", testProject, testRegion, srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewFromConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.limits = newLimiter(Limits{QPS: 10000, Burst: 10000})
	e := &env{t: t, fake: fake, cloud: c}
	fake.AddInstance(fakegce.Instance{Name: "gke-demo-pool-1-abcd", Zone: "us-central1-a", Tags: []string{"http-server", "gke-demo-pool-1", "gke-demo"}})
	fake.AddInstance(fakegce.Instance{Name: "other-vm", Zone: "us-central1-b", Tags: []string{"edge"}})
	e.nodes = []*v1.Node{testNode("gke-demo-pool-1-abcd", "us-central1-a", nil), testNode("other-vm", "us-central1-b", nil)}
	s := svc("web", nil)
	e.ensure(s)
	fw, err := c.getFirewall(e.ctx(), testProject, trafficFirewallName(LoadBalancerName(s)))
	if err != nil || fw == nil {
		t.Fatalf("firewall: %v", err)
	}
	// The longest tag prefixing the name, and the only tag of an instance without one.
	if !slices.Equal(fw.TargetTags, []string{"edge", "gke-demo-pool-1"}) {
		t.Errorf("target tags = %v", fw.TargetTags)
	}
	e.delete(s)
}

func TestLeftoverSharedHealthCheckAfterPartialDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := svc("web", nil)
	e.ensure(s)
	m, err := e.build(s)
	if err != nil {
		t.Fatal(err)
	}
	// A delete that stopped after the rule and the pool: the shared check is unreferenced.
	if err := e.cloud.deleteRule(e.ctx(), m, m.Name); err != nil {
		t.Fatal(err)
	}
	if err := e.cloud.deleteTargetPool(e.ctx(), m); err != nil {
		t.Fatal(err)
	}
	e.delete(s)
	if n := e.names(); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
}

// TestStaleGroupCacheRecovers: another controller (a previous leader) deleted the shared
// instance groups this process has cached; the first reconcile may fail on them, the next
// reads them again and re-creates them.
func TestStaleGroupCacheRecovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ilb := map[string]string{annType: "Internal"}
	first, second := svc("ilb-1", ilb), svc("ilb-2", ilb)
	e.ensure(first)
	other := e.newCloud()
	if err := other.EnsureLoadBalancerDeleted(e.ctx(), "ignored", first); err != nil {
		t.Fatal(err)
	}
	if e.has("instanceGroup", "k8s-ig--demo") {
		t.Fatal("the other controller left the unused groups")
	}
	_, err := e.cloud.EnsureLoadBalancer(e.ctx(), "ignored", second, e.nodes)
	if err != nil {
		t.Logf("first attempt with the stale cache: %v", err)
		_, err = e.cloud.EnsureLoadBalancer(e.ctx(), "ignored", second, e.nodes)
	}
	if err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	if got := e.fake.Members("us-central1-a", "k8s-ig--demo"); len(got) != 2 {
		t.Errorf("zone a members = %v", got)
	}
	e.delete(second)
}
