package nodeproxy_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/cloudlb/cloudlb/nodeproxy"
)

var (
	yes = ptr.To(true)
	no  = ptr.To(false)
)

// probeIs checks a healthCheckNodePort answer field by field and header by header.
func probeIs(ns, name string, code, n int, healthy bool) func(answer) bool {
	return func(a answer) bool {
		svc, _ := a.Body["service"].(map[string]any)
		return a.Code == code &&
			a.Header.Get("Content-Type") == "application/json" &&
			a.Header.Get("X-Content-Type-Options") == "nosniff" &&
			a.Header.Get("X-Load-Balancing-Endpoint-Weight") == strconv.Itoa(n) &&
			len(a.Body) == 3 && len(svc) == 2 &&
			svc["namespace"] == ns && svc["name"] == name &&
			a.Body["localEndpoints"] == float64(n) &&
			a.Body["serviceProxyHealthy"] == healthy
	}
}

// nodeHealthIs checks a /healthz (eligible non-nil) or /livez (eligible nil) answer.
func nodeHealthIs(code int, eligible *bool) func(answer) bool {
	return func(a answer) bool {
		if a.Code != code || a.Header.Get("Content-Type") != "application/json" || a.Header.Get("X-Content-Type-Options") != "nosniff" {
			return false
		}
		for _, k := range []string{"lastUpdated", "currentTime"} {
			s, _ := a.Body[k].(string)
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return false
			}
		}
		got, has := a.Body["nodeEligible"]
		if eligible == nil {
			return !has && a.Body["healthy"] == true
		}
		return has && got == *eligible && a.Body["healthy"] == true
	}
}

func TestHealthChecksFollowEndpointsAndNode(t *testing.T) {
	client := newClient(t)
	const node, other = "np-node-a", "np-node-b"
	ns := createNamespace(t, client, "np-follow")
	createNode(t, client, node)
	nodeURL := startAgent(t, node)

	svc := createLocalService(t, client, ns, "web", 0)
	hc := serviceURL(svc.Spec.HealthCheckNodePort)
	// The server is up once the Service is seen; no EndpointSlice yet: 503, 0 endpoints.
	waitFor(t, "no endpoints", hc, probeIs(ns, "web", 503, 0, true))

	slices := client.DiscoveryV1().EndpointSlices(ns)
	local, err := slices.Create(t.Context(), endpointSlice(ns, "web", "web-local",
		endpoint("10.0.0.1", node, yes, yes, no)), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slices.Create(t.Context(), endpointSlice(ns, "web", "web-remote",
		endpoint("10.0.1.1", other, yes, yes, no), endpoint("10.0.1.2", other, nil, nil, nil)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one local endpoint", hc, probeIs(ns, "web", 200, 1, true))
	// Any path answers the same.
	waitFor(t, "another path", hc+"/../anything?x=y", probeIs(ns, "web", 200, 1, true))

	// A second ready local endpoint, and one that is not ready.
	local.Endpoints = append(local.Endpoints, endpoint("10.0.0.2", node, nil, nil, nil), endpoint("10.0.0.3", node, no, no, no))
	if local, err = slices.Update(t.Context(), local, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two local endpoints", hc, probeIs(ns, "web", 200, 2, true))

	// Local endpoints terminating but still serving: the probe fails so the LB drains the node.
	for i := range local.Endpoints {
		local.Endpoints[i].Conditions = discoveryv1.EndpointConditions{Ready: no, Serving: yes, Terminating: yes}
	}
	if _, err = slices.Update(t.Context(), local, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "terminating local endpoints", hc, probeIs(ns, "web", 503, 0, true))

	// Node health: eligible, then tainted by the cluster autoscaler.
	waitFor(t, "/healthz eligible", nodeURL+"/healthz", nodeHealthIs(200, yes))
	waitFor(t, "/livez", nodeURL+"/livez", nodeHealthIs(200, nil))
	setTaint(t, node, true)
	waitFor(t, "/healthz tainted", nodeURL+"/healthz", nodeHealthIs(503, no))
	waitFor(t, "/livez tainted", nodeURL+"/livez", nodeHealthIs(200, nil))
	setTaint(t, node, false)
	waitFor(t, "/healthz untainted", nodeURL+"/healthz", nodeHealthIs(200, yes))

	// The Service turns externalTrafficPolicy Cluster: the API server releases the port and
	// the server closes.
	cur, err := client.CoreV1().Services(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster
	cur.Spec.HealthCheckNodePort = 0
	if _, err := client.CoreV1().Services(ns).Update(t.Context(), cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, svc.Spec.HealthCheckNodePort)

	// A new Local Service, then deleted: its port opens, then closes.
	svc2 := createLocalService(t, client, ns, "web2", 0)
	waitFor(t, "second Service", serviceURL(svc2.Spec.HealthCheckNodePort), probeIs(ns, "web2", 503, 0, true))
	if err := client.CoreV1().Services(ns).Delete(t.Context(), "web2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, svc2.Spec.HealthCheckNodePort)
}

func setTaint(t *testing.T, node string, on bool) {
	t.Helper()
	client := newClient(t)
	n, err := client.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Taints = nil
	if on {
		n.Spec.Taints = []v1.Taint{{Key: nodeproxy.TaintToBeDeletedByClusterAutoscaler, Value: "1767225600", Effect: v1.TaintEffectNoSchedule}}
	}
	if _, err := client.CoreV1().Nodes().Update(t.Context(), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitClosed(t *testing.T, port int32) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(pollInterval)
	}
	t.Fatalf("%s still listening", addr)
}

// TestTakenPortIsReportedAndRetried: a healthCheckNodePort held by another process gives a
// Warning Event on the Service, does not stop the other Services' servers, and is served as
// soon as it is free again.
func TestTakenPortIsReportedAndRetried(t *testing.T) {
	client := newClient(t)
	const node = "np-node-c"
	ns := createNamespace(t, client, "np-taken")
	createNode(t, client, node)

	// Hold a port of the NodePort range, then ask for it as the healthCheckNodePort.
	var holder net.Listener
	var port int32
	for p := 32767; p > 30000 && holder == nil; p-- {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			holder, port = l, int32(p)
		}
	}
	if holder == nil {
		t.Fatal("no free port in the NodePort range")
	}
	defer holder.Close()
	taken := createLocalService(t, client, ns, "taken", port)
	okSvc := createLocalService(t, client, ns, "ok", 0)
	for _, name := range []string{"taken", "ok"} {
		if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(t.Context(), endpointSlice(ns, name, name,
			endpoint("10.0.0.1", node, nil, nil, nil)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	startAgent(t, node)

	waitFor(t, "the other Service", serviceURL(okSvc.Spec.HealthCheckNodePort), probeIs(ns, "ok", 200, 1, true))
	deadline := time.Now().Add(waitTimeout)
	for {
		evs, err := client.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=taken"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range evs.Items {
			if e.Reason == nodeproxy.ReasonFailedToStartServiceHealthcheck && e.Type == v1.EventTypeWarning &&
				e.InvolvedObject.UID == taken.UID && e.Source.Component == "cloudlb-nodeproxy" && e.Source.Host == node {
				t.Logf("event: %s", e.Message)
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event; events: %+v", nodeproxy.ReasonFailedToStartServiceHealthcheck, evs.Items)
		}
		time.Sleep(pollInterval)
	}

	// Free the port: the next periodic sync serves it.
	holder.Close()
	waitFor(t, "the freed port", serviceURL(port), probeIs(ns, "taken", 200, 1, true))
}
