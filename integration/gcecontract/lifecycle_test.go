package gcecontract_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/option"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

const internal = "networking.gke.io/load-balancer-type"

func key(s *v1.Service) string { return s.Namespace + "/" + s.Name }

// clientOpts point the suite's own apiv1 clients at the fake.
func clientOpts() []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(shared.endpoint), option.WithoutAuthentication()}
}

func firewall(t *testing.T, name string) *computepb.Firewall {
	t.Helper()
	c, err := compute.NewFirewallsRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fw, err := c.Get(t.Context(), &computepb.GetFirewallRequest{Project: project, Firewall: name})
	if err != nil {
		return nil
	}
	return fw
}

func targetPoolInstances(t *testing.T, name string) []string {
	t.Helper()
	c, err := compute.NewTargetPoolsRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tp, err := c.Get(t.Context(), &computepb.GetTargetPoolRequest{Project: project, Region: region, TargetPool: name})
	if err != nil {
		return nil
	}
	var out []string
	for _, i := range tp.GetInstances() {
		out = append(out, i[strings.LastIndexByte(i, '/')+1:])
	}
	slices.Sort(out)
	return out
}

func TestExternalLifecycle(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	s := tn.create(newService("web", nil))
	got := tn.waitIngress(s.Name)
	lb := cloudgce.LoadBalancerName(got)
	res := resources(key(s))
	for _, want := range []string{"forwardingRule " + lb, "address " + lb, "targetPool " + lb, "firewall k8s-fw-" + lb} {
		if _, ok := res[want]; !ok {
			t.Errorf("missing %s in %v", want, res)
		}
	}
	if !hasResource("httpHealthCheck", "k8s-"+clusterID+"-node") {
		t.Error("shared node health check missing")
	}
	ip := got.Status.LoadBalancer.Ingress[0].IP

	tn.update(s.Name, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} })
	waitFor(t, "the firewall to allow only 10.0.0.0/8", func() (bool, string) {
		fw := firewall(t, "k8s-fw-"+lb)
		return fw != nil && slices.Equal(fw.GetSourceRanges(), []string{"10.0.0.0/8"}), fmt.Sprint(fw.GetSourceRanges())
	})
	tn.update(s.Name, func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal })
	waitFor(t, "the per-Service health check firewall", func() (bool, string) {
		return firewall(t, "k8s-"+lb+"-http-hc") != nil, fmt.Sprint(resources(key(s)))
	})
	if now := tn.waitIngress(s.Name).Status.LoadBalancer.Ingress[0].IP; now != ip {
		t.Errorf("IP changed from %s to %s", ip, now)
	}
}

func TestInternalLifecycle(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	s := tn.create(newService("ilb", map[string]string{internal: "Internal"}))
	got := tn.waitIngress(s.Name)
	lb := cloudgce.LoadBalancerName(got)
	res := resources(key(s))
	for _, want := range []string{"forwardingRule " + lb, "address " + lb, "backendService " + lb, "firewall k8s-fw-" + lb} {
		if _, ok := res[want]; !ok {
			t.Errorf("missing %s in %v", want, res)
		}
	}
	ig := "k8s-ig--" + clusterID
	if m := shared.fake.Members(region+"-a", ig); !slices.Contains(m, "node-a1") || !slices.Contains(m, "node-a2") {
		t.Errorf("zone a members = %v", m)
	}
	if m := shared.fake.Members(region+"-b", ig); !slices.Contains(m, "node-b1") {
		t.Errorf("zone b members = %v", m)
	}
}

// TestNoOpResync converges an external and an internal Service, then restarts the
// controller: its initial pass may not write, and reads at most what membership needs.
func TestNoOpResync(t *testing.T) {
	tn := newTenant(t)
	ext := tn.create(newService("ext", nil))
	ilb := tn.create(newService("ilb", map[string]string{internal: "Internal"}))
	tn.waitIngress(ext.Name)
	tn.waitIngress(ilb.Name)
	waitSettled(t, 0)

	shared.fake.ResetCalls()
	tn.restart()
	calls := waitSettled(t, 2)
	t.Logf("restart resync: %v", calls)
	if w := writes(calls); w != 0 {
		t.Errorf("restart of converged Services wrote %d times: %v", w, calls)
	}
	// A fresh provider reads the rule and the members once: rule + pool for the external
	// Service, rule + group and members per zone for the internal one.
	if r := calls["ForwardingRules.Get"]; r > 2 {
		t.Errorf("%d forwarding rule reads for 2 Services: %v", r, calls)
	}
}

// TestNodeChurn adds a Node: one AddInstance for the pool, one AddInstances for the group.
func TestNodeChurn(t *testing.T) {
	tn := newTenant(t)
	ext := tn.create(newService("ext", nil))
	ilb := tn.create(newService("ilb", map[string]string{internal: "Internal"}))
	lb := cloudgce.LoadBalancerName(tn.waitIngress(ext.Name))
	tn.waitIngress(ilb.Name)
	waitSettled(t, 0)

	shared.fake.ResetCalls()
	cs, err := kubernetes.NewForConfig(cp(shared.cp))
	if err != nil {
		t.Fatal(err)
	}
	if err := createReadyNode(t.Context(), cs, "spare", region+"-b"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), "spare", metav1.DeleteOptions{}) })
	waitFor(t, "the new node in the pool and the group", func() (bool, string) {
		pool := targetPoolInstances(t, lb)
		group := shared.fake.Members(region+"-b", "k8s-ig--"+clusterID)
		return slices.Contains(pool, "spare") && slices.Contains(group, "spare"), fmt.Sprint(pool, group)
	})
	calls := waitSettled(t, 0)
	if calls["TargetPools.AddInstance"] != 1 || calls["InstanceGroups.AddInstances"] != 1 {
		t.Errorf("node add: %v", calls)
	}
	if w := writes(calls); w != 2 {
		t.Errorf("node add wrote %d times, want 2: %v", w, calls)
	}
}

// TestThrottled converges under throttling, server errors and failed operations.
func TestThrottled(t *testing.T) {
	tn := newTenant(t)
	shared.fake.SetFaults(fakecore.Faults{ThrottleRate: 0.1, ServerErrorRate: 0.05, OperationErrorRate: 0.05})
	t.Cleanup(func() { shared.fake.SetFaults(fakecore.Faults{}) })
	tn.create(newService("flaky", map[string]string{internal: "Internal"}))
	tn.create(newService("flaky-ext", nil))
	tn.waitIngress("flaky")
	tn.waitIngress("flaky-ext")
	shared.fake.SetFaults(fakecore.Faults{})
}
