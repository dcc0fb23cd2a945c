package annotations

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const gceTestUID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"

// gceSvc builds a LoadBalancer Service with one TCP port and the given annotations.
func gceSvc(ann map[string]string, mut ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: gceTestUID, Annotations: ann},
		Spec: v1.ServiceSpec{
			Type:  v1.ServiceTypeLoadBalancer,
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP, NodePort: 30080}},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

func gceLocal(s *v1.Service) {
	s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	s.Spec.HealthCheckNodePort = 31000
}

func gceClass(c string) func(*v1.Service) {
	return func(s *v1.Service) { s.Spec.LoadBalancerClass = &c }
}

func gceInternal(ann map[string]string) map[string]string {
	out := map[string]string{GCELoadBalancerType.Key: "Internal"}
	for k, v := range ann {
		out[k] = v
	}
	return out
}

// gceWant is one expected problem: its key, severity and a substring of its reason.
type gceWant struct {
	key    string
	sev    Severity
	reason string
}

func gceErr(key, reason string) gceWant  { return gceWant{key, Error, reason} }
func gceWarn(key, reason string) gceWant { return gceWant{key, Warning, reason} }

// gceCheckProblems requires every problem to match one wanted problem and vice versa.
func gceCheckProblems(t *testing.T, ps Problems, want []gceWant) {
	t.Helper()
	used := make([]bool, len(ps))
	for _, w := range want {
		found := false
		for i, p := range ps {
			if !used[i] && p.Key == w.key && p.Severity == w.sev && strings.Contains(p.Reason, w.reason) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing %s on %s containing %q; got %v", w.sev, w.key, w.reason, ps)
		}
	}
	for i, p := range ps {
		if !used[i] {
			t.Errorf("unexpected problem: %s %v", p.Severity, p)
		}
	}
}

type gceCase struct {
	name  string
	ann   map[string]string
	mut   []func(*v1.Service)
	check func(*testing.T, *GCEConfig)
	want  []gceWant
}

func gceRun(t *testing.T, cases []gceCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, ps := Parse(gceSvc(tc.ann, tc.mut...), GCE)
			if cfg.GCE == nil {
				t.Fatal("no GCE config")
			}
			gceCheckProblems(t, ps, tc.want)
			if tc.check != nil {
				tc.check(t, cfg.GCE)
			}
		})
	}
}

func TestGCEDefaults(t *testing.T) {
	t.Parallel()
	for _, local := range []bool{false, true} {
		svc := gceSvc(nil)
		if local {
			gceLocal(svc)
		}
		cfg, ps := Parse(svc, GCE)
		if len(ps) != 0 {
			t.Errorf("local=%v: problems %v", local, ps)
		}
		want := &GCEConfig{
			Frontend: GCEFrontend{NetworkTier: "PREMIUM"},
			Backend:  GCEBackend{SessionAffinity: "NONE"},
		}
		if got := cfg.GCE; got.Internal || got.HandledElsewhere != "" || got.Frontend.NetworkTier != want.Frontend.NetworkTier ||
			got.Frontend.Subnet != "" || got.Frontend.GlobalAccess || got.Frontend.LoadBalancerIP.IsValid() ||
			got.Frontend.IPAddressNames != nil || got.Backend != want.Backend {
			t.Errorf("local=%v: config = %+v, want %+v", local, got, want)
		}
	}
	// Internal defaults.
	cfg, ps := Parse(gceSvc(gceInternal(nil)), GCE)
	if len(ps) != 0 || !cfg.GCE.Internal || cfg.GCE.Frontend.NetworkTier != "PREMIUM" || cfg.GCE.Frontend.GlobalAccess || cfg.GCE.Backend.Shared {
		t.Errorf("internal defaults: %+v %v", cfg.GCE, ps)
	}
}

