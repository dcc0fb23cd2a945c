package aws

import (
	"errors"
	"maps"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/internal/golden"
	"github.com/cloudlb/cloudlb/providers"
)

const ann = "service.beta.kubernetes.io/aws-load-balancer-"

// vpcSubnets are the discovery input of the golden tests: two public zones (one with two
// candidates), a private subnet, and another cluster's subnet that must never be picked.
var vpcSubnets = []Subnet{
	{ID: "subnet-0a2", Zone: "us-east-1a", Public: true, Tags: map[string]string{"kubernetes.io/cluster/demo": "shared"}},
	{ID: "subnet-0a1", Zone: "us-east-1a", Public: true, CIDR: "10.0.1.0/24", Tags: map[string]string{"kubernetes.io/role/elb": "1", "Name": "pub-a"}},
	{ID: "subnet-0b1", Zone: "us-east-1b", Public: true, CIDR: "10.0.2.0/24"},
	{ID: "subnet-0c1", Zone: "us-east-1c", Tags: map[string]string{"kubernetes.io/role/internal-elb": "1", "Name": "priv-c"}},
	{ID: "subnet-0d1", Zone: "us-east-1d", Public: true, Tags: map[string]string{"kubernetes.io/cluster/other": "owned"}},
}

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

func testNodes() []*v1.Node {
	mk := func(name, id string, labels map[string]string) *v1.Node {
		return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: v1.NodeSpec{ProviderID: "aws:///us-east-1a/" + id}}
	}
	return []*v1.Node{
		mk("n3", "i-0000000000000003", map[string]string{"pool": "edge"}),
		mk("n1", "i-0000000000000001", map[string]string{"pool": "web", "gpu": "no"}),
		mk("n2", "i-0000000000000002", map[string]string{"pool": "web"}),
		mk("fargate", "", nil),
	}
}

func build(t *testing.T, svc *v1.Service, settings Settings) (*Model, error) {
	t.Helper()
	cfg, problems := annotations.Parse(svc, annotations.AWS)
	if err := problems.Err(cfg.Service); err != nil {
		t.Fatalf("annotations: %v", err)
	}
	if settings.Cluster == "" {
		settings.Cluster = "demo"
	}
	return Build(Input{Service: svc, Nodes: testNodes(), AWS: cfg.AWS, Core: cfg.Core, Settings: settings, Subnets: vpcSubnets})
}

