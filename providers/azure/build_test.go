package azure

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/annotations"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const ann = "service.beta.kubernetes.io/"

func testService(annotations map[string]string, mutate ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: types.UID("5f3e1c2a-8b7d-4e6f-9a1b-2c3d4e5f6a7b"), Annotations: annotations},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeLoadBalancer,
			Ports: []v1.ServicePort{
				{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443},
				{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
			},
		},
	}
	for _, f := range mutate {
		f(svc)
	}
	return svc
}

func node(name, ip string, labels map[string]string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeHostName, Address: name}, {Type: v1.NodeInternalIP, Address: ip}}}}
}

func testNodes() []*v1.Node {
	return []*v1.Node{
		node("n2", "10.240.0.5", nil),
		node("n1", "10.240.0.4", map[string]string{"pool": "web"}),
		node("cp", "10.240.0.10", map[string]string{labelControlPlane: ""}),
		node("excluded", "10.240.0.11", map[string]string{labelExcludeLB: "true"}),
		{ObjectMeta: metav1.ObjectMeta{Name: "no-ip"}},
	}
}

func testSettings() Settings {
	cc := &CloudConfig{SubscriptionID: "sub", ResourceGroup: "rg", Location: "westeurope", VNetName: "vnet", SubnetName: "nodes",
		SecurityGroupName: "cluster-nsg", LoadBalancerResourceGroup: "rg-lb"}
	if err := cc.complete(); err != nil {
		panic(err)
	}
	return cc.settings("demo")
}

func build(t *testing.T, svc *v1.Service, s Settings) (*Model, error) {
	t.Helper()
	cfg, problems := annotations.Parse(svc, annotations.Azure)
	if err := problems.Err(cfg.Service); err != nil {
		t.Fatalf("annotations: %v", err)
	}
	return Build(Input{Service: svc, Nodes: testNodes(), Azure: cfg.Azure, Settings: s})
}