func TestGCELoadBalancerType(t *testing.T) {
	t.Parallel()
	key, alias := GCELoadBalancerType.Key, GCELoadBalancerType.Aliases[0]
	internal := func(want bool) func(*testing.T, *GCEConfig) {
		return func(t *testing.T, c *GCEConfig) {
			if c.Internal != want || c.HandledElsewhere != "" {
				t.Errorf("Internal = %v (elsewhere %q), want %v", c.Internal, c.HandledElsewhere, want)
			}
		}
	}
	gceRun(t, []gceCase{
		{name: "Internal", ann: map[string]string{key: "Internal"}, check: internal(true)},
		{name: "lower case", ann: map[string]string{key: "internal"}, check: internal(true)},
		{name: "upper case", ann: map[string]string{key: " INTERNAL "}, check: internal(true)},
		{name: "External", ann: map[string]string{key: "external"}, check: internal(false)},
		// cloud-provider-gcp makes every value but Internal an external load balancer.
		{name: "other value read as upstream does", ann: map[string]string{key: "Private"}, check: internal(false),
			want: []gceWant{gceWarn(key, `read as "External", as the upstream gce provider reads it`)}},
		{name: "deprecated alias", ann: map[string]string{alias: "Internal"}, check: internal(true),
			want: []gceWant{gceWarn(alias, "deprecated, use "+key)}},
		{name: "new key wins over alias", ann: map[string]string{alias: "Internal", key: "External"}, check: internal(false),
			want: []gceWant{gceWarn(alias, "also set and wins")}},
		{name: "internal legacy class forces internal", mut: []func(*v1.Service){gceClass(GCEClassInternalLegacy)}, check: internal(true)},
		{name: "internal legacy class beats annotation", ann: map[string]string{key: "External"},
			mut: []func(*v1.Service){gceClass(GCEClassInternalLegacy)}, check: internal(true),
			want: []gceWant{gceWarn(key, "selects an internal load balancer")}},
		{name: "external legacy class beats annotation", ann: map[string]string{alias: "Internal"},
			mut: []func(*v1.Service){gceClass(GCEClassExternalLegacy)}, check: internal(false),
			want: []gceWant{gceWarn(alias, "deprecated"), gceWarn(alias, "selects an external load balancer")}},
		{name: "agreeing class and annotation", ann: map[string]string{key: "Internal"},
			mut: []func(*v1.Service){gceClass(GCEClassInternalLegacy)}, check: internal(true)},
		{name: "foreign class is not ours to judge", mut: []func(*v1.Service){gceClass("example.com/lb")}, check: internal(false)},
	})
}

func TestGCEHandledElsewhere(t *testing.T) {
	t.Parallel()
	mixed := func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Port: 53, Protocol: v1.ProtocolUDP})
	}
	elsewhere := func(substr string, internal bool) func(*testing.T, *GCEConfig) {
		return func(t *testing.T, c *GCEConfig) {
			if !strings.Contains(c.HandledElsewhere, substr) || c.Internal != internal {
				t.Errorf("HandledElsewhere = %q, Internal = %v; want %q, %v", c.HandledElsewhere, c.Internal, substr, internal)
			}
			if c.Frontend.NetworkTier != "" {
				t.Errorf("config filled in for a Service served elsewhere: %+v", c)
			}
		}
	}
	gceRun(t, []gceCase{
		{name: "rbs", ann: map[string]string{GCEL4RBS.Key: "enabled"}, mut: []func(*v1.Service){mixed},
			check: func(t *testing.T, c *GCEConfig) {
				if !c.RBS || c.Internal || c.HandledElsewhere != "" {
					t.Errorf("RBS = %v, Internal = %v, HandledElsewhere = %q; want an external backend-service Service served here", c.RBS, c.Internal, c.HandledElsewhere)
				}
			}},
		{name: "rbs any case", ann: map[string]string{GCEL4RBS.Key: "Enabled"}, check: func(t *testing.T, c *GCEConfig) {
			if !c.RBS {
				t.Errorf("RBS = false for Enabled")
			}
		}},
		{name: "rbs wrong value", ann: map[string]string{GCEL4RBS.Key: "true"},
			check: func(t *testing.T, c *GCEConfig) {
				if c.HandledElsewhere != "" {
					t.Errorf("HandledElsewhere = %q", c.HandledElsewhere)
				}
			},
			want: []gceWant{gceErr(GCEL4RBS.Key, "not an accepted value")}},
		{name: "rbs on internal is ignored", ann: gceInternal(map[string]string{GCEL4RBS.Key: "enabled"}),
			check: func(t *testing.T, c *GCEConfig) {
				if c.HandledElsewhere != "" || !c.Internal || c.RBS {
					t.Errorf("config = %+v", c)
				}
			},
			want: []gceWant{gceWarn(GCEL4RBS.Key, "ignored on internal")}},
		{name: "GKE internal class", mut: []func(*v1.Service){gceClass("networking.gke.io/l4-regional-internal"), mixed},
			check: elsewhere("networking.gke.io/l4-regional-internal", true)},
		{name: "GKE external class beats rbs", ann: map[string]string{GCEL4RBS.Key: "enabled"},
			mut: []func(*v1.Service){gceClass("networking.gke.io/l4-regional-external")}, check: elsewhere("loadBalancerClass", false)},
	})
}

