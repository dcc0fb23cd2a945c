package gcecontract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/option"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	"github.com/cloudlb/cloudlb/integration/contract"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// The tests in this file make the provider call the verbs of its Compute interfaces that no
// other case of the suite reaches, so that every verb it can call is served once and the
// custom role check (permissions_test.go) proves each permission it grants.

// TestNodeTagsFromInstances runs a provider whose gce.conf names no node-tags: it reads the
// instances' network tags (Instances.List) and targets the firewall at the nodes' one tag.
func TestNodeTagsFromInstances(t *testing.T) {
	t.Parallel()
	conf := fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\ncluster-id = %s\nsubnetwork-name = default\napi-endpoint = %s\n",
		project, region, clusterID, shared.endpoint)
	cfg := shared.tenants
	cfg.NewCloud = func(t *testing.T) cloudprovider.LoadBalancer { return newCloud(t, conf) }
	tn := contract.NewTenant(t, cfg)
	lb := cloudgce.LoadBalancerName(tn.WaitIngress(tn.Create(newService("tags", nil)).Name, nil))
	fw := firewall(t, "k8s-fw-"+lb)
	if fw == nil || !slices.Equal(fw.GetTargetTags(), []string{nodeTag}) {
		t.Errorf("firewall k8s-fw-%s targets %v, want the instances' tag %s", lb, fw.GetTargetTags(), nodeTag)
	}
}

// TestHandEditsRepairedOnNextChange edits an external and an internal load balancer by hand
// (the legacy HTTP and the regional health check's interval, the forwarding rule's target
// pool). The provider trusts the spec label of an unchanged Service, so the edits stay until
// the Service changes; then the full reconcile puts them back in place
// (HttpHealthChecks.Update, RegionHealthChecks.Update, ForwardingRules.SetTarget) without
// re-creating them.
func TestHandEditsRepairedOnNextChange(t *testing.T) {
	t.Parallel()
	handPool := "hand-made-pool"
	// Registered before the tenant, so it runs after the tenant's cleanup deleted the rule
	// that may still point at the pool.
	t.Cleanup(func() { deleteTargetPool(handPool) })
	tn := contract.NewTenant(t, shared.tenants)
	local := func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal }
	ext := tn.Create(newService("ext", nil, local))
	ilb := tn.Create(newService("ilb", map[string]string{internal: "Internal"}, local))
	extLB := cloudgce.LoadBalancerName(tn.WaitIngress(ext.Name, nil))
	ilbLB := cloudgce.LoadBalancerName(tn.WaitIngress(ilb.Name, nil))
	legacyHC := ownedOne(t, contract.Key(ext), "httpHealthCheck")
	regionalHC := ownedOne(t, contract.Key(ilb), "healthCheck")
	legacyWas := legacyInterval(t, legacyHC)
	regionalWas := regionalHealthCheck(t, regionalHC).GetCheckIntervalSec()

	setLegacyInterval(t, legacyHC, legacyWas+7)
	hc := regionalHealthCheck(t, regionalHC)
	hc.CheckIntervalSec = new(regionalWas + 7)
	compute1(t, func(ctx context.Context) (*compute.Operation, error) {
		c, err := compute.NewRegionHealthChecksRESTClient(ctx, userClientOpts()...)
		if err != nil {
			return nil, err
		}
		return c.Update(ctx, &computepb.UpdateRegionHealthCheckRequest{Project: project, Region: region, HealthCheck: regionalHC, HealthCheckResource: hc})
	})
	compute1(t, func(ctx context.Context) (*compute.Operation, error) {
		c, err := compute.NewTargetPoolsRESTClient(ctx, userClientOpts()...)
		if err != nil {
			return nil, err
		}
		return c.Insert(ctx, &computepb.InsertTargetPoolRequest{Project: project, Region: region, TargetPoolResource: &computepb.TargetPool{Name: &handPool}})
	})
	compute1(t, func(ctx context.Context) (*compute.Operation, error) {
		c, err := compute.NewForwardingRulesRESTClient(ctx, userClientOpts()...)
		if err != nil {
			return nil, err
		}
		target := fmt.Sprintf("projects/%s/regions/%s/targetPools/%s", project, region, handPool)
		return c.SetTarget(ctx, &computepb.SetTargetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: extLB,
			TargetReferenceResource: &computepb.TargetReference{Target: &target}})
	})

	for _, name := range []string{ext.Name, ilb.Name} {
		tn.Update(name, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} })
	}
	waitFor(t, "the health checks and the rule's target put back", func() (bool, string) {
		legacy, regional := legacyInterval(t, legacyHC), regionalHealthCheck(t, regionalHC).GetCheckIntervalSec()
		target := lastSegment(rule(t, extLB).GetTarget())
		return legacy == legacyWas && regional == regionalWas && target == extLB,
			fmt.Sprintf("legacy interval %d (want %d), regional %d (want %d), target %s (want %s)", legacy, legacyWas, regional, regionalWas, target, extLB)
	})
	if r := rule(t, ilbLB); r == nil {
		t.Errorf("the internal rule %s is gone", ilbLB)
	}
}

