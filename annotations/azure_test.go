package annotations

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const azureSub = "0b1f6471-1bf0-4dda-aec3-111122223333"

// azureKey expands a short key ("azure-pip-name") to the full annotation key; spec paths and
// full keys are returned as is.
func azureKey(k string) string {
	if strings.HasPrefix(k, "spec.") || strings.Contains(k, "/") {
		return k
	}
	return "service.beta.kubernetes.io/" + k
}

func azureSvc(ann map[string]string, mod func(*v1.Service)) *v1.Service {
	full := map[string]string{}
	for k, v := range ann {
		full[azureKey(k)] = v
	}
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Annotations: full},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeLoadBalancer,
			Ports: []v1.ServicePort{
				{Name: "http", Port: 80, Protocol: v1.ProtocolTCP, NodePort: 30080},
				{Name: "https", Port: 443, Protocol: v1.ProtocolTCP, NodePort: 30443},
			},
		},
	}
	if mod != nil {
		mod(svc)
	}
	return svc
}

func azureLocal(s *v1.Service) {
	s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	s.Spec.HealthCheckNodePort = 32000
}

type azureCase struct {
	name  string
	ann   map[string]string
	mod   func(*v1.Service)
	errs  []string // exactly these keys have errors (short or full keys, or spec paths)
	warns []string // at least these keys have warnings
	check func(t *testing.T, c *AzureConfig)
}

func azureRun(t *testing.T, cases []azureCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, probs := Parse(azureSvc(tc.ann, tc.mod), Azure)
			var gotErrs []string
			for _, p := range probs.Errors() {
				if !slices.Contains(gotErrs, p.Key) {
					gotErrs = append(gotErrs, p.Key)
				}
			}
			var wantErrs []string
			for _, k := range tc.errs {
				wantErrs = append(wantErrs, azureKey(k))
			}
			slices.Sort(gotErrs)
			slices.Sort(wantErrs)
			if !slices.Equal(gotErrs, wantErrs) {
				t.Errorf("error keys = %v, want %v\nproblems: %v", gotErrs, wantErrs, probs)
			}
			for _, k := range tc.warns {
				if !slices.ContainsFunc(probs.Warnings(), func(p Problem) bool { return p.Key == azureKey(k) }) {
					t.Errorf("no warning on %s\nproblems: %v", azureKey(k), probs)
				}
			}
			if cfg.Azure == nil {
				t.Fatal("Azure section missing")
			}
			if tc.check != nil {
				tc.check(t, cfg.Azure)
			}
		})
	}
}

func azureEq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestAzureRegistry(t *testing.T) {
	t.Parallel()
	ds := ForCloud(Azure)
	if len(ds) != 45 {
		t.Errorf("%d Azure keys, want 45", len(ds))
	}
	unsupported := 0
	for _, d := range ds {
		if !strings.HasPrefix(d.Key, "service.beta.kubernetes.io/") || d.Doc == "" || d.Change == "" || d.AppliesTo == "" {
			t.Errorf("%s: incomplete descriptor", d.Key)
		}
		if d.Unsupported != "" {
			unsupported++
		}
		for _, def := range d.Defaults {
			if _, err := decode(d, def.Value); err != nil {
				t.Errorf("%s: default %q does not validate: %v", d.Key, def.Value, err)
			}
		}
	}
	azureEq(t, "unsupported keys", unsupported, 1)
	azureEq(t, "shared-securityrule unsupported", AzureSharedSecurityRule.Unsupported != "", true)
	if d, port, ok := Lookup("service.beta.kubernetes.io/port_443_health-probe_num-of-probe"); !ok || d != AzurePortProbeNumOfProbe || port != "443" {
		t.Errorf("per-port lookup = %v %q %v", d, port, ok)
	}
	v, _ := AzureProbeProtocol.DefaultFor(Context{Local: true})
	azureEq(t, "Local probe protocol default", v, "Http")
	v, _ = AzureProbeRequestPath.DefaultFor(Context{})
	azureEq(t, "Cluster request path default", v, "/")
}

