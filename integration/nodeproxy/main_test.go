// Package nodeproxy_test runs the node agent in-process against a real etcd and kube-apiserver
// (one control plane for the package): it creates Nodes, Local LoadBalancer Services (the API
// server allocates their healthCheckNodePort) and EndpointSlices, and probes the agent's
// servers on loopback as a cloud load balancer would.
//
// The agent serves every Local Service of the cluster, so two agents at once would fight over
// the same health check ports: the tests do not call t.Parallel, each starts its own agent and
// deletes its Services when it ends (there is no namespace controller to do it).
package nodeproxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/cloudlb/cloudlb/integration/controlplane"
	"github.com/cloudlb/cloudlb/nodeproxy"
)

// shared is the control plane of every test of this package.
var shared *controlplane.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(controlplane.RunMain(m, controlplane.Options{}, func(cp *controlplane.ControlPlane) error {
		shared = cp
		if err := installRBAC(context.Background(), cp.RESTConfig()); err != nil {
			return fmt.Errorf("install RBAC: %w", err)
		}
		return nil
	}))
}

const (
	waitTimeout  = 30 * time.Second
	pollInterval = 20 * time.Millisecond
	// syncPeriod is short so that a port freed after a bind failure is retried quickly.
	syncPeriod = time.Second
)

func newClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(shared.RESTConfig())
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return cs
}

// freeLoopbackPort returns a loopback TCP port that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startAgent runs an agent for node in this process, as the DaemonSet's ServiceAccount, until
// the test ends; setup (e.g. adding actuators) runs before it starts. It returns the node health
// server's base URL.
func startAgent(t *testing.T, node string, setup ...func(*nodeproxy.Agent)) string {
	t.Helper()
	return startAgentWith(t, node, nil, setup...)
}

// startAgentWith is startAgent with options changed by tune first.
func startAgentWith(t *testing.T, node string, tune func(*nodeproxy.Options), setup ...func(*nodeproxy.Agent)) string {
	t.Helper()
	healthz := net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t)))
	opts := nodeproxy.Options{
		NodeName:           node,
		HealthzBindAddress: healthz,
		NodePortAddresses:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		SyncPeriod:         syncPeriod,
	}
	if tune != nil {
		tune(&opts)
	}
	agent, err := nodeproxy.New(opts, nodeproxy.Deps{Client: kubernetes.NewForConfigOrDie(agentRESTConfig())})
	if err != nil {
		t.Fatalf("new agent: %v", err)
	}
	for _, f := range setup {
		f(agent)
	}
	logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.Verbosity(4)))
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent.Run: %v", err)
		}
	})
	return "http://" + healthz
}

func createNode(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	_, err := client.CoreV1().Nodes().Create(t.Context(), &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node: %v", err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// createNamespace creates a namespace named prefix-<random>.
func createNamespace(t *testing.T, client kubernetes.Interface, prefix string) string {
	t.Helper()
	return controlplane.CreateNamespace(t, client, prefix)
}

// createLocalService creates a Local LoadBalancer Service; healthCheckNodePort 0 lets the API
// server allocate it. It is deleted when the test ends.
func createLocalService(t *testing.T, client kubernetes.Interface, ns, name string, healthCheckNodePort int32) *v1.Service {
	t.Helper()
	svc, err := client.CoreV1().Services(ns).Create(t.Context(), &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{
			Type:                  v1.ServiceTypeLoadBalancer,
			ExternalTrafficPolicy: v1.ServiceExternalTrafficPolicyLocal,
			HealthCheckNodePort:   healthCheckNodePort,
			Selector:              map[string]string{"app": name},
			Ports:                 []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().Services(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	if svc.Spec.HealthCheckNodePort == 0 {
		t.Fatal("the API server allocated no healthCheckNodePort")
	}
	return svc
}

// endpoint is one endpoint on node; conditions nil are left nil.
func endpoint(ip, node string, ready, serving, terminating *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{
		Addresses:  []string{ip},
		NodeName:   ptr.To(node),
		Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating},
	}
}

func endpointSlice(ns, svc, name string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(v1.ProtocolTCP), Port: ptr.To[int32](8080)}},
		Endpoints:   eps,
	}
}

// answer is one HTTP answer of a health server.
type answer struct {
	Code   int
	Header http.Header
	Body   map[string]any
	Err    error
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

func get(url string) answer {
	resp, err := httpClient.Get(url)
	if err != nil {
		return answer{Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{Err: err}
	}
	a := answer{Code: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		a.Err = fmt.Errorf("body %q: %w", raw, err)
	}
	return a
}

// waitFor polls url until ok accepts the answer; it fails the test with the last answer.
func waitFor(t *testing.T, what, url string, ok func(answer) bool) answer {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last answer
	for time.Now().Before(deadline) {
		if last = get(url); last.Err == nil && ok(last) {
			return last
		}
		time.Sleep(pollInterval)
	}
	t.Fatalf("%s: %s never answered as expected; last answer: code %d, headers %v, body %v, error %v", what, url, last.Code, last.Header, last.Body, last.Err)
	return last
}

func serviceURL(port int32) string {
	return "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/healthz"
}