func TestBuildGolden(t *testing.T) {
	t.Parallel()
	local := func(s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32000
	}
	shared := testSettings()
	shared.SharedProbe = &SharedProbe{Port: 10256, Path: "/healthz"}
	tests := []struct {
		name     string
		svc      *v1.Service
		settings *Settings
	}{
		{"defaults", testService(nil), nil},
		{"internal", testService(map[string]string{ann + "azure-load-balancer-internal": "true", ann + "azure-load-balancer-ipv4": "10.240.1.20"}), nil},
		{"internal-subnet-ha-ports", testService(map[string]string{ann + "azure-load-balancer-internal": "true", ann + "azure-load-balancer-internal-subnet": "ilb",
			ann + "azure-load-balancer-enable-high-availability-ports": "true"}), nil},
		{"rule-settings", testService(map[string]string{ann + "azure-load-balancer-disable-tcp-reset": "true", ann + "azure-load-balancer-tcp-idle-timeout": "30"},
			func(s *v1.Service) {
				s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
				s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053})
			}), nil},
		{"floating-ip-disabled", testService(map[string]string{ann + "azure-disable-load-balancer-floating-ip": "true"}), nil},
		{"probe-local", testService(nil, local), nil},
		{"probe-shared", testService(nil), &shared},
		{"probe-per-port", testService(map[string]string{
			ann + "azure-load-balancer-health-probe-protocol": "http", ann + "azure-load-balancer-health-probe-request-path": "/ready",
			ann + "port_443_health-probe_protocol": "tcp", ann + "port_443_health-probe_interval": "10",
			ann + "port_8080_no_lb_rule": "true", ann + "port_9090_no_probe_rule": "true",
		}, func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "admin", Protocol: v1.ProtocolTCP, Port: 8080, NodePort: 30808},
				v1.ServicePort{Name: "metrics", Protocol: v1.ProtocolTCP, Port: 9090, NodePort: 30909})
		}), nil},
		{"nsg-source-ranges", testService(map[string]string{ann + "azure-deny-all-except-load-balancer-source-ranges": "true",
			ann + "azure-allowed-service-tags": "AzureFrontDoor.Backend"}, func(s *v1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24", "198.51.100.0/24"}
		}), nil},
		{"nsg-disabled", testService(map[string]string{ann + "azure-disable-load-balancer-nsg-rule": "true"}), nil},
		{"pip-extras", testService(map[string]string{ann + "azure-pip-tags": "team=shop,cost=42", ann + "azure-pip-ip-tags": "RoutingPreference=Internet",
			ann + "azure-dns-label-name": "shop-web", ann + "azure-pip-prefix-id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network/publicIPPrefixes/pfx",
			ann + "azure-load-balancer-resource-group": "rg-ips", ann + "azure-additional-public-ips": "20.1.2.3"}), nil},
		{"pip-name", testService(map[string]string{ann + "azure-pip-name": "my-ip"}), nil},
		{"pip-address", testService(map[string]string{ann + "azure-load-balancer-ipv4": "20.0.0.9"}), nil},
		{"dual-stack-internal", testService(map[string]string{ann + "azure-load-balancer-internal": "true", ann + "azure-load-balancer-internal-subnet": "ilb",
			ann + "azure-load-balancer-ipv6": "fd00::20", ann + "azure-allowed-ip-ranges": "10.0.0.0/8,fd00::/8"}, dualStackSpec), nil},
		{"dual-stack-public", testService(map[string]string{ann + "azure-pip-prefix-id-ipv6": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network/publicIPPrefixes/pfx6"}, dualStackSpec), &shared},
		{"private-link", testService(map[string]string{ann + "azure-load-balancer-internal": "true", ann + "azure-pls-create": "true",
			ann + "azure-pls-ip-configuration-ip-address-count": "3", ann + "azure-pls-ip-configuration-ip-address": "10.240.9.9",
			ann + "azure-pls-visibility": "*", ann + "azure-pls-fqdns": "a.example b.example"}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testSettings()
			if tt.settings != nil {
				s = *tt.settings
			}
			m, err := build(t, tt.svc, s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("Build(%s) differs from %s (run go test -update after checking):\n%s", tt.name, path, got)
			}
		})
	}
}

// dualStackSpec makes a Service dual-stack.
func dualStackSpec(s *v1.Service) {
	s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}
}

func TestBuildPortPending(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		svc  *v1.Service
	}{
		{"nodePort", testService(nil, func(s *v1.Service) { s.Spec.Ports[0].NodePort = 0 })},
		{"healthCheckNodePort", testService(nil, func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := build(t, tc.svc, testSettings()); !errors.Is(err, errPortPending) {
				t.Fatalf("err = %v, want errPortPending", err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	long := "a-very-long-subnet-name-that-goes-on-and-on-and-on-for-ever-and-ever-and-ever"
	for _, tc := range []struct{ got, want string }{
		{ServicePrefix(testService(nil)), "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"},
		{ruleName("a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", "", v1.ProtocolTCP, 443), "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443"},
		{ruleName("a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", "ilb", v1.ProtocolUDP, 53), "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-ilb-UDP-53"},
		{ruleName("a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", long, v1.ProtocolTCP, 443), "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-a-very-long-subnet-name-that-goes-on-an-TCP-443"},
		{frontendName("a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", "ilb"), "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-ilb"},
		{managedPIPName("demo", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", "/x/publicIPPrefixes/pfx"), "demo-a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-pfx"},
		{ipv6Name("a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"), "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-TCP-443-IPv6"},
		{ipv6Name(ruleName("a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", long, v1.ProtocolTCP, 443), "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"),
			"a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7-y-long-subnet-name-that-goes-on-an-TCP-443-IPv6"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if n := ruleName("a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7", long, v1.ProtocolTCP, 443); len(n) > maxRuleName {
		t.Errorf("rule name %q is %d characters, more than %d", n, len(n), maxRuleName)
	}
	if !ownedBy("A5F3E1C2A8B7D4E6F9A1B2C3D4E5F6A7-TCP-80", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7") || ownedBy("a5f3-TCP-80", "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7") {
		t.Error("ownedBy must be a case-insensitive prefix match")
	}
}
