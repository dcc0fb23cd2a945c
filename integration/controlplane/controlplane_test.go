package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cloudlb/cloudlb/integration/controlplane"
)

// shared is the control plane used by all tests of this package.
var shared *controlplane.ControlPlane

func TestMain(m *testing.M) {
	began := time.Now()
	cp, err := controlplane.Start(context.Background(), controlplane.Options{})
	if err != nil {
		// Fail, never skip: CI runs `make testbin` before the tests.
		fmt.Fprintf(os.Stderr, "FAIL: start control plane: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("control plane ready in %s\n", time.Since(began).Round(time.Millisecond))
	shared = cp
	code := m.Run()
	began = time.Now()
	if err := cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		code = 1
	}
	fmt.Printf("control plane stopped in %s\n", time.Since(began).Round(time.Millisecond))
	os.Exit(code)
}

// adminClient returns a clientset for the shared control plane's admin identity.
func adminClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(shared.RESTConfig())
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return cs
}

// createNamespace creates a fresh namespace. It is not deleted: without a
// namespace controller it would stay Terminating, and Stop discards everything.
func createNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(t.Context(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cloudlb-test-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

func TestLoadBalancerServiceGetsAllocations(t *testing.T) {
	cs := adminClient(t)
	ns := createNamespace(t, cs)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeLoadBalancer,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Selector:              map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)},
				{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(8443)},
			},
		},
	}
	if _, err := cs.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	got, err := cs.CoreV1().Services(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get service: %v", err)
	}

	_, serviceCIDR, _ := net.ParseCIDR("10.0.0.0/16")
	if ip := net.ParseIP(got.Spec.ClusterIP); ip == nil || !serviceCIDR.Contains(ip) {
		t.Errorf("clusterIP = %q, want an address in %s", got.Spec.ClusterIP, serviceCIDR)
	}
	if len(got.Spec.Ports) != 2 {
		t.Fatalf("got %d ports, want 2: %+v", len(got.Spec.Ports), got.Spec.Ports)
	}
	inRange := func(p int32) bool { return p >= 30000 && p <= 32767 }
	var nodePorts []int32
	for _, p := range got.Spec.Ports {
		if !inRange(p.NodePort) {
			t.Errorf("port %q: nodePort = %d, want one in 30000-32767", p.Name, p.NodePort)
		}
		nodePorts = append(nodePorts, p.NodePort)
	}
	if nodePorts[0] == nodePorts[1] {
		t.Errorf("both ports got nodePort %d", nodePorts[0])
	}
	if hc := got.Spec.HealthCheckNodePort; !inRange(hc) || slices.Contains(nodePorts, hc) {
		t.Errorf("healthCheckNodePort = %d, want a distinct port in 30000-32767 (nodePorts %v)", hc, nodePorts)
	}
}

func TestRBACForbidsUnprivilegedUser(t *testing.T) {
	cs, err := kubernetes.NewForConfig(shared.UnprivilegedRESTConfig())
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	_, err = cs.CoreV1().Services(metav1.NamespaceDefault).List(t.Context(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("list services as %s: err = %v, want Forbidden", controlplane.UnprivilegedUser, err)
	}
	// Forbidden (not Unauthorized) means the token authenticated; check whom as.
	if want := fmt.Sprintf("User %q", controlplane.UnprivilegedUser); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %s", err, want)
	}
}

func TestKubeconfigWorks(t *testing.T) {
	cfg, err := clientcmd.BuildConfigFromFlags("", shared.KubeconfigPath())
	if err != nil {
		t.Fatalf("load kubeconfig %s: %v", shared.KubeconfigPath(), err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	list, err := cs.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list namespaces: %v", err)
	}
	var names []string
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	if !slices.Contains(names, metav1.NamespaceDefault) {
		t.Errorf("namespaces %v lack %q", names, metav1.NamespaceDefault)
	}
}

func TestStopLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	cp, err := controlplane.Start(t.Context(), controlplane.Options{Dir: parent})
	if err != nil {
		t.Fatalf("start second control plane: %v", err)
	}
	defer cp.Stop() // in case an assertion below fails early

	etcdPID, apiserverPID := cp.PIDs()
	workDir := filepath.Dir(cp.KubeconfigPath())
	if _, err := os.Stat(workDir); err != nil {
		t.Fatalf("working directory: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(t.Context(), metav1.NamespaceDefault, metav1.GetOptions{}); err != nil {
		t.Fatalf("second control plane does not serve: %v", err)
	}

	began := time.Now()
	if err := cp.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(began).Round(time.Millisecond))
	if err := cp.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for name, pid := range map[string]int{"etcd": etcdPID, "kube-apiserver": apiserverPID} {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) after Stop: kill(pid, 0) = %v, want ESRCH", name, pid, err)
		}
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s process group %d after Stop: kill(-pgid, 0) = %v, want ESRCH", name, pid, err)
		}
	}
	if _, err := os.Stat(workDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("working directory %s after Stop: stat err = %v, want not exist", workDir, err)
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
		t.Errorf("Options.Dir %s after Stop: entries %v, err %v; want empty", parent, entries, err)
	}
}

func TestMissingBinariesSayMakeTestbin(t *testing.T) {
	_, err := controlplane.Start(t.Context(), controlplane.Options{BinDir: t.TempDir(), Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make testbin") {
		t.Fatalf("Start with empty BinDir: err = %v, want one mentioning `make testbin`", err)
	}
}
