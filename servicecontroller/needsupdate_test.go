package servicecontroller

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestNeedsUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		old    *v1.Service // default lbService("a")
		change func(*v1.Service)
		want   bool
	}{
		{"nothing", nil, func(*v1.Service) {}, false},
		{"type away from LoadBalancer", nil, func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeNodePort }, true},
		{"type to LoadBalancer", lbService("a", withType(v1.ServiceTypeClusterIP)), func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeLoadBalancer }, true},
		{"source ranges", nil, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} }, true},
		{"port name", nil, func(s *v1.Service) { s.Spec.Ports[0].Name = "web" }, true},
		{"port protocol", nil, func(s *v1.Service) { s.Spec.Ports[0].Protocol = v1.ProtocolUDP }, true},
		{"port number", nil, func(s *v1.Service) { s.Spec.Ports[0].Port = 81 }, true},
		{"nodePort", nil, func(s *v1.Service) { s.Spec.Ports[0].NodePort = 30081 }, true},
		{"targetPort", nil, func(s *v1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("http") }, true},
		{"appProtocol", nil, func(s *v1.Service) { s.Spec.Ports[0].AppProtocol = ptr("kubernetes.io/h2c") }, true},
		{"port added", nil, func(s *v1.Service) { s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Port: 443}) }, true},
		{"session affinity", nil, func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP }, true},
		{"session affinity config", nil, func(s *v1.Service) {
			s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr(int32(60))}}
		}, true},
		{"loadBalancerIP", nil, func(s *v1.Service) { s.Spec.LoadBalancerIP = "203.0.113.7" }, true},
		{"external IPs", nil, func(s *v1.Service) { s.Spec.ExternalIPs = []string{"192.0.2.1"} }, true},
		{"annotation added", nil, withAnnotation("service.beta.kubernetes.io/aws-load-balancer-internal", "true"), true},
		{"annotation value", lbService("a", withAnnotation("k", "1")), func(s *v1.Service) { s.Annotations["k"] = "2" }, true},
		{"UID", nil, func(s *v1.Service) { s.UID = "other" }, true},
		{"externalTrafficPolicy", nil, func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal }, true},
		{"healthCheckNodePort", nil, func(s *v1.Service) { s.Spec.HealthCheckNodePort = 32000 }, true},
		{"number of IP families", nil, func(s *v1.Service) { s.Spec.IPFamilies = append(s.Spec.IPFamilies, v1.IPv6Protocol) }, true},

		{"labels do not count", nil, func(s *v1.Service) { s.Labels = map[string]string{"team": "b"} }, false},
		{"selector does not count", nil, func(s *v1.Service) { s.Spec.Selector = map[string]string{"app": "other"} }, false},
		{"finalizers do not count", nil, withFinalizer, false},
		{"status does not count", nil, withIngress("203.0.113.10"), false},
		{"resourceVersion does not count", nil, func(s *v1.Service) { s.ResourceVersion = "2" }, false},
		{"IP family order does not count (only the number)", lbService("a", func(s *v1.Service) {
			s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}
		}), func(s *v1.Service) { s.Spec.IPFamilies = []v1.IPFamily{v1.IPv6Protocol, v1.IPv4Protocol} }, false},
		{"nil and empty annotations are equal", nil, func(s *v1.Service) { s.Annotations = map[string]string{} }, false},
		{"neither wants a load balancer", lbService("a", withType(v1.ServiceTypeClusterIP)), func(s *v1.Service) { s.Spec.Ports[0].Port = 81 }, false},
		{"another class on both sides", lbService("a", withClass("example.com/lb")), func(s *v1.Service) { s.Spec.Ports[0].Port = 81 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			old := tt.old
			if old == nil {
				old = lbService("a")
			}
			cur := old.DeepCopy()
			tt.change(cur)
			if got := needsUpdate(old, cur, ""); got != tt.want {
				t.Errorf("needsUpdate = %v (changed %v), want %v", got, changedFields(old, cur, ""), tt.want)
			}
		})
	}
}

func TestNeedsCleanup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		class string
		svc   *v1.Service
		want  bool
	}{
		{"wants a load balancer", "", lbService("a", withFinalizer), false},
		{"no finalizer", "", lbService("a", deleting), false},
		{"finalizer and deletion", "", lbService("a", withFinalizer, deleting), true},
		{"finalizer and type ClusterIP", "", lbService("a", withFinalizer, withType(v1.ServiceTypeClusterIP)), true},
		{"another class, finalizer and deletion", "", lbService("a", withClass("x"), withFinalizer, deleting), false},
		{"our class, finalizer and deletion", "x", lbService("a", withClass("x"), withFinalizer, deleting), true},
		{"class mode, class-less with finalizer: not by needsCleanup", "x", lbService("a", withFinalizer, withType(v1.ServiceTypeClusterIP)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := needsCleanup(tt.svc, tt.class); got != tt.want {
				t.Errorf("needsCleanup = %v, want %v", got, tt.want)
			}
		})
	}
}
