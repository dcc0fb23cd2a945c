package aws

import (
	"fmt"
	"maps"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const ann = "service.beta.kubernetes.io/aws-load-balancer-"

// managedGroups is the cloud config line that gives every NLB a security group of its own,
// upstream's NLBSecurityGroupMode (both providers read it).
const managedGroups = "NLBSecurityGroupMode = Managed\n"

// migrationCase is one Service the upstream provider creates and cloudlb takes over.
type migrationCase struct {
	name string
	nlb  bool
	// globals are extra [Global] cloud config lines for both providers.
	globals     string
	annotations map[string]string
	// edit changes the Service further (ports, policy, source ranges, the env's certificate).
	edit func(e *env, s *v1.Service)
	// refused is a substring of a field cloudlb must name in a ReplacementRefused when it takes
	// the load balancer over: the Service asks for something upstream ignored and only a new
	// load balancer could give. mayRefuse allows a ReplacementRefused without requiring one
	// (pinned addresses, whose order the two providers may pair with subnets differently).
	refused   string
	mayRefuse bool
}

// cases are the Services of the suite: every kind of load balancer upstream makes and the
// values only upstream's leniency accepted.
var cases = []migrationCase{
	{name: "classic"},
	{name: "classic internal", annotations: map[string]string{ann + "internal": "true"}},
	{name: "classic ssl", annotations: map[string]string{ann + "ssl-ports": "443"}, edit: func(e *env, s *v1.Service) {
		s.Annotations[ann+"ssl-cert"] = e.cert
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443})
	}},
	{name: "classic source ranges", edit: sourceRanges},
	{name: "classic internal 0.0.0.0/0 (upstream: any value but false is internal)", annotations: map[string]string{ann + "internal": "0.0.0.0/0"}},
	{name: "classic scheme (upstream ignores it)", annotations: map[string]string{ann + "scheme": "internal"}, refused: "scheme"},

	{name: "nlb", nlb: true},
	{name: "nlb internal", nlb: true, annotations: map[string]string{ann + "internal": "true"}},
	{name: "nlb eip allocations over two subnets", nlb: true, mayRefuse: true,
		annotations: map[string]string{ann + "eip-allocations": "eipalloc-0a0a0a0a0a0a0a0a0,eipalloc-0b0b0b0b0b0b0b0b0"}},
	{name: "nlb private ipv4 addresses", nlb: true, mayRefuse: true,
		annotations: map[string]string{ann + "internal": "true", ann + "private-ipv4-addresses": "10.0.3.50,10.0.4.50"}},
	{name: "nlb managed security group", nlb: true, globals: managedGroups, edit: sourceRanges},
	{name: "nlb tls", nlb: true, annotations: map[string]string{ann + "ssl-ports": "443"}, edit: func(e *env, s *v1.Service) {
		s.Annotations[ann+"ssl-cert"] = e.cert
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443})
	}},
	{name: "nlb udp", nlb: true, edit: func(_ *env, s *v1.Service) {
		s.Spec.Ports = []v1.ServicePort{{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053}}
	}},
	{name: "nlb local traffic policy", nlb: true, edit: func(_ *env, s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32100
	}},
	{name: "nlb internal yes (upstream: any value but false is internal)", nlb: true, annotations: map[string]string{ann + "internal": "yes"}},
	{name: "nlb scheme (upstream ignores it)", nlb: true, annotations: map[string]string{ann + "scheme": "internal"}, refused: "scheme"},
}

func sourceRanges(_ *env, s *v1.Service) {
	s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24", "198.51.100.0/24"}
}

// service is case i's Service in env e: port 80 on NodePort 30080 unless edit changes it.
func (c migrationCase) service(e *env, i int) *v1.Service {
	a := maps.Clone(c.annotations)
	if a == nil {
		a = map[string]string{}
	}
	if c.nlb {
		a[ann+"type"] = "nlb"
	}
	s := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("web%02d", i), Annotations: a,
			UID: types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012x", 0x5e1f0000+i, i))},
		Spec: v1.ServiceSpec{
			Type:                  v1.ServiceTypeLoadBalancer,
			SessionAffinity:       v1.ServiceAffinityNone,
			ExternalTrafficPolicy: v1.ServiceExternalTrafficPolicyCluster,
			Ports:                 []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080}},
		},
	}
	if c.edit != nil {
		c.edit(e, s)
	}
	return s
}
