package nodeproxy

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

const thisNode = "node-a"

func localLBService(ns, name string, mods ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: v1.ServiceSpec{
			Type:                  v1.ServiceTypeLoadBalancer,
			ExternalTrafficPolicy: v1.ServiceExternalTrafficPolicyLocal,
			HealthCheckNodePort:   32000,
			Ports: []v1.ServicePort{
				{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
			},
		},
	}
	for _, m := range mods {
		m(svc)
	}
	return svc
}

// ep is an endpoint on node with the given conditions (nil pointers stay nil).
func ep(ip, node string, ready, serving, terminating *bool) discoveryv1.Endpoint {
	e := discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating},
	}
	if node != "" {
		e.NodeName = ptr.To(node)
	}
	return e
}

func slice(ns, svc, name string, family discoveryv1.AddressType, port int32, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: family,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(v1.ProtocolTCP), Port: ptr.To(port)}},
		Endpoints:   eps,
	}
}

var (
	yes = ptr.To(true)
	no  = ptr.To(false)
)

func backends(port int32, ips ...string) []Backend {
	var out []Backend
	for _, ip := range ips {
		out = append(out, Backend{Addr: netip.MustParseAddr(ip), Port: port})
	}
	return out
}

func TestDecideServiceConditionMatrix(t *testing.T) {
	t.Parallel()
	v4 := discoveryv1.AddressTypeIPv4
	tests := []struct {
		name         string
		slices       []*discoveryv1.EndpointSlice
		wantLocal    int
		wantTerm     bool
		wantBackends []Backend
		wantReason   string
	}{
		{
			name:       "no slices",
			wantReason: "no endpoint",
		},
		{
			name:         "nil conditions mean ready",
			slices:       []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080, ep("10.0.0.1", thisNode, nil, nil, nil))},
			wantLocal:    1,
			wantBackends: backends(8080, "10.0.0.1"),
			wantReason:   "1 ready local endpoint",
		},
		{
			name:         "ready true",
			slices:       []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080, ep("10.0.0.1", thisNode, yes, yes, no))},
			wantLocal:    1,
			wantBackends: backends(8080, "10.0.0.1"),
			wantReason:   "1 ready local endpoint",
		},
		{
			name:       "ready false, not terminating: nothing",
			slices:     []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080, ep("10.0.0.1", thisNode, no, nil, nil))},
			wantReason: "no endpoint",
		},
		{
			name:       "ready false, serving true, terminating nil (= false): nothing",
			slices:     []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080, ep("10.0.0.1", thisNode, no, yes, nil))},
			wantReason: "no endpoint",
		},
		{
			name:         "serving-terminating only: fallback backends, probe counts 0",
			slices:       []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080, ep("10.0.0.1", thisNode, no, yes, yes))},
			wantTerm:     true,
			wantBackends: backends(8080, "10.0.0.1"),
			wantReason:   "no ready local endpoint; serving terminating local endpoints while the load balancer drains this node",
		},
		{
			name:         "serving nil (= true) and terminating: fallback",
			slices:       []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080, ep("10.0.0.1", thisNode, no, nil, yes))},
			wantTerm:     true,
			wantBackends: backends(8080, "10.0.0.1"),
			wantReason:   "no ready local endpoint; serving terminating local endpoints while the load balancer drains this node",
		},
		{
			name:       "terminating and not serving: nothing",
			slices:     []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080, ep("10.0.0.1", thisNode, no, no, yes))},
			wantReason: "no endpoint",
		},
		{
			name: "ready wins over serving-terminating",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080,
				ep("10.0.0.2", thisNode, no, yes, yes),
				ep("10.0.0.1", thisNode, yes, yes, no))},
			wantLocal:    1,
			wantBackends: backends(8080, "10.0.0.1"),
			wantReason:   "1 ready local endpoint",
		},
		{
			name: "endpoints of other nodes and without a node are not local",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080,
				ep("10.0.1.1", "node-b", yes, yes, no),
				ep("10.0.1.2", "", yes, yes, no))},
			wantReason: "no local endpoint (2 endpoints on other nodes)",
		},
		{
			name: "mixed slice: local ready, local not ready, remote ready",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "web", "s1", v4, 8080,
				ep("10.0.0.3", thisNode, yes, nil, nil),
				ep("10.0.0.1", thisNode, no, no, no),
				ep("10.0.1.1", "node-b", yes, yes, no),
				ep("10.0.0.2", thisNode, nil, nil, nil))},
			wantLocal:    2,
			wantBackends: backends(8080, "10.0.0.2", "10.0.0.3"),
			wantReason:   "2 ready local endpoints",
		},
		{
			name: "several slices per Service; an endpoint in two slices counts once",
			slices: []*discoveryv1.EndpointSlice{
				slice("ns", "web", "s1", v4, 8080, ep("10.0.0.1", thisNode, yes, nil, nil)),
				slice("ns", "web", "s2", v4, 8080, ep("10.0.0.2", thisNode, yes, nil, nil), ep("10.0.0.1", thisNode, yes, nil, nil)),
			},
			wantLocal:    2,
			wantBackends: backends(8080, "10.0.0.1", "10.0.0.2"),
			wantReason:   "2 ready local endpoints",
		},
		{
			name: "dual-stack: a pod in the IPv4 and the IPv6 slice counts once",
			slices: []*discoveryv1.EndpointSlice{
				slice("ns", "web", "s4", v4, 8080, ep("10.0.0.1", thisNode, yes, nil, nil)),
				slice("ns", "web", "s6", discoveryv1.AddressTypeIPv6, 8080, ep("fd00::1", thisNode, yes, nil, nil)),
			},
			wantLocal:    1,
			wantBackends: backends(8080, "10.0.0.1", "fd00::1"),
			wantReason:   "1 ready local endpoint",
		},
		{
			name: "FQDN slices, empty addresses and bad IPs are ignored",
			slices: []*discoveryv1.EndpointSlice{
				slice("ns", "web", "f", discoveryv1.AddressTypeFQDN, 8080, ep("example.com", thisNode, yes, nil, nil)),
				slice("ns", "web", "s", v4, 8080, discoveryv1.Endpoint{NodeName: ptr.To(thisNode)}, ep("not-an-ip", thisNode, yes, nil, nil)),
			},
			wantReason: "no endpoint",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := DecideService(localLBService("ns", "web"), tt.slices, thisNode)
			if got.LocalEndpoints != tt.wantLocal {
				t.Errorf("LocalEndpoints = %d, want %d", got.LocalEndpoints, tt.wantLocal)
			}
			if got.Terminating != tt.wantTerm {
				t.Errorf("Terminating = %v, want %v", got.Terminating, tt.wantTerm)
			}
			if len(got.Ports) != 1 {
				t.Fatalf("Ports = %+v, want one", got.Ports)
			}
			if !reflect.DeepEqual(got.Ports[0].Backends, tt.wantBackends) {
				t.Errorf("Backends = %v, want %v", got.Ports[0].Backends, tt.wantBackends)
			}
			if got.Reason != tt.wantReason {
				t.Errorf("Reason = %q, want %q", got.Reason, tt.wantReason)
			}
		})
	}
}