func TestGCENetworkTier(t *testing.T) {
	t.Parallel()
	key := GCENetworkTier.Key
	tier := func(want string) func(*testing.T, *GCEConfig) {
		return func(t *testing.T, c *GCEConfig) {
			if c.Frontend.NetworkTier != want {
				t.Errorf("NetworkTier = %q, want %q", c.Frontend.NetworkTier, want)
			}
		}
	}
	gceRun(t, []gceCase{
		{name: "Standard", ann: map[string]string{key: "Standard"}, check: tier("STANDARD")},
		{name: "lower case", ann: map[string]string{key: "standard"}, check: tier("STANDARD")},
		{name: "API spelling", ann: map[string]string{key: "PREMIUM"}, check: tier("PREMIUM")},
		{name: "unknown", ann: map[string]string{key: "Gold"}, check: tier("PREMIUM"),
			want: []gceWant{gceErr(key, "not an accepted value")}},
		{name: "ignored on internal", ann: gceInternal(map[string]string{key: "Standard"}), check: tier("PREMIUM"),
			want: []gceWant{gceWarn(key, "ignored on internal load balancers")}},
	})
	cfg, ps := Parse(gceSvc(map[string]string{key: "Gold"}), GCE)
	if e := ps.Errors(); len(e) != 1 || e[0].Allowed != "Premium, Standard" {
		t.Errorf("errors = %v (config %+v), want the allowed list", e, cfg.GCE)
	}
}