func TestAzureDefaults(t *testing.T) {
	t.Parallel()
	azureRun(t, []azureCase{
		{name: "external Cluster", check: func(t *testing.T, c *AzureConfig) {
			azureEq(t, "Internal", c.Internal, false)
			azureEq(t, "IdleTimeoutMinutes", c.IdleTimeoutMinutes, int32(4))
			azureEq(t, "HealthProbe", c.HealthProbe, AzureHealthProbeDefaults{"Tcp", "/", 5, 2})
			azureEq(t, "probe 80", *c.Ports[80].Probe, AzureProbe{Protocol: "Tcp", Port: 30080, IntervalSeconds: 5, NumOfProbe: 2})
			azureEq(t, "probe 443 port", c.Ports[443].Probe.Port, int32(30443))
			azureEq(t, "LoadDistribution", c.LoadDistribution, "Default")
			azureEq(t, "DNSLabelName", c.DNSLabelName, (*string)(nil))
			azureEq(t, "PLS", c.PLS, (*AzurePLSConfig)(nil))
			azureEq(t, "AllowFromInternet", c.AllowFromInternet, true)
			azureEq(t, "SourceRanges", len(c.SourceRanges), 0)
			azureEq(t, "pinned", c.LoadBalancerIPv4.IsValid() || c.LoadBalancerIPv6.IsValid(), false)
		}},
		{name: "external Local probes healthCheckNodePort", mod: azureLocal, check: func(t *testing.T, c *AzureConfig) {
			want := AzureProbe{Protocol: "Http", Port: 32000, RequestPath: "/healthz", IntervalSeconds: 5, NumOfProbe: 2, HealthCheckNodePort: true}
			azureEq(t, "probe 80", *c.Ports[80].Probe, want)
			azureEq(t, "probe 443", *c.Ports[443].Probe, want)
		}},
		{name: "internal", ann: map[string]string{"azure-load-balancer-internal": "TRUE"}, check: func(t *testing.T, c *AzureConfig) {
			azureEq(t, "Internal", c.Internal, true)
			azureEq(t, "AllowFromInternet", c.AllowFromInternet, false)
		}},
		{name: "ClientIP affinity", mod: func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP },
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "LoadDistribution", c.LoadDistribution, "SourceIP") }},
	})
}

func TestAzureLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 81)
	azureRun(t, []azureCase{
		{name: "idle timeout 3", ann: map[string]string{"azure-load-balancer-tcp-idle-timeout": "3"}, errs: []string{"azure-load-balancer-tcp-idle-timeout"}},
		{name: "idle timeout 101", ann: map[string]string{"azure-load-balancer-tcp-idle-timeout": "101"}, errs: []string{"azure-load-balancer-tcp-idle-timeout"}},
		{name: "idle timeout 100", ann: map[string]string{"azure-load-balancer-tcp-idle-timeout": "100"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "IdleTimeoutMinutes", c.IdleTimeoutMinutes, int32(100)) }},
		{name: "bool any case", ann: map[string]string{"azure-load-balancer-disable-tcp-reset": "True"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "DisableTCPReset", c.DisableTCPReset, true) }},
		// cloud-provider-azure: EqualFold(v, "true"), so any other value is false.
		{name: "bool other spelling is false, as upstream", ann: map[string]string{"azure-load-balancer-internal": "yes"}, warns: []string{"azure-load-balancer-internal"},
			check: func(t *testing.T, c *AzureConfig) {
				if c.Internal {
					t.Error(`"yes" read as internal; cloud-provider-azure reads it as false`)
				}
			}},
		{name: "interval 4", ann: map[string]string{"azure-load-balancer-health-probe-interval": "4"}, errs: []string{"azure-load-balancer-health-probe-interval"}},
		{name: "num-of-probe 1", ann: map[string]string{"azure-load-balancer-health-probe-num-of-probe": "1"}, errs: []string{"azure-load-balancer-health-probe-num-of-probe"}},
		{name: "interval x num = 120", ann: map[string]string{"azure-load-balancer-health-probe-interval": "40", "azure-load-balancer-health-probe-num-of-probe": "3"},
			errs: []string{"azure-load-balancer-health-probe-interval"}},
		{name: "interval 60", ann: map[string]string{"azure-load-balancer-health-probe-interval": "60"},
			errs: []string{"azure-load-balancer-health-probe-interval"}},
		{name: "num-of-probe 24", ann: map[string]string{"azure-load-balancer-health-probe-num-of-probe": "24"},
			errs: []string{"azure-load-balancer-health-probe-num-of-probe"}},
		{name: "num-of-probe 23 with default interval", ann: map[string]string{"azure-load-balancer-health-probe-num-of-probe": "23"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "NumOfProbe", c.HealthProbe.NumOfProbe, int32(23)) }},
		{name: "interval x num = 117", ann: map[string]string{"azure-load-balancer-health-probe-interval": "39", "azure-load-balancer-health-probe-num-of-probe": "3"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "HealthProbe", c.HealthProbe, AzureHealthProbeDefaults{"Tcp", "/", 39, 3})
				azureEq(t, "port probe", c.Ports[80].Probe.IntervalSeconds*c.Ports[80].Probe.NumOfProbe, int32(117))
			}},
		{name: "per-port interval with global num", ann: map[string]string{"azure-load-balancer-health-probe-num-of-probe": "4", "port_80_health-probe_interval": "30"},
			errs: []string{"port_80_health-probe_interval"}},
		{name: "per-port num with global interval", ann: map[string]string{"azure-load-balancer-health-probe-interval": "30", "port_443_health-probe_num-of-probe": "4"},
			errs: []string{"port_443_health-probe_num-of-probe"}},
		{name: "per-port interval 4", ann: map[string]string{"port_80_health-probe_interval": "4"}, errs: []string{"port_80_health-probe_interval"}},
		{name: "per-port overrides", ann: map[string]string{"port_80_health-probe_interval": "10", "port_80_health-probe_num-of-probe": "11"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "probe 80", [2]int32{c.Ports[80].Probe.IntervalSeconds, c.Ports[80].Probe.NumOfProbe}, [2]int32{10, 11})
				azureEq(t, "probe 443", [2]int32{c.Ports[443].Probe.IntervalSeconds, c.Ports[443].Probe.NumOfProbe}, [2]int32{5, 2})
			}},
		{name: "probe protocol canonical", ann: map[string]string{"azure-load-balancer-health-probe-protocol": "hTTp", "azure-load-balancer-health-probe-request-path": "/ready"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "probe 80", *c.Ports[80].Probe, AzureProbe{Protocol: "Http", Port: 30080, RequestPath: "/ready", IntervalSeconds: 5, NumOfProbe: 2})
			}},
		// cloud-provider-azure probes over TCP for any other value.
		{name: "probe protocol udp is Tcp, as upstream", ann: map[string]string{"azure-load-balancer-health-probe-protocol": "udp"}, warns: []string{"azure-load-balancer-health-probe-protocol"}},
		{name: "request path without slash", ann: map[string]string{"azure-load-balancer-health-probe-request-path": "healthz"}, errs: []string{"azure-load-balancer-health-probe-request-path"}},
		{name: "probe port by name", ann: map[string]string{"port_80_health-probe_port": "https"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "probe port", c.Ports[80].Probe.Port, int32(30443)) }},
		{name: "probe port by service port", ann: map[string]string{"port_80_health-probe_port": "443"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "probe port", c.Ports[80].Probe.Port, int32(30443)) }},
		{name: "probe port literal", ann: map[string]string{"port_80_health-probe_port": "8080"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "probe port", c.Ports[80].Probe.Port, int32(8080)) }},
		{name: "probe port unknown name", ann: map[string]string{"port_80_health-probe_port": "metrics"}, errs: []string{"port_80_health-probe_port"}},
		{name: "probe port 0", ann: map[string]string{"port_80_health-probe_port": "0"}, errs: []string{"port_80_health-probe_port"}},
		{name: "probe port 65536", ann: map[string]string{"port_80_health-probe_port": "65536"}, errs: []string{"port_80_health-probe_port"}},
		{name: "per-port key of no Service port", ann: map[string]string{"port_81_no_lb_rule": "true"}, warns: []string{"port_81_no_lb_rule"}},
		{name: "ipv4 given IPv6", ann: map[string]string{"azure-load-balancer-ipv4": "2001:db8::1"}, errs: []string{"azure-load-balancer-ipv4"}},
		{name: "ipv6 given IPv4", ann: map[string]string{"azure-load-balancer-ipv6": "10.0.0.1"}, errs: []string{"azure-load-balancer-ipv6"}},
		{name: "additional public IPs", ann: map[string]string{"azure-additional-public-ips": "20.1.2.3, 2001:db8::5"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "AdditionalPublicIPs", c.AdditionalPublicIPs, []netip.Addr{netip.MustParseAddr("20.1.2.3"), netip.MustParseAddr("2001:db8::5")})
			}},
		{name: "additional public IP invalid", ann: map[string]string{"azure-additional-public-ips": "20.1.2.3,20.1.2"}, errs: []string{"azure-additional-public-ips"}},
		{name: "dns label removed", ann: map[string]string{"azure-dns-label-name": ""},
			check: func(t *testing.T, c *AzureConfig) {
				if c.DNSLabelName == nil || *c.DNSLabelName != "" {
					t.Errorf("DNSLabelName = %v, want pointer to empty", c.DNSLabelName)
				}
			}},
		{name: "dns label", ann: map[string]string{"azure-dns-label-name": "my-app1"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "DNSLabelName", *c.DNSLabelName, "my-app1") }},
		{name: "dns label upper case", ann: map[string]string{"azure-dns-label-name": "MyApp"}, errs: []string{"azure-dns-label-name"}},
		{name: "dns label too short", ann: map[string]string{"azure-dns-label-name": "ab"}, errs: []string{"azure-dns-label-name"}},
		{name: "dns label starts with digit", ann: map[string]string{"azure-dns-label-name": "1app"}, errs: []string{"azure-dns-label-name"}},
		{name: "dns label ends with hyphen", ann: map[string]string{"azure-dns-label-name": "app-"}, errs: []string{"azure-dns-label-name"}},
		{name: "pip name ending in underscore", ann: map[string]string{"azure-pip-name": "my.pip_"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "PIPName", c.PIPName, "my.pip_") }},
		{name: "pip name too long", ann: map[string]string{"azure-pip-name": long}, errs: []string{"azure-pip-name"}},
		{name: "pip name ending in dot", ann: map[string]string{"azure-pip-name": "pip."}, errs: []string{"azure-pip-name"}},
		{name: "pip name starting with hyphen", ann: map[string]string{"azure-pip-name-ipv6": "-pip"}, errs: []string{"azure-pip-name-ipv6"}},
		{name: "resource group", ann: map[string]string{"azure-load-balancer-resource-group": "my_rg-(1).x"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "PIPResourceGroup", c.PIPResourceGroup, "my_rg-(1).x") }},
		{name: "resource group ending in dot", ann: map[string]string{"azure-load-balancer-resource-group": "rg."}, errs: []string{"azure-load-balancer-resource-group"}},
		{name: "resource group too long", ann: map[string]string{"azure-pls-resource-group": strings.Repeat("r", 91), "azure-pls-create": "true", "azure-load-balancer-internal": "true"},
			errs: []string{"azure-pls-resource-group"}},
		{name: "prefix id", ann: map[string]string{"azure-pip-prefix-id": "/subscriptions/" + azureSub + "/resourceGroups/rg/providers/microsoft.network/PublicIPPrefixes/pfx"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "PIPPrefixID", strings.HasSuffix(c.PIPPrefixID, "/pfx"), true)
			}},
		{name: "prefix id of another type", ann: map[string]string{"azure-pip-prefix-id": "/subscriptions/" + azureSub + "/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pfx"},
			errs: []string{"azure-pip-prefix-id"}},
		{name: "prefix id bare name", ann: map[string]string{"azure-pip-prefix-id": "pfx"}, errs: []string{"azure-pip-prefix-id"}},
		{name: "prefix id bad subscription", ann: map[string]string{"azure-pip-prefix-id-ipv6": "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/pfx"},
			errs: []string{"azure-pip-prefix-id-ipv6"}},
		{name: "pip tags", ann: map[string]string{"azure-pip-tags": "team=a, empty="},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "PIPTags", c.PIPTags, map[string]string{"team": "a", "empty": ""})
			}},
		{name: "pip tag without =", ann: map[string]string{"azure-pip-tags": "team=a,orphan"}, errs: []string{"azure-pip-tags"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "PIPTags", len(c.PIPTags), 0) }},
		{name: "pip tag key with slash", ann: map[string]string{"azure-pip-tags": "a/b=c"}, errs: []string{"azure-pip-tags"}},
		{name: "pip tag value too long", ann: map[string]string{"azure-pip-tags": "a=" + strings.Repeat("v", 257)}, errs: []string{"azure-pip-tags"}},
		{name: "pip tag key 512", ann: map[string]string{"azure-pip-tags": strings.Repeat("k", 512) + "=v"}},
		{name: "pip tag key 513", ann: map[string]string{"azure-pip-tags": strings.Repeat("k", 513) + "=v"}, errs: []string{"azure-pip-tags"}},
		{name: "pip ip tags", ann: map[string]string{"azure-pip-ip-tags": "RoutingPreference=Internet"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "PIPIPTags", c.PIPIPTags, map[string]string{"RoutingPreference": "Internet"})
			}},
		{name: "pip ip tag without tag", ann: map[string]string{"azure-pip-ip-tags": "RoutingPreference"}, errs: []string{"azure-pip-ip-tags"}},
		{name: "service tags", ann: map[string]string{"azure-allowed-service-tags": "AzureFrontDoor.Backend, Internet"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "AllowedServiceTags", c.AllowedServiceTags, []string{"AzureFrontDoor.Backend", "Internet"})
				azureEq(t, "AllowFromInternet", c.AllowFromInternet, false)
			}},
		{name: "service tag with space", ann: map[string]string{"azure-allowed-service-tags": "Azure Front Door"}, errs: []string{"azure-allowed-service-tags"}},
		{name: "mode ignored", ann: map[string]string{"azure-load-balancer-mode": "__auto__"}, warns: []string{"azure-load-balancer-mode"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "Mode", c.Mode, []string{"__auto__"}) }},
		{name: "shared security rule unsupported", ann: map[string]string{"azure-shared-securityrule": "true"}, warns: []string{"azure-shared-securityrule"}},
	})
}

