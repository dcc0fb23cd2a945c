package gce_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/option"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cloudlb/cloudlb/providers"
)

// service is a LoadBalancer Service in namespace default.
func service(name string, ann map[string]string, local bool, ports ...int32) *v1.Service {
	s := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: ann},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": name}}}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: fmt.Sprintf("p%d", p), Port: p, TargetPort: intstr.FromInt32(p), Protocol: v1.ProtocolTCP})
	}
	if local {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	}
	return s
}

const annInternal = "networking.gke.io/load-balancer-type"

// TestTakeOverAndHandBack: upstream creates external and internal load balancers (Cluster and
// Local, source ranges), cloudlb takes them over with the same IPs and no forwarding rule or
// address deleted, applies node changes, refuses a scheme change, and upstream takes them back
// in place; no target pool, instance group or backend service is ever emptied.
func TestTakeOverAndHandBack(t *testing.T) {
	w := newWorld(t)
	nodes := []*v1.Node{node("gke-mig-node-1", "us-central1-a"), node("gke-mig-node-2", "us-central1-a"), node("gke-mig-node-3", "us-central1-b")}

	ext := service("ext", nil, false, 80, 443)
	ext.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"}
	svcs := []*v1.Service{
		ext,
		service("ext-local", nil, true, 8080),
		service("ilb", map[string]string{annInternal: "Internal"}, false, 80),
		service("ilb-local", map[string]string{annInternal: "Internal"}, true, 9000, 9001),
		service("gone", nil, true, 80),
		service("flip", map[string]string{annInternal: "Internal"}, false, 80),
	}
	ips := map[string]string{}
	for i, s := range svcs {
		svcs[i] = w.createService(s)
		st, err := w.up.EnsureLoadBalancer(w.ctx(), "mig", svcs[i], nodes)
		if err != nil || ip(st) == "" {
			t.Fatalf("upstream EnsureLoadBalancer(%s) = %v, %v", s.Name, st, err)
		}
		ips[s.Name] = ip(st)
		svcs[i] = w.fresh(svcs[i])
	}
	// The replacement guard: the Service "flip" became external while upstream still ran (its
	// internal load balancer kept); cloudlb keeps it, with its IP, and says so, until the
	// author asks for the replacement.
	flip := svcs[5]
	flip.Annotations = nil
	flip = w.update(flip)
	svcs = svcs[:5]
	st, err := w.lb.EnsureLoadBalancer(w.ctx(), "mig", flip, nodes)
	rr := providers.AsReplacementRefused(err)
	if rr == nil || ip(rr.Status) != ips["flip"] || len(rr.Changes) != 1 || rr.Changes[0].Want != "External" {
		t.Errorf("scheme change of an adopted ILB: status %v, error %v; want ReplacementRefused keeping %s", st, err, ips["flip"])
	}
	if fr := w.rule(flip); fr.GetLoadBalancingScheme() != "INTERNAL" || fr.GetIPAddress() != ips["flip"] {
		t.Errorf("after the refused change the rule is %s %s", fr.GetLoadBalancingScheme(), fr.GetIPAddress())
	}
	if _, err := w.lb.EnsureLoadBalancer(w.ctx(), "mig", flip, nodes); providers.AsReplacementRefused(err) == nil {
		t.Errorf("the refusal is not stable: %v", err)
	}
	flip.Annotations = map[string]string{"cloudlb.io/replace-load-balancer": "1"}
	flip = w.update(flip)
	if st, err := w.lb.EnsureLoadBalancer(w.ctx(), "mig", flip, nodes); err != nil || ip(st) == "" || ip(st) == ips["flip"] {
		t.Errorf("asked replacement: %v, %v; want a new external IP", st, err)
	}
	if fr := w.rule(flip); fr.GetLoadBalancingScheme() != "EXTERNAL" {
		t.Errorf("after the asked replacement the rule is %s", fr.GetLoadBalancingScheme())
	}
	if err := w.lb.EnsureLoadBalancerDeleted(w.ctx(), "mig", flip); err != nil {
		t.Fatal(err)
	}
	flipName := w.lb.GetLoadBalancerName(w.ctx(), "", flip)
	before := w.writes()

	// cloudlb takes over: same IPs, nothing re-created.
	for _, s := range svcs {
		st, err := w.lb.EnsureLoadBalancer(w.ctx(), "mig", s, nodes)
		if err != nil || ip(st) != ips[s.Name] {
			t.Fatalf("cloudlb EnsureLoadBalancer(%s) = %v, %v; want the upstream IP %s", s.Name, st, err, ips[s.Name])
		}
	}
	took := diffCounts(before, w.writes())
	for _, k := range []string{"ForwardingRules.Delete", "Addresses.Delete", "TargetPools.Delete", "RegionBackendServices.Delete", "ForwardingRules.Insert", "TargetPools.Insert", "RegionBackendServices.Insert", "InstanceGroups.Insert"} {
		if took[k] != 0 {
			t.Errorf("taking over made %d %s, want none (all writes: %v)", took[k], k, took)
		}
	}
	t.Logf("takeover writes: %v", took)
	w.checkLabels(svcs[:4])

	// A second pass writes nothing.
	before = w.writes()
	for _, s := range svcs {
		if _, err := w.lb.EnsureLoadBalancer(w.ctx(), "mig", s, nodes); err != nil {
			t.Fatal(err)
		}
	}
	if again := diffCounts(before, w.writes()); len(again) != 0 {
		t.Errorf("a second reconcile after takeover wrote %v, want nothing", again)
	}

	// Nodes change under cloudlb: one joins zone b, one leaves zone a.
	nodes = []*v1.Node{node("gke-mig-node-2", "us-central1-a"), node("gke-mig-node-3", "us-central1-b"), node("gke-mig-node-4", "us-central1-b")}
	for _, s := range svcs {
		if err := w.lb.UpdateLoadBalancer(w.ctx(), "mig", s, nodes); err != nil {
			t.Fatalf("cloudlb UpdateLoadBalancer(%s): %v", s.Name, err)
		}
	}
	w.checkMembers(svcs, []string{"gke-mig-node-2", "gke-mig-node-3", "gke-mig-node-4"})

	// cloudlb deletes an adopted load balancer completely.
	gone := svcs[4]
	if err := w.lb.EnsureLoadBalancerDeleted(w.ctx(), "mig", gone); err != nil {
		t.Fatalf("cloudlb EnsureLoadBalancerDeleted(gone): %v", err)
	}
	lbName := w.lb.GetLoadBalancerName(w.ctx(), "mig", gone)
	for _, r := range w.fake.Resources() {
		if strings.Contains(r.Name, lbName) {
			t.Errorf("after deleting the adopted Service %s is left", r.Kind+" "+r.Name)
		}
	}
	svcs = svcs[:4]

	// Upstream takes back what cloudlb managed, in place.
	before = w.writes()
	for _, s := range svcs {
		st, err := w.up.EnsureLoadBalancer(w.ctx(), "mig", w.fresh(s), nodes)
		if err != nil || ip(st) != ips[s.Name] {
			t.Fatalf("upstream taking back %s = %v, %v; want %s", s.Name, st, err, ips[s.Name])
		}
	}
	back := diffCounts(before, w.writes())
	for _, k := range []string{"ForwardingRules.Delete", "TargetPools.Delete", "RegionBackendServices.Delete", "ForwardingRules.Insert", "TargetPools.Insert", "RegionBackendServices.Insert"} {
		if back[k] != 0 {
			t.Errorf("upstream taking back made %d %s, want none (all writes: %v)", back[k], k, back)
		}
	}
	t.Logf("hand-back writes: %v", back)
	nodes = append(nodes, node("gke-mig-node-1", "us-central1-a"))
	for _, s := range svcs {
		if err := w.up.UpdateLoadBalancer(w.ctx(), "mig", w.fresh(s), nodes); err != nil {
			t.Fatalf("upstream UpdateLoadBalancer(%s): %v", s.Name, err)
		}
	}
	w.checkMembers(svcs, []string{"gke-mig-node-1", "gke-mig-node-2", "gke-mig-node-3", "gke-mig-node-4"})

	for _, e := range w.fake.Emptied() {
		if !strings.Contains(e.Name, lbName) && !strings.Contains(e.Name, flipName) {
			t.Errorf("%s %s lost its last member (%d) in %s", e.Kind, e.Name, e.Before, e.Call)
		}
	}
}