func TestBuildGolden(t *testing.T) {
	t.Parallel()
	local := func(s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32000
	}
	tests := []struct {
		name     string
		svc      *v1.Service
		settings Settings
	}{
		{"defaults", testService(nil), Settings{}},
		{"tls", testService(map[string]string{
			ann + "ssl-cert": "arn:aws:acm:us-east-1:123456789012:certificate/abc", ann + "ssl-ports": "https",
			ann + "backend-protocol": "https", ann + "ssl-negotiation-policy": "ELBSecurityPolicy-TLS-1-2-2017-01",
		}), Settings{}},
		{"tls-all-ports-tcp-backend", testService(map[string]string{ann + "ssl-cert": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}), Settings{}},
		{"attributes", testService(map[string]string{
			ann + "access-log-enabled": "true", ann + "access-log-s3-bucket-name": "logs", ann + "access-log-s3-bucket-prefix": "lb",
			ann + "access-log-emit-interval": "60", ann + "connection-draining-enabled": "true", ann + "connection-draining-timeout": "120",
			ann + "connection-idle-timeout": "300", ann + "cross-zone-load-balancing-enabled": "true",
		}), Settings{}},
		{"healthcheck-cluster", testService(map[string]string{
			ann + "healthcheck-protocol": "HTTP", ann + "healthcheck-path": "/ready", ann + "healthcheck-interval": "20",
			ann + "healthcheck-timeout": "4", ann + "healthcheck-healthy-threshold": "3", ann + "healthcheck-unhealthy-threshold": "4",
		}), Settings{}},
		{"healthcheck-local", testService(nil, local), Settings{}},
		{"proxy-protocol", testService(map[string]string{ann + "proxy-protocol": "*"}), Settings{}},
		{"source-ranges", testService(map[string]string{ann + "extra-security-groups": "sg-0e0e0e0e0e0e0e0e0"}, func(s *v1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8", "2001:db8::/32"}
		}), Settings{}},
		{"security-groups", testService(map[string]string{ann + "security-groups": "sg-0a0a0a0a0a0a0a0a0,sg-0b0b0b0b0b0b0b0b0", ann + "extra-security-groups": "sg-0e0e0e0e0e0e0e0e0"}), Settings{}},
		{"elb-security-group", testService(nil), Settings{ElbSecurityGroup: "sg-0c0c0c0c0c0c0c0c0"}},
		{"name", testService(map[string]string{ann + "name": "shop-web"}), Settings{}},
		{"no-icmp", testService(map[string]string{ann + "enable-icmp-for-path-mtu-discovery": "off"}), Settings{}},
		{"internal", testService(map[string]string{ann + "internal": "true"}), Settings{}},
		{"subnets", testService(map[string]string{ann + "subnets": "subnet-0123abcd,priv-c"}), Settings{}},
		{"tags", testService(map[string]string{ann + "additional-resource-tags": "team=shop,cost-center=42,empty="}), Settings{}},
		{"node-labels", testService(map[string]string{ann + "target-node-labels": "pool=web,gpu"}), Settings{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := build(t, tt.svc, tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			golden.JSON(t, tt.name, m)
		})
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		svc     *v1.Service
		subnets []Subnet
		user    bool
	}{
		{"udp", testService(nil, func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolUDP; s.Spec.Ports = s.Spec.Ports[:1] }), vpcSubnets, true},
		{"no node ports", testService(nil, func(s *v1.Service) {
			for i := range s.Spec.Ports {
				s.Spec.Ports[i].NodePort = 0
			}
		}), vpcSubnets, true},
		{"no public subnet", testService(nil), []Subnet{{ID: "subnet-1", Zone: "a"}}, true},
		{"unknown subnet name", testService(map[string]string{ann + "subnets": "nope"}), vpcSubnets, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _ := annotations.Parse(tt.svc, annotations.AWS)
			_, err := Build(Input{Service: tt.svc, AWS: cfg.AWS, Core: cfg.Core, Settings: Settings{Cluster: "demo"}, Subnets: tt.subnets})
			if err == nil {
				t.Fatal("no error")
			}
			var ue *providers.UserError
			if errors.As(err, &ue) != tt.user {
				t.Errorf("err = %v, user error %v", err, tt.user)
			}
		})
	}
}