func TestAzureAccess(t *testing.T) {
	t.Parallel()
	specRanges := func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"198.51.100.0/24"} }
	azureRun(t, []azureCase{
		{name: "allowed ranges v4 and v6", ann: map[string]string{"azure-allowed-ip-ranges": "10.0.0.0/8,2001:db8::/32"},
			check: func(t *testing.T, c *AzureConfig) {
				want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
				azureEq(t, "AllowedIPRanges", c.AllowedIPRanges, want)
				azureEq(t, "SourceRanges", c.SourceRanges, want)
				azureEq(t, "AllowFromInternet", c.AllowFromInternet, false)
			}},
		{name: "allowed ranges merged with core annotation", ann: map[string]string{"azure-allowed-ip-ranges": "10.0.0.0/8", "load-balancer-source-ranges": "192.0.2.0/24"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "SourceRanges", c.SourceRanges, []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("10.0.0.0/8")})
			}},
		{name: "invalid allowed range is an error", ann: map[string]string{"azure-allowed-ip-ranges": "10.0.0.0/8,10.0.0.0/33"}, errs: []string{"azure-allowed-ip-ranges"}},
		{name: "allowed ranges with spec ranges", ann: map[string]string{"azure-allowed-ip-ranges": "10.0.0.0/8"}, mod: specRanges, errs: []string{"azure-allowed-ip-ranges"}},
		{name: "service tags with spec ranges", ann: map[string]string{"azure-allowed-service-tags": "AzureFrontDoor.Backend"}, mod: specRanges,
			warns: []string{"azure-allowed-service-tags"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "SourceRanges", c.SourceRanges, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")})
			}},
		{name: "deny all without ranges", ann: map[string]string{"azure-deny-all-except-load-balancer-source-ranges": "true"},
			warns: []string{"azure-deny-all-except-load-balancer-source-ranges"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "DenyAll", c.DenyAllExceptLoadBalancerSourceRanges, false)
			}},
		{name: "deny all with ranges", ann: map[string]string{"azure-deny-all-except-load-balancer-source-ranges": "true", "azure-allowed-ip-ranges": "10.0.0.0/8"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "DenyAll", c.DenyAllExceptLoadBalancerSourceRanges, true)
			}},
		{name: "internal explicitly allowing all", ann: map[string]string{"azure-load-balancer-internal": "true", "azure-allowed-ip-ranges": "0.0.0.0/0"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "AllowFromInternet", c.AllowFromInternet, true) }},
		{name: "disable nsg rule", ann: map[string]string{"azure-disable-load-balancer-nsg-rule": "true"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "DisableNSGRule", c.DisableNSGRule, true) }},
	})
}