func TestGCEInternalOptions(t *testing.T) {
	t.Parallel()
	ga, oldSub, newSub := GCEAllowGlobalAccess.Key, GCEInternalSubnet.Key, GCESubnet.Key
	front := func(subnet string, global bool) func(*testing.T, *GCEConfig) {
		return func(t *testing.T, c *GCEConfig) {
			if c.Frontend.Subnet != subnet || c.Frontend.GlobalAccess != global {
				t.Errorf("Subnet = %q, GlobalAccess = %v; want %q, %v", c.Frontend.Subnet, c.Frontend.GlobalAccess, subnet, global)
			}
		}
	}
	long63 := "s" + strings.Repeat("a", 62)
	gceRun(t, []gceCase{
		{name: "global access", ann: gceInternal(map[string]string{ga: "TRUE"}), check: front("", true)},
		{name: "global access not a bool is false, as upstream", ann: gceInternal(map[string]string{ga: "yes"}), check: front("", false),
			want: []gceWant{gceWarn(ga, `read as "false"`)}},
		{name: "global access on external", ann: map[string]string{ga: "true"}, check: front("", false),
			want: []gceWant{gceWarn(ga, "ignored on external load balancers")}},
		{name: "old subnet key", ann: gceInternal(map[string]string{oldSub: "ilb-subnet"}), check: front("ilb-subnet", false)},
		{name: "new subnet key", ann: gceInternal(map[string]string{newSub: "lb-subnet"}), check: front("lb-subnet", false)},
		{name: "new subnet key wins", ann: gceInternal(map[string]string{oldSub: "old", newSub: "new"}), check: front("new", false),
			want: []gceWant{gceWarn(oldSub, `is also set ("new") and wins`)}},
		{name: "same subnet in both keys", ann: gceInternal(map[string]string{oldSub: "same", newSub: "same"}), check: front("same", false)},
		{name: "63 character subnet", ann: gceInternal(map[string]string{newSub: long63}), check: front(long63, false)},
		{name: "64 character subnet", ann: gceInternal(map[string]string{newSub: long63 + "b"}), check: front("", false),
			want: []gceWant{gceErr(newSub, "is not a GCE resource name")}},
		{name: "upper case subnet", ann: gceInternal(map[string]string{oldSub: "My-Subnet"}), check: front("", false),
			want: []gceWant{gceErr(oldSub, "is not a GCE resource name")}},
		{name: "subnet starting with a digit", ann: gceInternal(map[string]string{oldSub: "1subnet"}), check: front("", false),
			want: []gceWant{gceErr(oldSub, "is not a GCE resource name")}},
		{name: "subnet ending with a dash", ann: gceInternal(map[string]string{oldSub: "subnet-"}), check: front("", false),
			want: []gceWant{gceErr(oldSub, "is not a GCE resource name")}},
		{name: "subnet URL", ann: gceInternal(map[string]string{oldSub: "projects/p/regions/r/subnetworks/s"}), check: front("", false),
			want: []gceWant{gceErr(oldSub, "is not a GCE resource name")}},
		{name: "subnet on external", ann: map[string]string{oldSub: "a", newSub: "b"}, check: front("", false),
			want: []gceWant{gceWarn(oldSub, "ignored on external"), gceWarn(newSub, "ignored on external")}},
	})
}

func TestGCEBackendShare(t *testing.T) {
	t.Parallel()
	key, alias := GCEBackendShare.Key, GCEBackendShare.Aliases[0]
	shared := func(want bool) func(*testing.T, *GCEConfig) {
		return func(t *testing.T, c *GCEConfig) {
			if c.Backend.Shared != want {
				t.Errorf("Shared = %v, want %v", c.Backend.Shared, want)
			}
		}
	}
	gceRun(t, []gceCase{
		{name: "shared", ann: gceInternal(map[string]string{key: "True"}), check: shared(true)},
		{name: "explicitly off", ann: gceInternal(map[string]string{key: "false"}), check: shared(false)},
		{name: "deprecated alias", ann: gceInternal(map[string]string{alias: "true"}), check: shared(true),
			want: []gceWant{gceWarn(alias, "deprecated, use "+key)}},
		{name: "not a bool is false, as upstream", ann: gceInternal(map[string]string{key: "1"}), check: shared(false),
			want: []gceWant{gceWarn(key, `read as "false"`)}},
		{name: "Local", ann: gceInternal(map[string]string{key: "true"}), mut: []func(*v1.Service){gceLocal}, check: shared(false),
			want: []gceWant{gceWarn(key, "ignored with externalTrafficPolicy Local")}},
		{name: "Local and off", ann: gceInternal(map[string]string{key: "false"}), mut: []func(*v1.Service){gceLocal}, check: shared(false)},
		{name: "external", ann: map[string]string{key: "true"}, check: shared(false),
			want: []gceWant{gceWarn(key, "ignored on external")}},
	})
}

