package fake

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	testCluster  = "kubernetes"
	otherCluster = "someone-else"
)

// Annotation keys used by the tests, one internal switch per cloud.
const (
	awsInternalKey   = "service.beta.kubernetes.io/aws-load-balancer-internal"
	azureInternalKey = "service.beta.kubernetes.io/azure-load-balancer-internal"
	gceTypeKey       = "networking.gke.io/load-balancer-type"
	awsNodeLabelsKey = "service.beta.kubernetes.io/aws-load-balancer-target-node-labels"
)

// svcOpt changes a test Service.
type svcOpt func(*v1.Service)

// newService returns a LoadBalancer Service default/name with port 80 -> 30080 and a UID
// derived from name.
func newService(name string, opts ...svcOpt) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: name,
			UID: types.UID(fmt.Sprintf("%08x-1111-2222-3333-444455556666", hash(name))),
		},
		Spec: v1.ServiceSpec{
			Type:                  v1.ServiceTypeLoadBalancer,
			ExternalTrafficPolicy: v1.ServiceExternalTrafficPolicyCluster,
			Ports:                 []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080}},
		},
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := range len(s) {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func withAnnotation(k, v string) svcOpt {
	return func(s *v1.Service) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[k] = v
	}
}

func withPorts(ports ...v1.ServicePort) svcOpt {
	return func(s *v1.Service) { s.Spec.Ports = ports }
}

func withSourceRanges(r ...string) svcOpt {
	return func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = r }
}

func withLocal(hcPort int32) svcOpt {
	return func(s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = hcPort
	}
}

func newNode(name string, labels map[string]string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func nodes(names ...string) []*v1.Node {
	out := make([]*v1.Node, len(names))
	for i, n := range names {
		out[i] = newNode(n, nil)
	}
	return out
}

func newCloud(t testing.TB, cfg Config) *Cloud {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return c
}

// mustEnsure ensures svc and returns the ingress IP (or hostname).
func mustEnsure(t testing.TB, c *Cloud, cluster string, svc *v1.Service, ns []*v1.Node) string {
	t.Helper()
	st, err := c.EnsureLoadBalancer(context.Background(), cluster, svc, ns)
	if err != nil {
		t.Fatalf("EnsureLoadBalancer(%s): %v", svc.Name, err)
	}
	if len(st.Ingress) != 1 {
		t.Fatalf("EnsureLoadBalancer(%s): ingress %+v, want one entry", svc.Name, st.Ingress)
	}
	if st.Ingress[0].Hostname != "" {
		return st.Ingress[0].Hostname
	}
	return st.Ingress[0].IP
}

// mustGet returns the load balancer called name from the cloud's state.
func mustGet(t testing.TB, c *Cloud, name string) LoadBalancer {
	t.Helper()
	lbs, err := c.LoadBalancers()
	if err != nil {
		t.Fatalf("LoadBalancers: %v", err)
	}
	for _, lb := range lbs {
		if lb.Name == name {
			return lb
		}
	}
	t.Fatalf("no load balancer %s in %+v", name, lbs)
	return LoadBalancer{}
}

// wantCalls compares the counted calls with reads, writes and the non-zero ops in byOp.
func wantCalls(t testing.TB, c *Cloud, reads, writes int, byOp map[Op]int) {
	t.Helper()
	got := c.Calls()
	if got.Reads != reads || got.Writes != writes {
		t.Errorf("calls: %d reads, %d writes (%v), want %d reads, %d writes", got.Reads, got.Writes, got.ByOp, reads, writes)
	}
	for op, n := range byOp {
		if got.ByOp[op] != n {
			t.Errorf("calls of %s = %d, want %d (all: %v)", op, got.ByOp[op], n, got.ByOp)
		}
	}
}
