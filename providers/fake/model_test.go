package fake

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/annotations"
)

func TestLoadBalancerName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uid  types.UID
		want string
	}{
		{"2bb3e0c4-5d1a-4f4e-9d0f-7c2b8f0e6a11", "a2bb3e0c45d1a4f4e9d0f7c2b8f0e6a1"},
		{"abc-def", "aabcdef"},
		{"", "a"},
		{"0123456789012345678901234567890123456789", "a0123456789012345678901234567890"},
	}
	for _, tt := range tests {
		svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{UID: tt.uid}}
		if got := LoadBalancerName(svc); got != tt.want {
			t.Errorf("LoadBalancerName(uid %q) = %q, want %q", tt.uid, got, tt.want)
		}
		if got := LoadBalancerName(svc); len(got) > maxNameLength {
			t.Errorf("LoadBalancerName(uid %q) has %d characters, more than %d", tt.uid, len(got), maxNameLength)
		}
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	labelled := []*v1.Node{
		newNode("n3", map[string]string{"role": "lb", "zone": "a"}),
		newNode("n1", map[string]string{"role": "lb", "zone": "b"}),
		newNode("n2", map[string]string{"role": "web", "zone": "a"}),
		newNode("n4", map[string]string{"role": "lb"}),
	}
	base := newService("web")
	tests := []struct {
		name  string
		svc   *v1.Service
		nodes []*v1.Node
		check func(t *testing.T, lb LoadBalancer)
	}{
		{
			name: "identity and ports in spec order",
			svc: newService("web", withPorts(
				v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443},
				v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053},
			)),
			check: func(t *testing.T, lb LoadBalancer) {
				want := LoadBalancer{
					Name: LoadBalancerName(base), ClusterName: testCluster, Service: "default/web", ServiceUID: string(base.UID),
					Ports:                 []Port{{"TCP", 443, 30443}, {"UDP", 53, 30053}},
					SourceRanges:          []string{"0.0.0.0/0"},
					ExternalTrafficPolicy: "Cluster",
				}
				if !reflect.DeepEqual(lb, want) {
					t.Errorf("got  %+v\nwant %+v", lb, want)
				}
			},
		},
		{
			name:  "nodes sorted, distinct, nil skipped",
			svc:   base,
			nodes: append(nodes("b", "c", "a", "b"), nil),
			check: wantNodes("a", "b", "c"),
		},
		{
			name:  "no node label selector keeps every node",
			svc:   base,
			nodes: labelled,
			check: wantNodes("n1", "n2", "n3", "n4"),
		},
		{
			name:  "node labels: value must match",
			svc:   newService("web", withAnnotation(awsNodeLabelsKey, "role=lb")),
			nodes: labelled,
			check: wantNodes("n1", "n3", "n4"),
		},
		{
			name:  "node labels: every key, a bare key matches any value",
			svc:   newService("web", withAnnotation(awsNodeLabelsKey, "role=lb,zone")),
			nodes: labelled,
			check: wantNodes("n1", "n3"),
		},
		{
			name:  "node labels: no node matches",
			svc:   newService("web", withAnnotation(awsNodeLabelsKey, "role=db")),
			nodes: labelled,
			check: wantNodes(),
		},
		{name: "external by default", svc: base, check: wantInternal(false)},
		{name: "internal on AWS", svc: newService("web", withAnnotation(awsInternalKey, "true")), check: wantInternal(true)},
		{name: "AWS internal false", svc: newService("web", withAnnotation(awsInternalKey, "false")), check: wantInternal(false)},
		{name: "internal on Azure", svc: newService("web", withAnnotation(azureInternalKey, "true")), check: wantInternal(true)},
		{name: "internal on GCE", svc: newService("web", withAnnotation(gceTypeKey, "Internal")), check: wantInternal(true)},
		{name: "GCE External", svc: newService("web", withAnnotation(gceTypeKey, "External")), check: wantInternal(false)},
		{
			name:  "source ranges from the spec, masked",
			svc:   newService("web", withSourceRanges("10.0.0.0/8", "192.168.1.7/24")),
			check: wantSourceRanges("10.0.0.0/8", "192.168.1.0/24"),
		},
		{
			name:  "source ranges from the annotation",
			svc:   newService("web", withAnnotation(annotations.CoreSourceRanges.Key, "172.16.0.0/12")),
			check: wantSourceRanges("172.16.0.0/12"),
		},
		{
			name: "externalTrafficPolicy Local with its health check port",
			svc:  newService("web", withLocal(32000)),
			check: func(t *testing.T, lb LoadBalancer) {
				if lb.ExternalTrafficPolicy != "Local" || lb.HealthCheckNodePort != 32000 {
					t.Errorf("got policy %q, health check port %d; want Local, 32000", lb.ExternalTrafficPolicy, lb.HealthCheckNodePort)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, problems := annotations.Parse(tt.svc, annotations.AnyCloud)
			if problems.HasErrors() {
				t.Fatalf("Parse: %v", problems.Err(cfg.Service))
			}
			lb := Build(tt.svc, tt.nodes, cfg, testCluster)
			tt.check(t, lb)
		})
	}
}

