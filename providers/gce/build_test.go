package gce

import (
	"errors"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/internal/golden"
	"github.com/cloudlb/cloudlb/providers"
)

const (
	testProject = "test-project"
	testRegion  = "us-central1"
)

var testSettings = Settings{
	ClusterID: "demo", Project: testProject, Region: testRegion, NetworkProject: testProject,
	Network:    "projects/test-project/global/networks/default",
	Subnetwork: "projects/test-project/regions/us-central1/subnetworks/default",
}

func testService(ann map[string]string, mutate ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: types.UID("5f3e1c2a-8b7d-4e6f-9a1b-2c3d4e5f6a7b"), Annotations: ann},
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

func testNode(name, zone string, labels map[string]string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: v1.NodeSpec{ProviderID: "gce://" + testProject + "/" + zone + "/" + name}}
}

func testNodes() []*v1.Node {
	return []*v1.Node{
		testNode("n3", "us-central1-b", nil),
		testNode("n1", "us-central1-a", nil),
		testNode("n2", "us-central1-a", nil),
		testNode("other-subnet", "us-central1-a", map[string]string{nodePoolSubnetLabel: "pods-2"}),
		{ObjectMeta: metav1.ObjectMeta{Name: "not-gce"}, Spec: v1.NodeSpec{ProviderID: "aws:///us-east-1a/i-1"}},
	}
}

func local(s *v1.Service) {
	s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	s.Spec.HealthCheckNodePort = 32000
}

// buildFor parses like the provider does and builds; problems with errors fail the test
// unless allowProblems (for models the annotation layer rejects, e.g. mixed protocols).
func buildFor(t *testing.T, svc *v1.Service, allowProblems bool) (*Model, error) {
	t.Helper()
	cfg, rbs, err := config(svc)
	if err != nil {
		if !allowProblems {
			t.Fatalf("annotations: %v", err)
		}
		c, _ := annotations.Parse(svc, annotations.GCE)
		cfg, rbs = c, false
	}
	return Build(Input{Service: svc, Nodes: testNodes(), GCE: cfg.GCE, Core: cfg.Core, Settings: testSettings, NodeTags: []string{"gke-demo-node", "gke-demo-node"}, RBS: rbs})
}

const (
	annType = "networking.gke.io/load-balancer-type"
)

func TestBuildGolden(t *testing.T) {
	t.Parallel()
	sixPorts := func(s *v1.Service) {
		s.Spec.Ports = nil
		for _, p := range []int32{80, 81, 82, 443, 8080, 9000} {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Protocol: v1.ProtocolTCP, Port: p, NodePort: 30000 + p})
		}
	}
	tests := []struct {
		name          string
		svc           *v1.Service
		allowProblems bool
	}{
		{"external-cluster", testService(nil), false},
		{"external-local", testService(nil, local), false},
		{"external-standard-ip-ranges", testService(map[string]string{"cloud.google.com/network-tier": "Standard"}, func(s *v1.Service) {
			s.Spec.LoadBalancerIP = "203.0.113.10"
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"}
			s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		}), false},
		{"external-udp", testService(nil, func(s *v1.Service) {
			s.Spec.Ports = []v1.ServicePort{{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053}}
		}), false},
		{"external-mixed-protocol", testService(nil, func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053})
		}), true},
		{"external-address-name", testService(map[string]string{"networking.gke.io/load-balancer-ip-addresses": "my-ip"}), false},
		{"internal-cluster", testService(map[string]string{annType: "Internal"}), false},
		{"internal-deprecated-key", testService(map[string]string{"cloud.google.com/load-balancer-type": "Internal"}), false},
		{"internal-local-all-ports", testService(map[string]string{annType: "Internal"}, local, sixPorts), false},
		{"internal-options", testService(map[string]string{
			annType: "Internal", "networking.gke.io/internal-load-balancer-allow-global-access": "true",
			"networking.gke.io/internal-load-balancer-subnet": "ilb-subnet", "alpha.cloud.google.com/load-balancer-backend-share": "true",
			"networking.gke.io/connection-draining-timeout": "30s",
		}, func(s *v1.Service) { s.Spec.LoadBalancerIP = "10.128.0.50" }), false},
		{"rbs-local", testService(map[string]string{
			"cloud.google.com/l4-rbs": "enabled", "networking.gke.io/weighted-load-balancing": "pods-per-node",
			"networking.gke.io/l4-strong-session-affinity": "enabled", "networking.gke.io/connection-draining-timeout": "5m",
		}, local, func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := buildFor(t, tt.svc, tt.allowProblems)
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
		user    bool
		pending bool
	}{
		{"sctp", testService(nil, func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolSCTP }), true, false},
		{"no ports", testService(nil, func(s *v1.Service) { s.Spec.Ports = nil }), true, false},
		{"local without health check port", testService(nil, func(s *v1.Service) {
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		}), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _ := annotations.Parse(tt.svc, annotations.GCE)
			_, err := Build(Input{Service: tt.svc, GCE: cfg.GCE, Core: cfg.Core, Settings: testSettings})
			if err == nil {
				t.Fatal("no error")
			}
			var ue *providers.UserError
			if errors.As(err, &ue) != tt.user || errors.Is(err, errPortPending) != tt.pending {
				t.Errorf("err = %v, want user error %v, pending %v", err, tt.user, tt.pending)
			}
		})
	}
}

func TestPortRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []int32
		want []string
	}{
		{[]int32{80}, []string{"80"}},
		{[]int32{80, 81, 82, 443, 8080, 8081}, []string{"80-82", "443", "8080-8081"}},
		{nil, nil},
	}
	for _, tt := range tests {
		got := portRanges(tt.in)
		if len(got) != len(tt.want) {
			t.Fatalf("portRanges(%v) = %v, want %v", tt.in, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("portRanges(%v) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

func TestParseProviderID(t *testing.T) {
	t.Parallel()
	tests := map[string]instanceRef{
		"gce://p/us-central1-a/vm-1": {"p", "us-central1-a", "vm-1"},
		"gce://p/us-central1-a/":     {},
		"gce:///z/n":                 {},
		"aws:///us-east-1a/i-1":      {},
		"":                           {},
	}
	for in, want := range tests {
		got, ok := parseProviderID(in)
		if got != want || ok != (want != instanceRef{}) {
			t.Errorf("parseProviderID(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	svc := testService(nil)
	if got, want := LoadBalancerName(svc), "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7"; got != want {
		t.Errorf("LoadBalancerName = %q, want %q", got, want)
	}
	for in, want := range map[string]string{"demo": "demo", "My_Cluster.prod": "my-cluster-prod", "": "kubernetes", "--": "kubernetes"} {
		if got := SanitizeClusterID(in); got != want {
			t.Errorf("SanitizeClusterID(%q) = %q, want %q", in, got, want)
		}
	}
	long := SanitizeClusterID("a-very-long-cluster-name-that-overflows")
	if len(long) > maxClusterIDLen || long == SanitizeClusterID("a-very-long-cluster-name-that-overflowz") {
		t.Errorf("long cluster IDs must be short and distinct, got %q", long)
	}
	if n := sharedBackendServiceName("0123456789abcdef", "TCP", "CLIENT_IP"); len(n) > 63 {
		t.Errorf("shared backend service name %q longer than 63", n)
	}
}