func TestDecideServicePortsAffinityAndIPs(t *testing.T) {
	t.Parallel()
	svc := localLBService("ns", "web", func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053})
		s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "203.0.113.7"}, {Hostname: "lb.example.com"}}
	})
	s := slice("ns", "web", "s1", discoveryv1.AddressTypeIPv4, 8080, ep("10.0.0.1", thisNode, nil, nil, nil))
	s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr.To("dns"), Protocol: ptr.To(v1.ProtocolUDP), Port: ptr.To[int32](5353)},
		discoveryv1.EndpointPort{Name: ptr.To("zero"), Port: ptr.To[int32](0)})
	got := DecideService(svc, []*discoveryv1.EndpointSlice{s}, thisNode)
	want := []PortDecision{
		{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080, Backends: backends(8080, "10.0.0.1")},
		{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053, Backends: backends(5353, "10.0.0.1")},
	}
	if !reflect.DeepEqual(got.Ports, want) {
		t.Errorf("Ports = %+v\nwant %+v", got.Ports, want)
	}
	if got.SessionAffinityTimeout != DefaultSessionAffinityTimeout {
		t.Errorf("SessionAffinityTimeout = %v, want the 10800 s default", got.SessionAffinityTimeout)
	}
	if want := []netip.Addr{netip.MustParseAddr("203.0.113.7")}; !reflect.DeepEqual(got.LoadBalancerIPs, want) {
		t.Errorf("LoadBalancerIPs = %v, want %v", got.LoadBalancerIPs, want)
	}

	svc.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](60)}}
	if got := DecideService(svc, nil, thisNode).SessionAffinityTimeout; got != time.Minute {
		t.Errorf("SessionAffinityTimeout with timeoutSeconds 60 = %v", got)
	}
}

