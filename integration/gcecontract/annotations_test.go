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
	"github.com/cloudlb/cloudlb/integration/contract"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// gceAnnotations are the GCE annotation cases: keys fixed at creation have Before == After.
func gceAnnotations(*testing.T) contract.Annotations {
	return contract.Annotations{Cloud: annotations.GCE, NewService: newService, Cases: annotationCases(), Elsewhere: coveredElsewhere,
		SkipUnchangeable: true}
}

func annotationCases() []contract.AnnotationCase {
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
	return []contract.AnnotationCase{
		{Name: "type-internal", Keys: []string{internal}, Before: nil, After: ilb,
			Now: ruleIs(func(r *computepb.ForwardingRule) error {
				return contract.FirstErr(contract.Want("scheme", r.GetLoadBalancingScheme(), "INTERNAL"), contract.Want("target", r.GetTarget(), ""))
			})},
		{Name: "type-deprecated-key", Keys: []string{"cloud.google.com/load-balancer-type"}, Before: nil, After: map[string]string{"cloud.google.com/load-balancer-type": "Internal"},
			Now: ruleIs(func(r *computepb.ForwardingRule) error {
				return contract.Want("scheme", r.GetLoadBalancingScheme(), "INTERNAL")
			})},
		{Name: "global-access", Keys: []string{"networking.gke.io/internal-load-balancer-allow-global-access"}, Before: ilb,
			After: with(ilb, "networking.gke.io/internal-load-balancer-allow-global-access", "true"),
			Now: ruleIs(func(r *computepb.ForwardingRule) error {
				return contract.Want("allowGlobalAccess", r.GetAllowGlobalAccess(), true)
			})},
		{Name: "internal-subnet", Keys: []string{"networking.gke.io/internal-load-balancer-subnet"}, Before: ilb,
			After: with(ilb, "networking.gke.io/internal-load-balancer-subnet", ilbSubnet), Now: ruleIs(inSubnet)},
		{Name: "subnet", Keys: []string{"networking.gke.io/load-balancer-subnet"}, Before: ilb,
			After: with(ilb, "networking.gke.io/load-balancer-subnet", ilbSubnet), Now: ruleIs(inSubnet)},
		{Name: "network-tier", Keys: []string{"cloud.google.com/network-tier"},
			Before: map[string]string{"cloud.google.com/network-tier": "Standard"}, After: map[string]string{"cloud.google.com/network-tier": "Standard"},
			Now: ruleIs(func(r *computepb.ForwardingRule) error {
				return contract.Want("networkTier", r.GetNetworkTier(), "STANDARD")
			})},
		{Name: "ip-addresses", Keys: []string{"networking.gke.io/load-balancer-ip-addresses"},
			// The user's address, reserved before the tenant: it outlives the Service.
			Prepare: func(t *testing.T, c *contract.AnnotationCase) {
				ip := reserveAddress(t, "contract-user-ip")
				c.Before = map[string]string{"networking.gke.io/load-balancer-ip-addresses": "contract-user-ip"}
				c.After = c.Before
				c.Now = ruleIs(func(r *computepb.ForwardingRule) error { return contract.Want("IP", r.GetIPAddress(), ip) })
			}},
		{Name: "backend-share", Keys: []string{"alpha.cloud.google.com/load-balancer-backend-share", "cloud.google.com/load-balancer-backend-share"}, Before: ilb,
			After: with(ilb, "alpha.cloud.google.com/load-balancer-backend-share", "true"),
			Now: ruleIs(func(r *computepb.ForwardingRule) error {
				if !strings.Contains(r.GetBackendService(), "/k8s-"+clusterID+"-internal-tcp-nmv1-") {
					return fmt.Errorf("backend service %s is not the shared one", r.GetBackendService())
				}
				return nil
			})},
		{Name: "weighted", Keys: []string{"networking.gke.io/weighted-load-balancing"}, Before: ilb, Spec: localPolicy,
			After: with(ilb, "networking.gke.io/weighted-load-balancing", "pods-per-node"),
			Now: backendIs(func(b *computepb.BackendService) error {
				return contract.Want("localityLbPolicy", b.GetLocalityLbPolicy(), "WEIGHTED_MAGLEV")
			})},
		{Name: "strong-affinity", Keys: []string{"networking.gke.io/l4-strong-session-affinity"}, Before: map[string]string{"cloud.google.com/l4-rbs": "enabled"},
			Spec:  func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP },
			After: map[string]string{"cloud.google.com/l4-rbs": "enabled", "networking.gke.io/l4-strong-session-affinity": "enabled"},
			Now: backendIs(func(b *computepb.BackendService) error {
				return contract.Want("enableStrongAffinity", b.GetConnectionTrackingPolicy().GetEnableStrongAffinity(), true)
			})},
		{Name: "draining", Keys: []string{"networking.gke.io/connection-draining-timeout"}, Before: ilb,
			After: with(ilb, "networking.gke.io/connection-draining-timeout", "45s"),
			Now: backendIs(func(b *computepb.BackendService) error {
				return contract.Want("drainingTimeoutSec", b.GetConnectionDraining().GetDrainingTimeoutSec(), int32(45))
			})},
		{Name: "l4-rbs", Keys: []string{"cloud.google.com/l4-rbs"},
			Before: map[string]string{"cloud.google.com/l4-rbs": "enabled"}, After: map[string]string{"cloud.google.com/l4-rbs": "enabled"},
			Now: ruleIs(func(r *computepb.ForwardingRule) error {
				return contract.FirstErr(contract.Want("scheme", r.GetLoadBalancingScheme(), "EXTERNAL"), contract.Want("target", r.GetTarget(), ""),
					contract.Want("has backend service", r.GetBackendService() != "", true))
			})},
		{Name: "source-ranges", Keys: []string{"service.beta.kubernetes.io/load-balancer-source-ranges"}, Before: nil,
			After: map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "192.168.0.0/16"},
			Now: func(t *testing.T, svc *v1.Service) error {
				fw := firewall(t, "k8s-fw-"+cloudgce.LoadBalancerName(svc))
				return contract.Want("firewall source ranges", fmt.Sprint(fw.GetSourceRanges()), "[192.168.0.0/16]")
			}},
	}
}

// coveredElsewhere names the GCE keys whose effect another test shows, and why not here.
var coveredElsewhere = map[string]string{
	"networking.gke.io/backend-service": "written by providers, never read: no cloud effect",
	"networking.gke.io/target-pool":     "written by providers, never read: no cloud effect",
}