func TestAzureCrossField(t *testing.T) {
	t.Parallel()
	internal := "azure-load-balancer-internal"
	azureRun(t, []azureCase{
		{name: "annotation wins over spec.loadBalancerIP", ann: map[string]string{"azure-load-balancer-ipv4": "10.0.0.6"},
			mod: func(s *v1.Service) { s.Spec.LoadBalancerIP = "10.0.0.5" }, warns: []string{"azure-load-balancer-ipv4"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "LoadBalancerIPv4", c.LoadBalancerIPv4, netip.MustParseAddr("10.0.0.6"))
			}},
		{name: "spec.loadBalancerIP alone", mod: func(s *v1.Service) { s.Spec.LoadBalancerIP = "10.0.0.5" }, warns: []string{"spec.loadBalancerIP"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "LoadBalancerIPv4", c.LoadBalancerIPv4, netip.MustParseAddr("10.0.0.5"))
			}},
		{name: "spec.loadBalancerIP invalid", mod: func(s *v1.Service) { s.Spec.LoadBalancerIP = "10.0.0" }, errs: []string{"spec.loadBalancerIP"}},
		{name: "ipv6 pin on IPv4-only Service", ann: map[string]string{"azure-load-balancer-ipv6": "2001:db8::1"}, warns: []string{"azure-load-balancer-ipv6"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "LoadBalancerIPv6", c.LoadBalancerIPv6.IsValid(), false)
			}},
		{name: "dual-stack pins", ann: map[string]string{"azure-load-balancer-ipv4": "10.0.0.6", "azure-load-balancer-ipv6": "fd00::6"},
			mod: func(s *v1.Service) { s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol} },
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "LoadBalancerIPv6", c.LoadBalancerIPv6, netip.MustParseAddr("fd00::6"))
			}},
		{name: "configurations lower-cased", ann: map[string]string{"azure-load-balancer-configurations": "LB1, lb2"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "Configurations", c.Configurations, []string{"lb1", "lb2"})
			}},
		{name: "configurations with pinned IP", ann: map[string]string{"azure-load-balancer-configurations": "lb1", "azure-load-balancer-ipv4": "20.0.0.1"},
			errs: []string{"azure-load-balancer-configurations"}},
		{name: "configurations with pip name", ann: map[string]string{"azure-load-balancer-configurations": "lb1", "azure-pip-name": "pip"},
			errs: []string{"azure-load-balancer-configurations"}},
		{name: "HA ports external", ann: map[string]string{"azure-load-balancer-enable-high-availability-ports": "true"},
			warns: []string{"azure-load-balancer-enable-high-availability-ports"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "HAPorts", c.HAPorts, false) }},
		{name: "HA ports internal", ann: map[string]string{"azure-load-balancer-enable-high-availability-ports": "true", internal: "true"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "HAPorts", c.HAPorts, true) }},
		{name: "internal subnet on external", ann: map[string]string{"azure-load-balancer-internal-subnet": "snet"},
			warns: []string{"azure-load-balancer-internal-subnet"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "InternalSubnet", c.InternalSubnet, "") }},
		{name: "internal subnet", ann: map[string]string{"azure-load-balancer-internal-subnet": "snet", internal: "true"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "InternalSubnet", c.InternalSubnet, "snet") }},
		{name: "public IP keys on internal", ann: map[string]string{internal: "true", "azure-pip-name": "pip", "azure-dns-label-name": "app"},
			warns: []string{"azure-pip-name", "azure-dns-label-name"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "PIPName", c.PIPName, "")
				azureEq(t, "DNSLabelName", c.DNSLabelName, (*string)(nil))
			}},
		{name: "floating IP off without node ports", ann: map[string]string{"azure-disable-load-balancer-floating-ip": "true"},
			mod:  func(s *v1.Service) { f := false; s.Spec.AllocateLoadBalancerNodePorts = &f },
			errs: []string{"azure-disable-load-balancer-floating-ip"}},
		{name: "SCTP external", mod: func(s *v1.Service) { s.Spec.Ports[1].Protocol = v1.ProtocolSCTP }, errs: []string{"spec.ports[1].protocol"}},
		{name: "SCTP internal", ann: map[string]string{internal: "true"}, mod: func(s *v1.Service) { s.Spec.Ports[1].Protocol = v1.ProtocolSCTP },
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "SCTP probe", c.Ports[443].Probe, (*AzureProbe)(nil)) }},
	})
}