func TestGCEAddresses(t *testing.T) {
	t.Parallel()
	key := GCEIPAddressNames.Key
	addr := func(ip string, names ...string) func(*testing.T, *GCEConfig) {
		return func(t *testing.T, c *GCEConfig) {
			var want netip.Addr
			if ip != "" {
				want = netip.MustParseAddr(ip)
			}
			if c.Frontend.LoadBalancerIP != want || !slices.Equal(c.Frontend.IPAddressNames, names) {
				t.Errorf("LoadBalancerIP = %v, names = %v; want %v, %v", c.Frontend.LoadBalancerIP, c.Frontend.IPAddressNames, want, names)
			}
		}
	}
	lbIP := func(ip string) func(*v1.Service) { return func(s *v1.Service) { s.Spec.LoadBalancerIP = ip } }
	gceRun(t, []gceCase{
		{name: "two names", ann: map[string]string{key: " web-v4 , web-v6"}, check: addr("", "web-v4", "web-v6"),
			want: []gceWant{gceWarn(key, "IPv6 forwarding rules are not implemented yet")}},
		{name: "one name", ann: map[string]string{key: "web-v4"}, check: addr("", "web-v4")},
		{name: "three names", ann: map[string]string{key: "a,b,c"}, check: addr(""),
			want: []gceWant{gceErr(key, "3 names given, at most 2")}},
		{name: "duplicate", ann: map[string]string{key: "a, a"}, check: addr(""), want: []gceWant{gceErr(key, "listed twice")}},
		{name: "an IP instead of a name", ann: map[string]string{key: "203.0.113.7"}, check: addr(""),
			want: []gceWant{gceErr(key, `item "203.0.113.7"`)}},
		{name: "trailing comma", ann: map[string]string{key: "a,"}, check: addr(""), want: []gceWant{gceErr(key, "empty list item")}},
		{name: "names beat spec.loadBalancerIP", ann: map[string]string{key: "web-v4"}, mut: []func(*v1.Service){lbIP("203.0.113.7")},
			check: addr("", "web-v4"), want: []gceWant{gceWarn("spec.loadBalancerIP", "takes precedence")}},
		{name: "external IPv4", mut: []func(*v1.Service){lbIP("203.0.113.7")}, check: addr("203.0.113.7")},
		{name: "external IPv6 rejected", mut: []func(*v1.Service){lbIP("2001:db8::1")}, check: addr(""),
			want: []gceWant{gceErr("spec.loadBalancerIP", "IPv4 only")}},
		{name: "internal IPv6", ann: gceInternal(nil), mut: []func(*v1.Service){lbIP("fd00::10")}, check: addr(""),
			want: []gceWant{gceErr("spec.loadBalancerIP", "IPv4 only for now")}},
		{name: "internal IPv4", ann: gceInternal(nil), mut: []func(*v1.Service){lbIP("10.0.0.10")}, check: addr("10.0.0.10")},
		{name: "not an IP", mut: []func(*v1.Service){lbIP("my-address")}, check: addr(""),
			want: []gceWant{gceErr("spec.loadBalancerIP", "not an IP address")}},
		{name: "IPv4-mapped", ann: gceInternal(nil), mut: []func(*v1.Service){lbIP("::ffff:10.0.0.1")}, check: addr(""),
			want: []gceWant{gceErr("spec.loadBalancerIP", "write it as 10.0.0.1")}},
	})
}