func TestInstanceID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"aws:///us-east-1a/i-0abc": "i-0abc", "aws://us-east-1a/i-1": "i-1", "gce://p/z/n": "", "aws:///us-east-1a/": "", "": "",
	} {
		if got := instanceID(in); got != want {
			t.Errorf("instanceID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBuildNLBGolden(t *testing.T) {
	t.Parallel()
	managed := Settings{Cluster: "demo", NLBManagedSecurityGroups: true}
	tests := []struct {
		name     string
		svc      *v1.Service
		settings Settings
	}{
		{"nlb", testService(map[string]string{ann + "type": "nlb", ann + "ssl-cert": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
			ann + "ssl-ports": "443", ann + "ssl-negotiation-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06", ann + "cross-zone-load-balancing-enabled": "true",
			ann + "proxy-protocol": "*", ann + "target-group-attributes": "preserve_client_ip.enabled=false,deregistration_delay.timeout_seconds=30"}), Settings{}},
		{"nlb-udp-local", testService(map[string]string{ann + "type": "nlb"}, func(s *v1.Service) {
			s.Spec.Ports = []v1.ServicePort{{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053}}
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 32001
		}), Settings{}},
		// Managed group: listener ports from the source ranges and prefix lists, node rules
		// from the group (its ID is known at apply), PrivateLink rules off.
		{"nlb-managed-sg", testService(map[string]string{ann + "type": "nlb", ann + "security-group-prefix-lists": "pl-0a0a0a0a,pl-0b0b0b0b",
			ann + "inbound-sg-rules-on-private-link-traffic": "off"}, func(s *v1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8", "2001:db8::/32"}
		}), managed},
		// The user's groups: attached, no rule managed anywhere (manage-backend defaults off).
		{"nlb-byo-sg", testService(map[string]string{ann + "type": "nlb", ann + "security-groups": "sg-0b0b0b0b0b0b0b0b0,sg-0a0a0a0a0a0a0a0a0"}), managed},
		// The user's groups with node rules asked for: the first group is let in.
		{"nlb-byo-sg-backend-rules", testService(map[string]string{ann + "type": "nlb", ann + "security-groups": "sg-0b0b0b0b0b0b0b0b0,sg-0a0a0a0a0a0a0a0a0",
			ann + "manage-backend-security-group-rules": "true"}, func(s *v1.Service) {
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 32001
		}), Settings{Cluster: "demo"}},
		// One TCP_UDP listener for a port served over TCP and UDP, rules for both protocols.
		{"nlb-tcp-udp", testService(map[string]string{ann + "type": "nlb", ann + "enable-tcp-udp-listener": "true"}, func(s *v1.Service) {
			s.Spec.Ports = []v1.ServicePort{{Name: "dns", Protocol: v1.ProtocolTCP, Port: 53, NodePort: 30053}, {Name: "dns-udp", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053},
				{Name: "stats", Protocol: v1.ProtocolUDP, Port: 8125, NodePort: 30125}}
		}), managed},
		{"nlb-disable-sg", testService(map[string]string{ann + "type": "nlb", ann + "disable-nlb-sg": "true"}), managed},
		// Dualstack: ::/0 joins the default source range, IPv6 pins, ALPN on the TLS listener.
		{"nlb-dualstack", testService(map[string]string{
			ann + "type":                              "nlb",
			ann + "ip-address-type":                   "dualstack",
			ann + "ipv6-addresses":                    "2600:1f18::10,2600:1f18::20",
			ann + "enable-prefix-for-ipv6-source-nat": "on",
			ann + "source-nat-ipv6-prefixes":          "auto_assigned,2600:1f18:0:1::/80",
			ann + "ssl-cert":                          "arn:aws:acm:us-east-1:123456789012:certificate/abc",
			ann + "ssl-ports":                         "443",
			ann + "alpn-policy":                       "HTTP2Preferred",
		}), managed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, problems := annotations.Parse(tt.svc, annotations.AWS)
			if err := problems.Err(cfg.Service); err != nil {
				t.Fatal(err)
			}
			settings := tt.settings
			settings.Cluster = "demo"
			m, err := BuildNLB(Input{Service: tt.svc, Nodes: testNodes(), AWS: cfg.AWS, Core: cfg.Core, Settings: settings, Subnets: vpcSubnets})
			if err != nil {
				t.Fatal(err)
			}
			golden.JSON(t, tt.name, m)
		})
	}
}

// TestBuildNLBSecurityGroupErrors checks that keys acting on the NLB's groups are user errors
// when it has none and nothing said so, and fine once it has some.
func TestBuildNLBSecurityGroupErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ann      map[string]string
		settings Settings
		wantErr  bool
		// wantOff is whether PrivateLink traffic skips the groups' rules.
		wantOff bool
	}{
		{"prefix lists without groups", map[string]string{ann + "security-group-prefix-lists": "pl-0a0a0a0a"}, Settings{}, true, false},
		{"private link off without groups", map[string]string{ann + "inbound-sg-rules-on-private-link-traffic": "off"}, Settings{}, true, false},
		{"prefix lists with managed group", map[string]string{ann + "security-group-prefix-lists": "pl-0a0a0a0a"}, Settings{NLBManagedSecurityGroups: true}, false, false},
		{"private link off with own groups", map[string]string{ann + "inbound-sg-rules-on-private-link-traffic": "off", ann + "security-groups": "sg-0a0a0a0a0a0a0a0a0"}, Settings{}, false, true},
		{"private link off with groups disabled", map[string]string{ann + "inbound-sg-rules-on-private-link-traffic": "off", ann + "disable-nlb-sg": "true"}, Settings{NLBManagedSecurityGroups: true}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := map[string]string{ann + "type": "nlb"}
			maps.Copy(a, tt.ann)
			svc := testService(a)
			cfg, problems := annotations.Parse(svc, annotations.AWS)
			if err := problems.Err(cfg.Service); err != nil {
				t.Fatal(err)
			}
			tt.settings.Cluster = "demo"
			m, err := BuildNLB(Input{Service: svc, Nodes: testNodes(), AWS: cfg.AWS, Core: cfg.Core, Settings: tt.settings, Subnets: vpcSubnets})
			var ue *providers.UserError
			if tt.wantErr != errors.As(err, &ue) || !tt.wantErr && err != nil {
				t.Fatalf("err = %v, want user error %v", err, tt.wantErr)
			}
			if tt.wantErr && !strings.Contains(err.Error(), "NLBSecurityGroupMode") {
				t.Errorf("error %q does not say how to fix it", err)
			}
			if !tt.wantErr && (m.PrivateLinkInboundRules == "off") != tt.wantOff {
				t.Errorf("PrivateLinkInboundRules = %q, want off %v", m.PrivateLinkInboundRules, tt.wantOff)
			}
		})
	}
}