func TestAzureProbeResolution(t *testing.T) {
	t.Parallel()
	appHTTP := func(s *v1.Service) { a := "HTTP"; s.Spec.Ports[0].AppProtocol = &a }
	azureRun(t, []azureCase{
		{name: "appProtocol chooses the probe", mod: appHTTP, check: func(t *testing.T, c *AzureConfig) {
			azureEq(t, "probe 80", *c.Ports[80].Probe, AzureProbe{Protocol: "Http", Port: 30080, RequestPath: "/", IntervalSeconds: 5, NumOfProbe: 2})
			azureEq(t, "probe 443", c.Ports[443].Probe.Protocol, "Tcp")
		}},
		{name: "per-port protocol beats appProtocol", mod: appHTTP, ann: map[string]string{"port_80_health-probe_protocol": "https", "port_80_health-probe_request-path": "/hz"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "probe 80", [2]string{c.Ports[80].Probe.Protocol, c.Ports[80].Probe.RequestPath}, [2]string{"Https", "/hz"})
			}},
		{name: "appProtocol beats global", mod: appHTTP, ann: map[string]string{"azure-load-balancer-health-probe-protocol": "Https"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "protocols", [2]string{c.Ports[80].Probe.Protocol, c.Ports[443].Probe.Protocol}, [2]string{"Http", "Https"})
			}},
		{name: "unknown appProtocol falls back to global", ann: map[string]string{"azure-load-balancer-health-probe-protocol": "Http"},
			mod:   func(s *v1.Service) { a := "kubernetes.io/h2c"; s.Spec.Ports[0].AppProtocol = &a },
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "protocol", c.Ports[80].Probe.Protocol, "Http") }},
		{name: "per-port path on Tcp probe", ann: map[string]string{"port_80_health-probe_request-path": "/hz"}, warns: []string{"port_80_health-probe_request-path"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "path", c.Ports[80].Probe.RequestPath, "") }},
		{name: "global path on Tcp probes", ann: map[string]string{"azure-load-balancer-health-probe-request-path": "/hz"},
			warns: []string{"azure-load-balancer-health-probe-request-path"}},
		{name: "no_lb_rule and no_probe_rule", ann: map[string]string{"port_80_no_lb_rule": "true", "port_443_no_probe_rule": "TRUE", "port_443_health-probe_interval": "10"},
			warns: []string{"port_443_health-probe_interval"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "80", [2]bool{c.Ports[80].NoLBRule, c.Ports[80].Probe == nil}, [2]bool{true, true})
				azureEq(t, "443", [2]bool{c.Ports[443].NoProbeRule, c.Ports[443].Probe == nil}, [2]bool{true, true})
			}},
		{name: "UDP port gets no probe", ann: map[string]string{"port_53_health-probe_protocol": "Tcp"}, warns: []string{"port_53_health-probe_protocol"},
			mod: func(s *v1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Port: 53, Protocol: v1.ProtocolUDP, NodePort: 30053})
			},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "53", c.Ports[53].Probe, (*AzureProbe)(nil))
				azureEq(t, "53 protocols", c.Ports[53].Protocols, []v1.Protocol{v1.ProtocolUDP})
			}},
		{name: "TCP and UDP on one port", mod: func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "http-udp", Port: 80, Protocol: v1.ProtocolUDP, NodePort: 30081})
		}, check: func(t *testing.T, c *AzureConfig) {
			azureEq(t, "80 protocols", c.Ports[80].Protocols, []v1.Protocol{v1.ProtocolTCP, v1.ProtocolUDP})
			azureEq(t, "80 probe port", c.Ports[80].Probe.Port, int32(30080))
		}},
		{name: "Local with per-port probe port", mod: azureLocal, ann: map[string]string{"port_80_health-probe_port": "80", "port_80_health-probe_protocol": "Http"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "80", *c.Ports[80].Probe, AzureProbe{Protocol: "Http", Port: 30080, RequestPath: "/", IntervalSeconds: 5, NumOfProbe: 2})
				azureEq(t, "443", c.Ports[443].Probe.HealthCheckNodePort, true)
			}},
		{name: "Local ignores global protocol", mod: azureLocal, ann: map[string]string{"azure-load-balancer-health-probe-protocol": "Https"},
			warns: []string{"azure-load-balancer-health-probe-protocol"}},
		{name: "Local ignores per-port interval", mod: azureLocal, ann: map[string]string{"port_80_health-probe_interval": "10"},
			warns: []string{"port_80_health-probe_interval"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "interval", c.Ports[80].Probe.IntervalSeconds, int32(5))
			}},
		{name: "Local uses global interval", mod: azureLocal, ann: map[string]string{"azure-load-balancer-health-probe-interval": "10"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "interval", c.Ports[80].Probe.IntervalSeconds, int32(10))
			}},
		{name: "Local with PLS proxy protocol probes per port", mod: azureLocal,
			ann: map[string]string{"azure-load-balancer-internal": "true", "azure-pls-create": "true", "azure-pls-proxy-protocol": "true"},
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "80", *c.Ports[80].Probe, AzureProbe{Protocol: "Tcp", Port: 30080, IntervalSeconds: 5, NumOfProbe: 2})
			}},
	})
}