func diffCounts(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, n := range after {
		if d := n - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func (w *world) clients() (*compute.ForwardingRulesClient, *compute.AddressesClient) {
	w.t.Helper()
	opts := []option.ClientOption{option.WithEndpoint(w.url), option.WithoutAuthentication()}
	fr, err := compute.NewForwardingRulesRESTClient(w.ctx(), opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	addr, err := compute.NewAddressesRESTClient(w.ctx(), opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	return fr, addr
}

func (w *world) rule(s *v1.Service) *computepb.ForwardingRule {
	w.t.Helper()
	frs, _ := w.clients()
	fr, err := frs.Get(w.ctx(), &computepb.GetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: w.lb.GetLoadBalancerName(w.ctx(), "", s)})
	if err != nil {
		w.t.Fatal(err)
	}
	return fr
}

// checkLabels: every adopted rule and address carries cloudlb's owner label, and the rule the
// replacement key, while the descriptions stay upstream's.
func (w *world) checkLabels(svcs []*v1.Service) {
	w.t.Helper()
	_, addrs := w.clients()
	for _, s := range svcs {
		fr := w.rule(s)
		if fr.GetLabels()["cloudlb-cluster-id"] != clusterID || fr.GetLabels()[providers.ReplaceKeyTag] == "" {
			w.t.Errorf("rule of %s: labels %v", s.Name, fr.GetLabels())
		}
		if want := `{"kubernetes.io/service-name":"default/` + s.Name + `"}`; fr.GetDescription() != want {
			w.t.Errorf("rule of %s: description %q, want upstream's %q", s.Name, fr.GetDescription(), want)
		}
		a, err := addrs.Get(w.ctx(), &computepb.GetAddressRequest{Project: project, Region: region, Address: fr.GetName()})
		var notFound interface{ HTTPCode() int }
		if errors.As(err, &notFound) && notFound.HTTPCode() == 404 {
			continue
		}
		if err != nil {
			w.t.Fatal(err)
		}
		if a.GetLabels()["cloudlb-cluster-id"] != clusterID {
			w.t.Errorf("address of %s: labels %v", s.Name, a.GetLabels())
		}
	}
}

// checkMembers: every external Service's target pool holds exactly the nodes, and the
// cluster's instance groups together too.
func (w *world) checkMembers(svcs []*v1.Service, want []string) {
	w.t.Helper()
	opts := []option.ClientOption{option.WithEndpoint(w.url), option.WithoutAuthentication()}
	tps, err := compute.NewTargetPoolsRESTClient(w.ctx(), opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	igs, err := compute.NewInstanceGroupsRESTClient(w.ctx(), opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range svcs {
		if s.Annotations[annInternal] != "" {
			continue
		}
		tp, err := tps.Get(w.ctx(), &computepb.GetTargetPoolRequest{Project: project, Region: region, TargetPool: w.lb.GetLoadBalancerName(w.ctx(), "", s)})
		if err != nil {
			w.t.Fatal(err)
		}
		var got []string
		for _, i := range tp.GetInstances() {
			got = append(got, i[strings.LastIndexByte(i, '/')+1:])
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			w.t.Errorf("target pool of %s holds %v, want %v", s.Name, got, want)
		}
	}
	members := map[string]bool{}
	for _, z := range []string{"us-central1-a", "us-central1-b"} {
		it := igs.ListInstances(w.ctx(), &computepb.ListInstancesInstanceGroupsRequest{Project: project, Zone: z, InstanceGroup: "k8s-ig--" + clusterID,
			InstanceGroupsListInstancesRequestResource: &computepb.InstanceGroupsListInstancesRequest{InstanceState: new("ALL")}})
		for {
			in, err := it.Next()
			if err != nil {
				break
			}
			members[in.GetInstance()[strings.LastIndexByte(in.GetInstance(), '/')+1:]] = true
		}
	}
	if got := slices.Sorted(maps.Keys(members)); !slices.Equal(got, want) {
		w.t.Errorf("instance groups hold %v, want %v", got, want)
	}
}