func TestServes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mod       func(*v1.Service)
		proxyName string
		want      bool
		reason    string
	}{
		{name: "Local LoadBalancer", want: true},
		{name: "Cluster LoadBalancer", mod: func(s *v1.Service) {
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster
			s.Spec.HealthCheckNodePort = 0
		}, reason: "externalTrafficPolicy is not Local"},
		{name: "NodePort", mod: func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeNodePort }, reason: "type is NodePort, not LoadBalancer"},
		{name: "no port yet", mod: func(s *v1.Service) { s.Spec.HealthCheckNodePort = 0 }, reason: "no healthCheckNodePort allocated"},
		{name: "claimed by another proxy", mod: func(s *v1.Service) {
			s.Labels = map[string]string{LabelServiceProxyName: "other"}
		}, reason: "claimed by service proxy other"},
		{name: "ours by label", proxyName: "cloudlb", mod: func(s *v1.Service) {
			s.Labels = map[string]string{LabelServiceProxyName: "cloudlb"}
		}, want: true},
		{name: "unlabelled while we serve a proxy name", proxyName: "cloudlb",
			reason: "not labelled service.kubernetes.io/service-proxy-name=cloudlb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := localLBService("ns", "web")
			if tt.mod != nil {
				tt.mod(svc)
			}
			got, reason := Serves(svc, tt.proxyName)
			if got != tt.want || reason != tt.reason {
				t.Errorf("Serves = %v, %q; want %v, %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestNodeEligibility(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	tests := []struct {
		name   string
		node   *v1.Node
		want   bool
		reason string
	}{
		{name: "unknown node", reason: "node object not seen yet"},
		{name: "plain node", node: &v1.Node{}, want: true, reason: "node is eligible"},
		{name: "being deleted", node: &v1.Node{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}, reason: "node is being deleted"},
		{name: "autoscaler taint", node: &v1.Node{Spec: v1.NodeSpec{Taints: []v1.Taint{
			{Key: "other", Effect: v1.TaintEffectNoSchedule},
			{Key: TaintToBeDeletedByClusterAutoscaler, Value: "1700000000", Effect: v1.TaintEffectNoSchedule},
		}}}, reason: "node is tainted ToBeDeletedByClusterAutoscaler"},
		{name: "other taints only", node: &v1.Node{Spec: v1.NodeSpec{Taints: []v1.Taint{
			{Key: "node.kubernetes.io/unschedulable", Effect: v1.TaintEffectNoSchedule},
		}}}, want: true, reason: "node is eligible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, reason := NodeEligibility(tt.node)
			if got != tt.want || reason != tt.reason {
				t.Errorf("NodeEligibility = %v, %q; want %v, %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n       int
		healthy bool
		code    int
		reason  string
	}{
		{n: 2, healthy: true, code: 200, reason: "2 ready local endpoints"},
		{n: 0, healthy: true, code: 503, reason: "no ready local endpoint"},
		{n: 2, healthy: false, code: 503, reason: "node agent is not healthy (its view of the cluster is stale)"},
		{n: 0, healthy: false, code: 503, reason: "node agent is not healthy (its view of the cluster is stale)"},
	}
	for _, tt := range tests {
		got := Probe(tt.n, tt.healthy)
		want := ProbeAnswer{Code: tt.code, LocalEndpoints: tt.n, ServiceProxyHealthy: tt.healthy, Reason: tt.reason}
		if got != want {
			t.Errorf("Probe(%d, %v) = %+v, want %+v", tt.n, tt.healthy, got, want)
		}
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	withIP := func(ip string) func(*v1.Service) {
		return func(s *v1.Service) { s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: ip}} }
	}
	in := Input{
		NodeName: thisNode,
		Node:     &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: thisNode}},
		Services: []*v1.Service{
			localLBService("ns", "zeta", withIP("203.0.113.2")),
			localLBService("ns", "alpha", withIP("203.0.113.1")),
			localLBService("ns", "shared-ip", withIP("203.0.113.1")),
			localLBService("ns", "cluster", withIP("203.0.113.9"), func(s *v1.Service) {
				s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster
			}),
			localLBService("other", "alpha"),
		},
		EndpointSlices: []*discoveryv1.EndpointSlice{
			slice("ns", "alpha", "a1", discoveryv1.AddressTypeIPv4, 80, ep("10.0.0.1", thisNode, nil, nil, nil)),
			// Same Service name in another namespace: must not join ns/alpha.
			slice("other", "alpha", "a1", discoveryv1.AddressTypeIPv4, 80, ep("10.0.0.9", thisNode, nil, nil, nil), ep("10.0.0.8", thisNode, nil, nil, nil)),
			{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "unlabelled"}, AddressType: discoveryv1.AddressTypeIPv4},
		},
	}
	got := Decide(in)
	var names []string
	counts := map[string]int{}
	for _, s := range got.Services {
		names = append(names, s.Service.String())
		counts[s.Service.String()] = s.LocalEndpoints
	}
	if want := "ns/alpha ns/shared-ip ns/zeta other/alpha"; strings.Join(names, " ") != want {
		t.Errorf("Services = %v, want %s", names, want)
	}
	if counts["ns/alpha"] != 1 || counts["other/alpha"] != 2 || counts["ns/zeta"] != 0 {
		t.Errorf("LocalEndpoints = %v", counts)
	}
	if !got.NodeEligible {
		t.Errorf("NodeEligible = false (%s)", got.NodeReason)
	}
	if len(got.LoadBalancerIPs) != 0 {
		t.Errorf("LoadBalancerIPs without the flag = %v", got.LoadBalancerIPs)
	}

	in.BindLoadBalancerIPs = true
	in.Node = nil
	got = Decide(in)
	want := []netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2")}
	if !reflect.DeepEqual(got.LoadBalancerIPs, want) {
		t.Errorf("LoadBalancerIPs = %v, want %v (sorted, deduplicated, only Local Services)", got.LoadBalancerIPs, want)
	}
	if got.NodeEligible {
		t.Error("NodeEligible with no Node object = true")
	}
}

// BenchmarkDecide: 1,000 Local Services, each with one slice of 10 endpoints spread over 100
// nodes, plus 1,000 ClusterIP Services: one full decision, as the agent makes on every change.
func BenchmarkDecide(b *testing.B) {
	in := Input{NodeName: "node-0", Node: &v1.Node{}}
	for i := range 1000 {
		name := "svc-" + strconv.Itoa(i)
		in.Services = append(in.Services, localLBService("ns", name), &v1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cip-" + name},
			Spec:       v1.ServiceSpec{Type: v1.ServiceTypeClusterIP},
		})
		var eps []discoveryv1.Endpoint
		for j := range 10 {
			eps = append(eps, ep(fmt.Sprintf("10.%d.%d.%d", i/256, i%256, j), "node-"+strconv.Itoa((i+j)%100), nil, nil, nil))
		}
		in.EndpointSlices = append(in.EndpointSlices, slice("ns", name, name+"-1", discoveryv1.AddressTypeIPv4, 8080, eps...))
	}
	b.ReportAllocs()
	for b.Loop() {
		d := Decide(in)
		if len(d.Services) != 1000 {
			b.Fatalf("%d services", len(d.Services))
		}
	}
}
