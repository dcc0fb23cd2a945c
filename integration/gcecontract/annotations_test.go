package gcecontract_test

import (
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// annotationCase creates a Service with before, changes its annotations to after, and waits
// until the cloud shows the effect (now). Keys fixed at creation have before == after.
type annotationCase struct {
	name          string
	keys          []string
	before, after map[string]string
	spec          func(*v1.Service)
	// setup runs before the Service is created and may add annotations (a reserved address).
	setup func(t *testing.T, ann map[string]string)
	now   func(t *testing.T, lb string)
}

func ruleIs(ok func(*computepb.ForwardingRule) error) func(*testing.T, string) {
	return func(t *testing.T, lb string) { t.Helper(); waitRule(t, lb, ok) }
}

func backendIs(ok func(*computepb.BackendService) error) func(*testing.T, string) {
	return func(t *testing.T, lb string) { t.Helper(); waitBackend(t, lb, ok) }
}

func localPolicy(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal }

func annotationCases() []annotationCase {
	ilb := map[string]string{internal: "Internal"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := maps.Clone(base)
		if m == nil {
			m = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	inSubnet := func(r *computepb.ForwardingRule) error {
		ip, err := netip.ParseAddr(r.GetIPAddress())
		if err != nil || !netip.MustParsePrefix(ilbSubnetCIDR).Contains(ip) || !strings.HasSuffix(r.GetSubnetwork(), "/"+ilbSubnet) {
			return fmt.Errorf("rule %s in %s, want %s", r.GetIPAddress(), r.GetSubnetwork(), ilbSubnet)
		}
		return nil
	}
	return []annotationCase{
		{name: "type-internal", keys: []string{internal}, before: nil, after: ilb,
			now: ruleIs(func(r *computepb.ForwardingRule) error {
				return firstErr(want("scheme", r.GetLoadBalancingScheme(), "INTERNAL"), want("target", r.GetTarget(), ""))
			})},
		{name: "type-deprecated-key", keys: []string{"cloud.google.com/load-balancer-type"}, before: nil, after: map[string]string{"cloud.google.com/load-balancer-type": "Internal"},
			now: ruleIs(func(r *computepb.ForwardingRule) error { return want("scheme", r.GetLoadBalancingScheme(), "INTERNAL") })},
		{name: "global-access", keys: []string{"networking.gke.io/internal-load-balancer-allow-global-access"}, before: ilb,
			after: with(ilb, "networking.gke.io/internal-load-balancer-allow-global-access", "true"),
			now: ruleIs(func(r *computepb.ForwardingRule) error {
				return want("allowGlobalAccess", r.GetAllowGlobalAccess(), true)
			})},
		{name: "internal-subnet", keys: []string{"networking.gke.io/internal-load-balancer-subnet"}, before: ilb,
			after: with(ilb, "networking.gke.io/internal-load-balancer-subnet", ilbSubnet), now: ruleIs(inSubnet)},
		{name: "subnet", keys: []string{"networking.gke.io/load-balancer-subnet"}, before: ilb,
			after: with(ilb, "networking.gke.io/load-balancer-subnet", ilbSubnet), now: ruleIs(inSubnet)},
		{name: "network-tier", keys: []string{"cloud.google.com/network-tier"},
			before: map[string]string{"cloud.google.com/network-tier": "Standard"}, after: map[string]string{"cloud.google.com/network-tier": "Standard"},
			now: ruleIs(func(r *computepb.ForwardingRule) error { return want("networkTier", r.GetNetworkTier(), "STANDARD") })},
		{name: "ip-addresses", keys: []string{"networking.gke.io/load-balancer-ip-addresses"}, before: nil, after: nil,
			setup: func(t *testing.T, ann map[string]string) {
				ip := reserveAddress(t, "contract-user-ip")
				ann["networking.gke.io/load-balancer-ip-addresses"] = "contract-user-ip"
				ann["cloudlb.test/expected-ip"] = ip
			},
			now: nil /* set below: needs the reserved IP */},
		{name: "backend-share", keys: []string{"alpha.cloud.google.com/load-balancer-backend-share", "cloud.google.com/load-balancer-backend-share"}, before: ilb,
			after: with(ilb, "alpha.cloud.google.com/load-balancer-backend-share", "true"),
			now: ruleIs(func(r *computepb.ForwardingRule) error {
				if !strings.Contains(r.GetBackendService(), "/k8s-"+clusterID+"-internal-tcp-nmv1-") {
					return fmt.Errorf("backend service %s is not the shared one", r.GetBackendService())
				}
				return nil
			})},
		{name: "weighted", keys: []string{"networking.gke.io/weighted-load-balancing"}, before: ilb, spec: localPolicy,
			after: with(ilb, "networking.gke.io/weighted-load-balancing", "pods-per-node"),
			now: backendIs(func(b *computepb.BackendService) error {
				return want("localityLbPolicy", b.GetLocalityLbPolicy(), "WEIGHTED_MAGLEV")
			})},
		{name: "strong-affinity", keys: []string{"networking.gke.io/l4-strong-session-affinity"}, before: map[string]string{"cloud.google.com/l4-rbs": "enabled"},
			spec:  func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP },
			after: map[string]string{"cloud.google.com/l4-rbs": "enabled", "networking.gke.io/l4-strong-session-affinity": "enabled"},
			now: backendIs(func(b *computepb.BackendService) error {
				return want("enableStrongAffinity", b.GetConnectionTrackingPolicy().GetEnableStrongAffinity(), true)
			})},
		{name: "draining", keys: []string{"networking.gke.io/connection-draining-timeout"}, before: ilb,
			after: with(ilb, "networking.gke.io/connection-draining-timeout", "45s"),
			now: backendIs(func(b *computepb.BackendService) error {
				return want("drainingTimeoutSec", b.GetConnectionDraining().GetDrainingTimeoutSec(), int32(45))
			})},
		{name: "l4-rbs", keys: []string{"cloud.google.com/l4-rbs"},
			before: map[string]string{"cloud.google.com/l4-rbs": "enabled"}, after: map[string]string{"cloud.google.com/l4-rbs": "enabled"},
			now: ruleIs(func(r *computepb.ForwardingRule) error {
				return firstErr(want("scheme", r.GetLoadBalancingScheme(), "EXTERNAL"), want("target", r.GetTarget(), ""),
					want("has backend service", r.GetBackendService() != "", true))
			})},
		{name: "source-ranges", keys: []string{"service.beta.kubernetes.io/load-balancer-source-ranges"}, before: nil,
			after: map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "192.168.0.0/16"},
			now: func(t *testing.T, lb string) {
				t.Helper()
				waitFor(t, "the firewall of "+lb, func() (bool, string) {
					fw := firewall(t, "k8s-fw-"+lb)
					return fw != nil && len(fw.GetSourceRanges()) == 1 && fw.GetSourceRanges()[0] == "192.168.0.0/16", fmt.Sprint(fw.GetSourceRanges())
				})
			}},
	}
}

// TestEveryAnnotationChanged creates a Service per case, changes its annotations and waits
// for the cloud to follow; TestAnnotationCasesCoverTheRegistry keeps the cases complete.
func TestEveryAnnotationChanged(t *testing.T) {
	t.Parallel()
	for _, c := range annotationCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			before := maps.Clone(c.before)
			if before == nil {
				before = map[string]string{}
			}
			now := c.now
			if c.setup != nil {
				// Before the tenant: its cleanup (deleting the Services) must run first.
				c.setup(t, before)
				ip := before["cloudlb.test/expected-ip"]
				delete(before, "cloudlb.test/expected-ip")
				now = ruleIs(func(r *computepb.ForwardingRule) error { return want("IP", r.GetIPAddress(), ip) })
			}
			tn := newTenant(t)
			svc := newService(c.name, maps.Clone(before))
			if c.spec != nil {
				c.spec(svc)
			}
			svc = tn.create(svc)
			tn.waitIngress(svc.Name)
			after := maps.Clone(before)
			if c.after != nil || c.setup == nil {
				after = maps.Clone(c.after)
			}
			tn.update(svc.Name, func(s *v1.Service) { s.Annotations = after })
			now(t, cloudgce.LoadBalancerName(svc))
		})
	}
}

// coveredElsewhere names the GCE keys whose effect another test shows, and why not here.
var coveredElsewhere = map[string]string{
	"networking.gke.io/backend-service": "written by providers, never read: no cloud effect",
	"networking.gke.io/target-pool":     "written by providers, never read: no cloud effect",
}

// TestAnnotationCasesCoverTheRegistry fails when a GCE key cloudlb acts on has no case above
// and no entry in coveredElsewhere.
func TestAnnotationCasesCoverTheRegistry(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, c := range annotationCases() {
		for _, k := range c.keys {
			covered[k] = true
		}
	}
	for _, d := range annotations.ForCloud(annotations.GCE) {
		if d.Unsupported != "" || d.Change == annotations.NoChange || covered[d.Key] || coveredElsewhere[d.Key] != "" {
			continue
		}
		for _, a := range d.Aliases {
			if covered[a] {
				covered[d.Key] = true
			}
		}
		if !covered[d.Key] {
			t.Errorf("%s: no case in TestEveryAnnotationChanged and no entry in coveredElsewhere", d.Key)
		}
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