func wantNodes(names ...string) func(*testing.T, LoadBalancer) {
	return func(t *testing.T, lb LoadBalancer) {
		t.Helper()
		if len(lb.Nodes)+len(names) > 0 && !reflect.DeepEqual(lb.Nodes, names) {
			t.Errorf("nodes = %q, want %q", lb.Nodes, names)
		}
	}
}

func wantInternal(want bool) func(*testing.T, LoadBalancer) {
	return func(t *testing.T, lb LoadBalancer) {
		t.Helper()
		if lb.Internal != want {
			t.Errorf("internal = %v, want %v", lb.Internal, want)
		}
	}
}

func wantSourceRanges(want ...string) func(*testing.T, LoadBalancer) {
	return func(t *testing.T, lb LoadBalancer) {
		t.Helper()
		if !reflect.DeepEqual(lb.SourceRanges, want) {
			t.Errorf("source ranges = %q, want %q", lb.SourceRanges, want)
		}
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	desired := LoadBalancer{
		Name: "a1", ClusterName: testCluster, Service: "default/web", ServiceUID: "1",
		Ports: []Port{{"TCP", 80, 30080}}, Nodes: []string{"n1"}, SourceRanges: []string{"0.0.0.0/0"},
	}
	with := func(f func(*LoadBalancer)) *LoadBalancer {
		lb := desired.clone()
		lb.IP, lb.Hostname = "203.0.113.1", "a1"+hostnameSuffix
		f(&lb)
		return &lb
	}
	tests := []struct {
		name     string
		observed *LoadBalancer
		want     action
	}{
		{"absent", nil, actionCreate},
		{"same, only the assigned address differs", with(func(*LoadBalancer) {}), actionNone},
		{"every node removed", with(func(lb *LoadBalancer) { lb.Nodes = nil }), actionUpdate},
		{"another cluster", with(func(lb *LoadBalancer) { lb.ClusterName = otherCluster }), actionForeign},
		{"another cluster wins over internal", with(func(lb *LoadBalancer) { lb.ClusterName, lb.Internal = otherCluster, true }), actionForeign},
		{"internal changed", with(func(lb *LoadBalancer) { lb.Internal = true }), actionReplace},
		{"port changed", with(func(lb *LoadBalancer) { lb.Ports[0].NodePort = 31000 }), actionUpdate},
		{"node added", with(func(lb *LoadBalancer) { lb.Nodes = append(lb.Nodes, "n2") }), actionUpdate},
		{"source range changed", with(func(lb *LoadBalancer) { lb.SourceRanges = []string{"10.0.0.0/8"} }), actionUpdate},
		{"health check port changed", with(func(lb *LoadBalancer) { lb.HealthCheckNodePort = 1 }), actionUpdate},
		{"policy changed", with(func(lb *LoadBalancer) { lb.ExternalTrafficPolicy = "Local" }), actionUpdate},
	}
	for _, tt := range tests {
		if got := diff(tt.observed, desired); got != tt.want {
			t.Errorf("%s: diff = %s, want %s", tt.name, got, tt.want)
		}
	}
	// nil and empty slices are the same spec: the state file drops empty slices.
	empty := desired.clone()
	empty.Nodes = []string{}
	noNodes := desired.clone()
	noNodes.Nodes = nil
	if got := diff(&empty, noNodes); got != actionNone {
		t.Errorf("empty versus nil nodes: diff = %s, want none", got)
	}
}