// TestNodeLeavesAGroup deletes a Node whose zone keeps others: the instance leaves the
// zone's instance group (InstanceGroups.RemoveInstances) and the group stays.
func TestNodeLeavesAGroup(t *testing.T) {
	tn := contract.NewTenant(t, shared.tenants)
	ilb := tn.Create(newService("ilb", map[string]string{internal: "Internal"}))
	tn.WaitIngress(ilb.Name, nil)
	zone, ig, name := region+"-a", "k8s-ig--"+clusterID, "node-a3"
	cs, err := kubernetes.NewForConfig(shared.tenants.REST)
	if err != nil {
		t.Fatal(err)
	}
	shared.fake.AddInstance(fakegce.Instance{Name: name, Zone: zone, Tags: []string{nodeTag}})
	if err := contract.CreateReadyNode(t.Context(), cs, node(name, zone)); err != nil {
		t.Fatal(err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			_ = cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{})
		}
	})
	waitFor(t, name+" in the zone's group", func() (bool, string) {
		m := shared.fake.Members(zone, ig)
		return slices.Contains(m, name), fmt.Sprint(m)
	})
	if err := cs.CoreV1().Nodes().Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted = true
	waitFor(t, name+" out of the group, the others in", func() (bool, string) {
		m := shared.fake.Members(zone, ig)
		return !slices.Contains(m, name) && slices.Contains(m, "node-a1"), fmt.Sprint(m)
	})
}

// ownedOne is the name of the one object of kind the Service's description tags.
func ownedOne(t *testing.T, service, kind string) string {
	t.Helper()
	var names []string
	for k := range resources(service) {
		if n, ok := strings.CutPrefix(k, kind+" "); ok {
			names = append(names, n)
		}
	}
	if len(names) != 1 {
		t.Fatalf("%s owns %d %s objects: %v", service, len(names), kind, names)
	}
	return names[0]
}

// userClientOpts point the suite's own clients at the fake through an endpoint whose calls
// the role check does not count: the edits below are a user's, not the provider's.
func userClientOpts() []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(shared.userEndpoint), option.WithoutAuthentication()}
}

// compute1 runs one write of the suite's own clients and waits for its operation.
func compute1(t *testing.T, write func(context.Context) (*compute.Operation, error)) {
	t.Helper()
	op, err := write(t.Context())
	if err == nil {
		err = op.Wait(t.Context())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func regionalHealthCheck(t *testing.T, name string) *computepb.HealthCheck {
	t.Helper()
	c, err := compute.NewRegionHealthChecksRESTClient(context.Background(), userClientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hc, err := c.Get(t.Context(), &computepb.GetRegionHealthCheckRequest{Project: project, Region: region, HealthCheck: name})
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

// legacyURL is a legacy httpHealthCheck, for which compute/apiv1 has no client.
func legacyURL(name string) string {
	return shared.userEndpoint + "/compute/v1/projects/" + project + "/global/httpHealthChecks/" + name
}

func legacyHealthCheck(t *testing.T, name string) map[string]any {
	t.Helper()
	resp, err := http.Get(legacyURL(name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var hc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&hc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET httpHealthChecks/%s: %s, %v", name, resp.Status, err)
	}
	return hc
}

func legacyInterval(t *testing.T, name string) int32 {
	t.Helper()
	v, _ := legacyHealthCheck(t, name)["checkIntervalSec"].(float64)
	return int32(v)
}

func setLegacyInterval(t *testing.T, name string, sec int32) {
	t.Helper()
	hc := legacyHealthCheck(t, name)
	hc["checkIntervalSec"] = sec
	body, err := json.Marshal(hc)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, legacyURL(name), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"error"`)) {
		t.Fatalf("PUT httpHealthChecks/%s: %s %s", name, resp.Status, b)
	}
}

// deleteTargetPool deletes a target pool the suite made by hand, if it is still there.
func deleteTargetPool(name string) {
	ctx := context.Background()
	c, err := compute.NewTargetPoolsRESTClient(ctx, userClientOpts()...)
	if err != nil {
		return
	}
	defer c.Close()
	if op, err := c.Delete(ctx, &computepb.DeleteTargetPoolRequest{Project: project, Region: region, TargetPool: name}); err == nil {
		_ = op.Wait(ctx)
	}
}