func TestGCEBackendFeatures(t *testing.T) {
	t.Parallel()
	weighted, strong, rbs := GCEWeightedLoadBalancing.Key, GCEStrongSessionAffinity.Key, GCEL4RBS.Key
	clientIP := func(timeout int32) func(*v1.Service) {
		return func(s *v1.Service) {
			s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
			if timeout > 0 {
				s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: &timeout}}
			}
		}
	}
	backend := func(want GCEBackend) func(*testing.T, *GCEConfig) {
		return func(t *testing.T, c *GCEConfig) {
			if c.Backend != want {
				t.Errorf("Backend = %+v, want %+v", c.Backend, want)
			}
		}
	}
	none := GCEBackend{SessionAffinity: "NONE"}
	gceRun(t, []gceCase{
		{name: "client IP affinity", mut: []func(*v1.Service){clientIP(0)}, check: backend(GCEBackend{SessionAffinity: "CLIENT_IP"})},
		{name: "unknown affinity", mut: []func(*v1.Service){func(s *v1.Service) { s.Spec.SessionAffinity = "Sticky" }},
			check: backend(GCEBackend{}), want: []gceWant{gceErr("spec.sessionAffinity", "unknown session affinity")}},
		{name: "weighted with Local", ann: map[string]string{weighted: "pods-per-node", rbs: "enabled"}, mut: []func(*v1.Service){gceLocal},
			check: backend(GCEBackend{SessionAffinity: "NONE", WeightedLoadBalancing: true})},
		{name: "weighted internal with Local", ann: gceInternal(map[string]string{weighted: "Pods-Per-Node"}), mut: []func(*v1.Service){gceLocal},
			check: backend(GCEBackend{SessionAffinity: "NONE", WeightedLoadBalancing: true})},
		{name: "weighted with Cluster", ann: map[string]string{weighted: "pods-per-node"}, check: backend(none),
			want: []gceWant{gceWarn(weighted, "no effect with externalTrafficPolicy Cluster")}},
		{name: "weighted unknown mode", ann: map[string]string{weighted: "true"}, mut: []func(*v1.Service){gceLocal}, check: backend(none),
			want: []gceWant{gceErr(weighted, "not an accepted value")}},
		{name: "strong affinity, default timeout", ann: map[string]string{strong: "enabled", rbs: "enabled"}, mut: []func(*v1.Service){clientIP(0)},
			check: backend(GCEBackend{SessionAffinity: "CLIENT_IP", StrongSessionAffinity: true, StrongSessionAffinityIdleTimeout: 3 * time.Hour})},
		{name: "strong affinity, 60s", ann: map[string]string{strong: "enabled", rbs: "enabled"}, mut: []func(*v1.Service){clientIP(60)},
			check: backend(GCEBackend{SessionAffinity: "CLIENT_IP", StrongSessionAffinity: true, StrongSessionAffinityIdleTimeout: time.Minute})},
		{name: "strong affinity, 16h", ann: map[string]string{strong: "enabled", rbs: "enabled"}, mut: []func(*v1.Service){clientIP(57600)},
			check: backend(GCEBackend{SessionAffinity: "CLIENT_IP", StrongSessionAffinity: true, StrongSessionAffinityIdleTimeout: 16 * time.Hour})},
		{name: "strong affinity, timeout too short", ann: map[string]string{strong: "enabled", rbs: "enabled"}, mut: []func(*v1.Service){clientIP(59)},
			check: backend(GCEBackend{SessionAffinity: "CLIENT_IP"}),
			want:  []gceWant{gceErr("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "60-57600 seconds")}},
		{name: "strong affinity, timeout too long", ann: map[string]string{strong: "enabled", rbs: "enabled"}, mut: []func(*v1.Service){clientIP(57601)},
			check: backend(GCEBackend{SessionAffinity: "CLIENT_IP"}),
			want:  []gceWant{gceErr("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "60-57600 seconds")}},
		{name: "strong affinity needs ClientIP", ann: map[string]string{strong: "enabled", rbs: "enabled"}, check: backend(none),
			want: []gceWant{gceErr(strong, "needs spec.sessionAffinity ClientIP")}},
		{name: "strong affinity on a target pool", ann: map[string]string{strong: "enabled"}, mut: []func(*v1.Service){clientIP(0)},
			check: backend(GCEBackend{SessionAffinity: "CLIENT_IP", StrongSessionAffinity: true, StrongSessionAffinityIdleTimeout: 10800 * time.Second}),
			want:  []gceWant{gceWarn(strong, "ignored on target-pool")}},
		{name: "strong affinity on internal", ann: gceInternal(map[string]string{strong: "enabled"}), mut: []func(*v1.Service){clientIP(0)},
			check: backend(GCEBackend{SessionAffinity: "CLIENT_IP"}), want: []gceWant{gceWarn(strong, "ignored on internal")}},
		{name: "strong affinity wrong value", ann: map[string]string{strong: "true"}, check: backend(none),
			want: []gceWant{gceErr(strong, "not an accepted value")}},
	})
}

func TestGCEConnectionDrainingTimeout(t *testing.T) {
	t.Parallel()
	key := GCEConnectionDrainingTimeout.Key
	for _, tc := range []struct {
		in      string
		want    time.Duration
		problem string
	}{
		{"300s", 300 * time.Second, ""},
		{"5m", 5 * time.Minute, ""},
		{"0s", 0, ""},
		{"0", 0, ""},
		{"1h", time.Hour, ""},
		{"3600s", time.Hour, ""},
		{"59m60s", time.Hour, ""},
		{"3601s", 0, "outside 0s-3600s"},
		{"1h0m1s", 0, "outside 0s-3600s"},
		{"-1s", 0, "outside 0s-3600s"},
		{"1.5s", 0, "not a whole number of seconds"},
		{"500ms", 0, "not a whole number of seconds"},
		{"300", 0, `did you mean 300s?`},
		{"five minutes", 0, "not a duration"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			cfg, ps := Parse(gceSvc(gceInternal(map[string]string{key: tc.in})), GCE)
			var want []gceWant
			if tc.problem != "" {
				want = append(want, gceErr(key, tc.problem))
			}
			gceCheckProblems(t, ps, want)
			if got := cfg.GCE.Backend.ConnectionDrainingTimeout; got != tc.want {
				t.Errorf("ConnectionDrainingTimeout = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGCEPorts(t *testing.T) {
	t.Parallel()
	addPort := func(name string, port int32, proto v1.Protocol) func(*v1.Service) {
		return func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: name, Port: port, Protocol: proto})
		}
	}
	gceRun(t, []gceCase{
		{name: "TCP only, default protocol", mut: []func(*v1.Service){addPort("https", 443, "")}},
		{name: "UDP only", mut: []func(*v1.Service){func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolUDP }}},
		{name: "mixed: one forwarding rule per protocol", mut: []func(*v1.Service){addPort("dns", 53, v1.ProtocolUDP)}},
		{name: "mixed internal", ann: gceInternal(nil), mut: []func(*v1.Service){addPort("dns", 53, v1.ProtocolUDP)}},
		{name: "SCTP", mut: []func(*v1.Service){addPort("sctp", 9000, v1.ProtocolSCTP)},
			want: []gceWant{gceErr("spec.ports[1].protocol", "only TCP and UDP")}},
	})
}

func TestGCEWrittenAndStatusKeys(t *testing.T) {
	t.Parallel()
	lbName := "a1b4e28ba2fa111d2883f0016d3cca42"
	if got := GCELoadBalancerName(gceSvc(nil)); got != lbName {
		t.Fatalf("GCELoadBalancerName = %q, want %q", got, lbName)
	}
	bs, tp := GCEBackendServiceName.Key, GCETargetPoolName.Key
	status := map[string]string{}
	for _, d := range gceStatusKeys {
		status[d.Key] = "k8s2-abc-shop-web-xyz"
	}
	gceRun(t, []gceCase{
		{name: "target pool written by us", ann: map[string]string{tp: lbName}},
		{name: "backend service written by us", ann: gceInternal(map[string]string{bs: lbName})},
		{name: "shared backend service written by us", ann: gceInternal(map[string]string{bs: "k8s-cluster1-internal-tcp-nmv1-0123456789abcdef"})},
		{name: "target pool set by hand", ann: map[string]string{tp: "my-pool"},
			want: []gceWant{gceWarn(tp, "informational only")}},
		{name: "stale backend service after switching to external", ann: map[string]string{bs: lbName},
			want: []gceWant{gceWarn(bs, "informational only")}},
		{name: "GKE status keys are accepted silently", ann: status},
		{name: "logging config map is unsupported", ann: map[string]string{GCEL4LoggingConfigMap.Key: "lb-logs"},
			want: []gceWant{gceWarn(GCEL4LoggingConfigMap.Key, "not supported")}},
	})
}

func TestGCERegistry(t *testing.T) {
	t.Parallel()
	want := []string{
		"networking.gke.io/load-balancer-type", "networking.gke.io/internal-load-balancer-allow-global-access",
		"networking.gke.io/internal-load-balancer-subnet", "cloud.google.com/network-tier",
		"alpha.cloud.google.com/load-balancer-backend-share", "cloud.google.com/l4-rbs",
		"networking.gke.io/backend-service", "networking.gke.io/target-pool",
		"networking.gke.io/load-balancer-ip-addresses", "networking.gke.io/load-balancer-subnet",
		"networking.gke.io/weighted-load-balancing", "networking.gke.io/l4-strong-session-affinity",
		"networking.gke.io/connection-draining-timeout", "networking.gke.io/l4-logging-config-map",
		"service.kubernetes.io/tcp-forwarding-rule", "service.kubernetes.io/tcp-forwarding-rule-ipv6",
		"service.kubernetes.io/udp-forwarding-rule", "service.kubernetes.io/udp-forwarding-rule-ipv6",
		"service.kubernetes.io/l3-forwarding-rule", "service.kubernetes.io/l3-forwarding-rule-ipv6",
		"service.kubernetes.io/backend-service", "service.kubernetes.io/firewall-rule",
		"service.kubernetes.io/firewall-rule-deny", "service.kubernetes.io/firewall-rule-ipv6",
		"service.kubernetes.io/firewall-rule-deny-ipv6", "service.kubernetes.io/healthcheck",
		"service.kubernetes.io/firewall-rule-for-hc", "service.kubernetes.io/firewall-rule-for-hc-ipv6",
	}
	var got []string
	for _, d := range gceKeys() {
		got = append(got, d.Key)
		if d.Cloud != GCE {
			t.Errorf("%s: cloud %s", d.Key, d.Cloud)
		}
		if strings.HasPrefix(d.Key, "service.kubernetes.io/") && d.Change != NoChange {
			t.Errorf("%s: status key with change %s", d.Key, d.Change)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keys =\n%v\nwant\n%v", got, want)
	}
	for _, alias := range []string{"cloud.google.com/load-balancer-type", "cloud.google.com/load-balancer-backend-share"} {
		if _, _, ok := Lookup(alias); !ok {
			t.Errorf("alias %s not registered", alias)
		}
	}
	if _, _, ok := Lookup(CoreSourceRanges.Key); !ok || slices.Contains(got, CoreSourceRanges.Key) {
		t.Error("the source-ranges key must stay a core key")
	}
}

func TestGCEKeysOfOtherCloudsAndAnyCloud(t *testing.T) {
	t.Parallel()
	// The GCE provider ignores an AWS key; AnyCloud builds the GCE section only when a GCE key is present.
	cfg, _ := Parse(gceSvc(nil), AnyCloud)
	if cfg.GCE != nil {
		t.Errorf("AnyCloud without GCE keys built %+v", cfg.GCE)
	}
	cfg, ps := Parse(gceSvc(map[string]string{GCELoadBalancerType.Key: "Internal"}), AnyCloud)
	if cfg.GCE == nil || !cfg.GCE.Internal || len(ps) != 0 {
		t.Errorf("AnyCloud with a GCE key: %+v %v", cfg.GCE, ps)
	}
}
