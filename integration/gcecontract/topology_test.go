package gcecontract_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	"github.com/cloudlb/cloudlb/integration/contract"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// backends are the zones of a backend service's instance groups, sorted.
func backendZones(t *testing.T, name string) []string {
	t.Helper()
	b := backendService(t, name)
	var out []string
	for _, be := range b.GetBackends() {
		g := be.GetGroup()
		i := strings.Index(g, "/zones/")
		out = append(out, strings.SplitN(g[i+len("/zones/"):], "/", 2)[0])
	}
	slices.Sort(out)
	return out
}

// TestNodeChurnAcrossZones adds a Node in a zone no Node was in, then removes it: the target
// pool gains and loses the instance, and for an internal Service the zone's instance group is
// created, joins the backend service, and goes again.
func TestNodeChurnAcrossZones(t *testing.T) {
	tn := contract.NewTenant(t, shared.tenants)
	ext := tn.Create(newService("ext", nil))
	ilb := tn.Create(newService("ilb", map[string]string{internal: "Internal"}))
	extLB := cloudgce.LoadBalancerName(tn.WaitIngress(ext.Name, nil))
	ilbLB := cloudgce.LoadBalancerName(tn.WaitIngress(ilb.Name, nil))
	contract.WaitSettled(t, shared.fake, 0)
	zoneC, ig := region+"-c", "k8s-ig--"+clusterID
	if got := backendZones(t, ilbLB); !slices.Equal(got, []string{region + "-a", region + "-b"}) {
		t.Fatalf("backend zones before = %v", got)
	}

	cs, err := kubernetes.NewForConfig(shared.tenants.REST)
	if err != nil {
		t.Fatal(err)
	}
	shared.fake.ResetCalls()
	shared.fake.AddInstance(fakegce.Instance{Name: "node-c1", Zone: zoneC, Tags: []string{nodeTag}})
	if err := contract.CreateReadyNode(t.Context(), cs, node("node-c1", zoneC)); err != nil {
		t.Fatal(err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			_ = cs.CoreV1().Nodes().Delete(context.Background(), "node-c1", metav1.DeleteOptions{})
		}
	})
	waitFor(t, "node-c1 in the pool, a zone c group and the backend service", func() (bool, string) {
		pool, group, zones := targetPoolInstances(t, extLB), shared.fake.Members(zoneC, ig), backendZones(t, ilbLB)
		return slices.Contains(pool, "node-c1") && slices.Equal(group, []string{"node-c1"}) && len(zones) == 3, fmt.Sprint(pool, group, zones)
	})
	calls := contract.WaitSettled(t, shared.fake, 0).Calls
	t.Logf("node in a new zone: %v", calls)
	for op, n := range map[string]int{"TargetPools.AddInstance": 1, "InstanceGroups.Insert": 1, "InstanceGroups.AddInstances": 1, "RegionBackendServices.Patch": 1} {
		if calls[op] != n {
			t.Errorf("%s = %d, want %d: %v", op, calls[op], n, calls)
		}
	}

	shared.fake.ResetCalls()
	if err := cs.CoreV1().Nodes().Delete(t.Context(), "node-c1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted = true
	waitFor(t, "node-c1 out of the pool, the zone c group gone", func() (bool, string) {
		pool, group, zones := targetPoolInstances(t, extLB), shared.fake.Members(zoneC, ig), backendZones(t, ilbLB)
		return !slices.Contains(pool, "node-c1") && group == nil && len(zones) == 2, fmt.Sprint(pool, group, zones)
	})
	calls = contract.WaitSettled(t, shared.fake, 0).Calls
	t.Logf("last node of a zone removed: %v", calls)
	for op, n := range map[string]int{"TargetPools.RemoveInstance": 1, "RegionBackendServices.Patch": 1, "InstanceGroups.Delete": 1} {
		if calls[op] != n {
			t.Errorf("%s = %d, want %d: %v", op, calls[op], n, calls)
		}
	}
}

// TestDeleteLeavesSharedObjectsInUse deletes one of two external and one of two internal
// shared-backend Services: their own objects go, the cluster's node health checks, their
// firewalls, the instance groups and the shared backend service stay for the others, and
// go with the last of them.
func TestDeleteLeavesSharedObjectsInUse(t *testing.T) {
	tn := contract.NewTenant(t, shared.tenants)
	share := map[string]string{internal: "Internal", "alpha.cloud.google.com/load-balancer-backend-share": "true"}
	var svcs []string
	for _, s := range []struct {
		name string
		ann  map[string]string
	}{{"ext1", nil}, {"ext2", nil}, {"ilb1", share}, {"ilb2", share}} {
		tn.Create(newService(s.name, s.ann))
		svcs = append(svcs, s.name)
	}
	lbs := map[string]string{}
	for _, name := range svcs {
		lbs[name] = cloudgce.LoadBalancerName(tn.WaitIngress(name, nil))
	}
	sharedBS := lastSegment(rule(t, lbs["ilb2"]).GetBackendService())
	if sharedBS == lbs["ilb2"] || lastSegment(rule(t, lbs["ilb1"]).GetBackendService()) != sharedBS {
		t.Fatalf("ilb1 and ilb2 do not share a backend service: %s", sharedBS)
	}
	sharedObjects := []struct{ kind, name string }{
		{"httpHealthCheck", "k8s-" + clusterID + "-node"}, {"firewall", "k8s-" + clusterID + "-node-http-hc"},
		{"healthCheck", "k8s-" + clusterID + "-node"}, {"firewall", "k8s-" + clusterID + "-node-hc"},
		{"backendService", sharedBS}, {"instanceGroup", "k8s-ig--" + clusterID},
	}
	for _, o := range sharedObjects {
		if !hasResource(o.kind, o.name) {
			t.Fatalf("shared %s %s missing; the cloud holds %v", o.kind, o.name, shared.fake.Resources())
		}
	}

	for _, name := range []string{"ext1", "ilb1"} {
		tn.Delete(name)
	}
	for _, name := range []string{"ext1", "ilb1"} {
		tn.WaitGone(name)
		if left := resources(tn.NS + "/" + name); len(left) > 0 {
			t.Errorf("%s left %v", name, left)
		}
	}
	for _, o := range sharedObjects {
		if !hasResource(o.kind, o.name) {
			t.Errorf("shared %s %s deleted while ext2 or ilb2 uses it", o.kind, o.name)
		}
	}
	if r := rule(t, lbs["ext2"]); r == nil {
		t.Error("ext2's rule is gone")
	}

	tn.DeleteAll()
	// Nothing runs in parallel with this test: the cloud must be empty.
	waitFor(t, "the shared objects to go with the last Service", func() (bool, string) {
		left := shared.fake.Resources()
		return len(left) == 0, fmt.Sprint(left)
	})
}