func TestAzurePLS(t *testing.T) {
	t.Parallel()
	pls := func(kv ...string) map[string]string {
		m := map[string]string{"azure-load-balancer-internal": "true", "azure-pls-create": "true"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	sub2 := "11111111-2222-3333-4444-555555555555"
	azureRun(t, []azureCase{
		{name: "defaults", ann: pls("azure-load-balancer-internal-subnet", "snet"), check: func(t *testing.T, c *AzureConfig) {
			azureEq(t, "PLS", *c.PLS, AzurePLSConfig{Subnet: "snet", IPCount: 1})
		}},
		{name: "full", ann: pls("azure-pls-name", "my-pls", "azure-pls-resource-group", "plsrg", "azure-pls-ip-configuration-subnet", "plssnet",
			"azure-pls-ip-configuration-ip-address-count", "2", "azure-pls-ip-configuration-ip-address", "10.0.0.4  10.0.0.5",
			"azure-pls-fqdns", "a.example.com b.example.com", "azure-pls-proxy-protocol", "true",
			"azure-pls-visibility", azureSub+" "+sub2, "azure-pls-auto-approval", sub2),
			check: func(t *testing.T, c *AzureConfig) {
				azureEq(t, "PLS", *c.PLS, AzurePLSConfig{Name: "my-pls", ResourceGroup: "plsrg", Subnet: "plssnet", IPCount: 2,
					IPAddresses: []netip.Addr{netip.MustParseAddr("10.0.0.4"), netip.MustParseAddr("10.0.0.5")},
					FQDNs:       []string{"a.example.com", "b.example.com"}, ProxyProtocol: true,
					Visibility: []string{azureSub, sub2}, AutoApproval: []string{sub2}})
			}},
		{name: "external with floating IP", ann: map[string]string{"azure-pls-create": "true"}, errs: []string{"azure-pls-create"}},
		{name: "external without floating IP", ann: map[string]string{"azure-pls-create": "true", "azure-disable-load-balancer-floating-ip": "true"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "PLS set", c.PLS != nil, true) }},
		{name: "IPv6-only", ann: pls(), mod: func(s *v1.Service) { s.Spec.IPFamilies = []v1.IPFamily{v1.IPv6Protocol} }, errs: []string{"azure-pls-create"}},
		{name: "dual-stack", ann: pls(), mod: func(s *v1.Service) { s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol} },
			warns: []string{"azure-pls-create"}},
		{name: "more addresses than count", ann: pls("azure-pls-ip-configuration-ip-address", "10.0.0.4 10.0.0.5"), errs: []string{"azure-pls-ip-configuration-ip-address"}},
		{name: "count 9", ann: pls("azure-pls-ip-configuration-ip-address-count", "9"), errs: []string{"azure-pls-ip-configuration-ip-address-count"}},
		{name: "count 0", ann: pls("azure-pls-ip-configuration-ip-address-count", "0"), errs: []string{"azure-pls-ip-configuration-ip-address-count"}},
		{name: "count 8", ann: pls("azure-pls-ip-configuration-ip-address-count", "8"),
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "IPCount", c.PLS.IPCount, int32(8)) }},
		{name: "comma-separated addresses", ann: pls("azure-pls-ip-configuration-ip-address-count", "2", "azure-pls-ip-configuration-ip-address", "10.0.0.4,10.0.0.5"),
			errs: []string{"azure-pls-ip-configuration-ip-address"}},
		{name: "IPv6 address", ann: pls("azure-pls-ip-configuration-ip-address", "fd00::4"), errs: []string{"azure-pls-ip-configuration-ip-address"}},
		{name: "duplicate address", ann: pls("azure-pls-ip-configuration-ip-address-count", "2", "azure-pls-ip-configuration-ip-address", "10.0.0.4 10.0.0.4"),
			errs: []string{"azure-pls-ip-configuration-ip-address"}},
		{name: "bad fqdn", ann: pls("azure-pls-fqdns", "a..example.com"), errs: []string{"azure-pls-fqdns"}},
		{name: "visibility star", ann: pls("azure-pls-visibility", "*"),
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "Visibility", c.PLS.Visibility, []string{"*"}) }},
		{name: "visibility star with subscriptions", ann: pls("azure-pls-visibility", "* "+azureSub), warns: []string{"azure-pls-visibility"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "Visibility", c.PLS.Visibility, []string{"*"}) }},
		{name: "visibility not a GUID", ann: pls("azure-pls-visibility", "my-subscription"), errs: []string{"azure-pls-visibility"}},
		{name: "auto-approval star", ann: pls("azure-pls-auto-approval", "*"), errs: []string{"azure-pls-auto-approval"}},
		{name: "auto-approval outside visibility", ann: pls("azure-pls-visibility", azureSub, "azure-pls-auto-approval", sub2), warns: []string{"azure-pls-auto-approval"}},
		{name: "PLS keys without create", ann: map[string]string{"azure-pls-name": "my-pls"}, warns: []string{"azure-pls-name"},
			check: func(t *testing.T, c *AzureConfig) { azureEq(t, "PLS", c.PLS, (*AzurePLSConfig)(nil)) }},
		{name: "PLS name rules", ann: pls("azure-pls-name", "my pls"), errs: []string{"azure-pls-name"}},
	})
}

// TestAzureNotImplementedWarns checks that valid keys of features the Azure provider does not
// build (multiple Standard load balancers) warn instead of passing silently.
func TestAzureNotImplementedWarns(t *testing.T) {
	t.Parallel()
	for key, value := range map[string]string{
		AzureConfigurations.Key: "lb1",
	} {
		svc := &v1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc", Annotations: map[string]string{key: value}},
			Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, IPFamilies: []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol},
				Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}}},
		}
		_, problems := Parse(svc, Azure)
		found := false
		for _, p := range problems {
			found = found || p.Key == key && p.Severity == Warning && strings.Contains(p.Reason, "not implemented")
		}
		if !found || problems.HasErrors() {
			t.Errorf("%s: problems %v, want one not-implemented warning and no error", key, problems)
		}
	}
}
