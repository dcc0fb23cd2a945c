package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/providers/fake"
)

// base is the time of the first Event in these tests.
var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func svc(name, uid string, ingress []string, ports ...v1.ServicePort) v1.Service {
	s := v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: name, UID: types.UID(uid)},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: ports},
	}
	for _, addr := range ingress {
		if strings.Contains(addr, ".lb.") {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, v1.LoadBalancerIngress{Hostname: addr})
		} else {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, v1.LoadBalancerIngress{IP: addr})
		}
	}
	return s
}

func port(p, nodePort int32, proto v1.Protocol) v1.ServicePort {
	return v1.ServicePort{Port: p, NodePort: nodePort, Protocol: proto}
}

func event(name, typ, reason, rv string, at time.Duration) v1.Event {
	return v1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: "demo", Name: name + "." + rv, ResourceVersion: rv},
		InvolvedObject: v1.ObjectReference{Kind: "Service", Namespace: "demo", Name: name},
		Type:           typ, Reason: reason, Message: reason + " message",
		LastTimestamp: metav1.NewTime(base.Add(at)),
	}
}

func TestDemoTable(t *testing.T) {
	t.Parallel()
	local := svc("ingress", "u3", []string{"203.0.113.2"}, port(443, 31471, v1.ProtocolTCP))
	local.Spec.HealthCheckNodePort = 32057
	multi := svc("multi", "u5", []string{"203.0.113.3", "a5.lb.fake.cloudlb.invalid"}, port(80, 30001, v1.ProtocolTCP), port(53, 30002, v1.ProtocolUDP))
	class := "example.com/lb"
	multi.Spec.LoadBalancerClass = &class
	for _, tc := range []struct {
		name string
		snap demoSnapshot
		want string
	}{
		{
			name: "empty",
			want: "NAMESPACE/NAME   CLASS   SCHEME   INGRESS   PORTS   LAST EVENT\n",
		},
		{
			name: "every kind of row, sorted by name",
			snap: demoSnapshot{
				Services: []v1.Service{
					svc("web", "u1", []string{"203.0.113.1"}, port(80, 31834, v1.ProtocolTCP)),
					svc("billing", "u2", []string{"10.255.0.1"}, port(8443, 31398, v1.ProtocolTCP)),
					local,
					svc("broken", "u4", nil, port(80, 32315, v1.ProtocolTCP)),
					multi,
				},
				LBs: []fake.LoadBalancer{
					{ServiceUID: "u1", IP: "203.0.113.1"},
					{ServiceUID: "u2", IP: "10.255.0.1", Internal: true},
					{ServiceUID: "u3", IP: "203.0.113.2"},
					{ServiceUID: "u5", IP: "203.0.113.3"},
				},
				Events: []v1.Event{
					// Same second: the higher resourceVersion is the newer one.
					event("web", v1.EventTypeNormal, "EnsuredLoadBalancer", "12", 0),
					event("web", v1.EventTypeNormal, "EnsuringLoadBalancer", "11", 0),
					// A later timestamp wins over a higher resourceVersion.
					event("billing", v1.EventTypeNormal, "EnsuredLoadBalancer", "5", time.Second),
					event("billing", v1.EventTypeNormal, "EnsuringLoadBalancer", "9", 0),
					event("broken", v1.EventTypeWarning, "InvalidAnnotation", "7", 0),
					event("other", v1.EventTypeWarning, "Elsewhere", "99", time.Hour),
				},
			},
			want: `NAMESPACE/NAME   CLASS            SCHEME     INGRESS                                  PORTS                          LAST EVENT
demo/billing     <default>        internal   10.255.0.1                               8443:31398/TCP                 Normal EnsuredLoadBalancer
demo/broken      <default>        -          <pending>                                80:32315/TCP                   Warning InvalidAnnotation
demo/ingress     <default>        external   203.0.113.2                              443:31471/TCP (health 32057)   -
demo/multi       example.com/lb   external   203.0.113.3,a5.lb.fake.cloudlb.invalid   80:30001/TCP,53:30002/UDP      -
demo/web         <default>        external   203.0.113.1                              80:31834/TCP                   Normal EnsuredLoadBalancer
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := writeDemoTable(&b, demoRows(tc.snap)); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tc.want {
				t.Errorf("table:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestDemoPending(t *testing.T) {
	t.Parallel()
	want := []string{"demo/web", "demo/broken", "demo/late"}
	invalid := map[string]bool{"demo/broken": true}
	for _, tc := range []struct {
		name string
		snap demoSnapshot
		want []string
	}{
		{
			name: "nothing settled",
			snap: demoSnapshot{Services: []v1.Service{svc("web", "u1", nil), svc("broken", "u2", nil)}},
			want: []string{"demo/web: no ingress yet", "demo/broken: no InvalidAnnotation Event yet", "demo/late: not found"},
		},
		{
			name: "a Normal event or another reason does not count as the refusal",
			snap: demoSnapshot{
				Services: []v1.Service{svc("web", "u1", []string{"203.0.113.1"}), svc("broken", "u2", nil), svc("late", "u3", []string{"203.0.113.2"})},
				Events: []v1.Event{
					event("broken", v1.EventTypeNormal, "InvalidAnnotation", "1", 0),
					event("broken", v1.EventTypeWarning, "SyncLoadBalancerFailed", "2", 0),
				},
			},
			want: []string{"demo/broken: no InvalidAnnotation Event yet"},
		},
		{
			name: "settled",
			snap: demoSnapshot{
				Services: []v1.Service{svc("web", "u1", []string{"203.0.113.1"}), svc("broken", "u2", nil), svc("late", "u3", []string{"a.lb.fake.cloudlb.invalid"})},
				Events:   []v1.Event{event("broken", v1.EventTypeWarning, "InvalidAnnotation", "1", 0)},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := demoPending(tc.snap, want, invalid); !slices.Equal(got, tc.want) {
				t.Errorf("demoPending = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDemoManifests(t *testing.T) {
	t.Parallel()
	svcs, invalid, err := demoManifests()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs {
		if s.Namespace != demoNamespace || s.Spec.Type != v1.ServiceTypeLoadBalancer {
			t.Errorf("%s/%s: want a LoadBalancer Service in namespace %s", s.Namespace, s.Name, demoNamespace)
		}
		names = append(names, s.Name)
	}
	if len(svcs) != 5 {
		t.Errorf("got %d Services %q, want the 5 of examples/demo", len(svcs), names)
	}
	if len(invalid) != 1 || !invalid["demo/broken-healthcheck"] {
		t.Errorf("invalid = %v, want only demo/broken-healthcheck", invalid)
	}
}

func TestBackendSummary(t *testing.T) {
	t.Parallel()
	got, err := backendSummary([]fake.LoadBalancer{{Nodes: []string{"demo-node-1", "demo-node-2"}}, {Nodes: []string{"demo-node-2"}}})
	if err != nil {
		t.Errorf("unexpected error: %v", err)
	}
	if want := "Backends in the fake cloud: demo-node-1, demo-node-2; excluded by node.kubernetes.io/exclude-from-external-load-balancers=true: demo-node-3"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if _, err := backendSummary([]fake.LoadBalancer{{Nodes: []string{"demo-node-3"}}}); err == nil || !strings.Contains(err.Error(), "demo-node-3") {
		t.Errorf("an excluded node as backend: err = %v, want one naming demo-node-3", err)
	}
}
