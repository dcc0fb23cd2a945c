// Package deploy_test checks the manifests under deploy/ and the chart charts/cloudlb against a
// real kube-apiserver, rendered by the real kustomize and helm: every object passes a server-side
// dry-run, the controller manager's RBAC allows every call it makes and nothing else, and the
// binary started with the demo overlay's own arguments runs under that RBAC: it wins the Lease,
// serves /healthz and /metrics, and provisions a load balancer.
package deploy_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cloudlb/cloudlb/integration/controlplane"
)

const (
	namespace    = "kube-system"
	saName       = "cloudlb-controller-manager"
	saUser       = "system:serviceaccount:" + namespace + ":" + saName
	leaseName    = "cloudlb-controller-manager" // --leader-elect-resource-name in deployment.yaml
	fieldManager = "cloudlb-deploy-test"
	finalizer    = "service.kubernetes.io/load-balancer-cleanup"
	pollTimeout  = 60 * time.Second
)

var (
	// shared is the control plane used by all tests of this package.
	shared *controlplane.ControlPlane
	// deployDir is <repo root>/deploy.
	deployDir = filepath.Join("..", "..", "deploy")
	// controllerManagerDir is the controller manager's base, without a cloud.
	controllerManagerDir = filepath.Join(deployDir, "controller-manager")
	// demoDir is the overlay that runs the fake cloud: the only rendering the binary can run
	// against an API server without a cloud behind it.
	demoDir     = filepath.Join(deployDir, "overlays", "demo")
	installOnce sync.Once
	installErr  error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cloudlb-deploy-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	toolHome = filepath.Join(dir, "tools")
	binDir = filepath.Join(dir, "bin")
	// Real clusters (kubeadm and the like) configure a client CA and a front-proxy CA; only then
	// does kube-apiserver publish kube-system/extension-apiserver-authentication, which the
	// controller manager's delegated authentication reads.
	caFile := filepath.Join(dir, "client-ca.crt")
	if err := writeClientCA(caFile); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	cp, err := controlplane.Start(context.Background(), controlplane.Options{ExtraAPIServerFlags: []string{
		"--client-ca-file=" + caFile, "--requestheader-client-ca-file=" + caFile,
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-", "--requestheader-allowed-names=front-proxy-client",
	}})
	if err != nil {
		// Fail, never skip: CI runs `make testbin` before the tests.
		fmt.Fprintf(os.Stderr, "FAIL: start control plane: %v\n", err)
		return 1
	}
	shared = cp
	code := m.Run()
	if err := cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		code = 1
	}
	return code
}

// writeClientCA writes a self-signed CA certificate to path; nothing signs with it.
func writeClientCA(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cloudlb-test-client-ca"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create client CA: %w", err)
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func adminClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	return kubernetes.NewForConfigOrDie(shared.RESTConfig())
}

// manifest is one object of a file under deploy/.
type manifest struct {
	file string
	obj  *unstructured.Unstructured
}

func (m manifest) String() string {
	return fmt.Sprintf("%s %s %s/%s", m.file, m.obj.GetKind(), m.obj.GetNamespace(), m.obj.GetName())
}

// applyManifests server-side applies ms as the admin; dryRun only validates them.
func applyManifests(ctx context.Context, ms []manifest, dryRun bool) error {
	cfg := shared.RESTConfig()
	disco := kubernetes.NewForConfigOrDie(cfg).Discovery()
	groups, err := restmapper.GetAPIGroupResources(disco)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	dyn := dynamic.NewForConfigOrDie(cfg)
	opts := metav1.PatchOptions{FieldManager: fieldManager, FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var errs []error
	for _, m := range ms {
		gvk := m.obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m, err))
			continue
		}
		data, err := json.Marshal(m.obj.Object)
		if err != nil {
			return err
		}
		var client dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == "namespace" {
			if m.obj.GetNamespace() == "" {
				errs = append(errs, fmt.Errorf("%s: namespaced object without metadata.namespace", m))
				continue
			}
			client = dyn.Resource(mapping.Resource).Namespace(m.obj.GetNamespace())
		}
		if _, err := client.Patch(ctx, m.obj.GetName(), types.ApplyPatchType, data, opts); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// waitForBootstrap waits for what kube-apiserver creates itself shortly after it is ready (there
// is no kube-controller-manager): the kube-system namespace and the authentication ConfigMap.
func waitForBootstrap(t *testing.T) {
	t.Helper()
	cs := adminClient(t)
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, pollTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ConfigMaps(namespace).Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
		return err == nil, notFoundOK(err)
	})
	if err != nil {
		t.Fatalf("namespace %s or its authentication ConfigMap never appeared: %v", namespace, err)
	}
}

// notFoundOK drops a NotFound error (a poll keeps waiting, a delete of nothing succeeds).
func notFoundOK(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// installRBAC applies the ServiceAccount and its RBAC, as the demo overlay renders them, for
// real, once for the package.
func installRBAC(t *testing.T) {
	t.Helper()
	waitForBootstrap(t)
	_, all := kustomizeBuild(t, demoDir)
	var ms []manifest
	for _, m := range all {
		if k := m.obj.GetKind(); k == "ServiceAccount" || strings.HasPrefix(k, "Cluster") || strings.HasPrefix(k, "Role") {
			ms = append(ms, m)
		}
	}
	installOnce.Do(func() { installErr = applyManifests(context.Background(), ms, false) })
	if installErr != nil {
		t.Fatalf("install RBAC: %v", installErr)
	}
}

// TestManifestsPassServerSideDryRun renders every kustomization under deploy/ (the bases, the
// overlays) with the real kustomize and dry-runs each object; only the demo
// overlay may run the fake cloud.
func TestManifestsPassServerSideDryRun(t *testing.T) {
	waitForBootstrap(t)
	var kinds []string
	for _, dir := range kustomizationRoots(t) {
		raw, ms := kustomizeBuild(t, dir)
		if err := applyManifests(t.Context(), ms, true); err != nil {
			t.Errorf("server-side dry-run rejected kustomize build %s:\n%v", dir, err)
		}
		if fake := bytes.Contains(raw, []byte("--cloud-provider=fake")); fake != (dir == demoDir) {
			t.Errorf("kustomize build %s: --cloud-provider=fake present: %v; only %s runs the fake cloud, and it must", dir, fake, demoDir)
		}
		for _, m := range ms {
			kinds = append(kinds, m.obj.GetKind())
		}
	}
	for _, want := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "DaemonSet"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no %s under %s", want, deployDir)
		}
	}
}

func TestKustomizationsListTheirFiles(t *testing.T) {
	t.Parallel()
	err := filepath.WalkDir(deployDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(filepath.Join(path, "kustomization.yaml"))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		var k struct{ Resources, Components []string }
		if err := yaml.Unmarshal(raw, &k); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, r := range slices.Concat(k.Resources, k.Components) {
			if _, err := os.Stat(filepath.Join(path, r)); err != nil {
				t.Errorf("%s/kustomization.yaml lists %s: %v", path, r, err)
			}
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.IsDir() && filepath.Ext(e.Name()) == ".yaml" && e.Name() != "kustomization.yaml" && !slices.Contains(k.Resources, e.Name()) {
				t.Errorf("%s/kustomization.yaml does not list %s", path, e.Name())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// permissionCase is one raw API request made as the controller manager's ServiceAccount.
type permissionCase struct {
	name, method, uri string
	// body, if set, builds the request body when the request is made (so an update can carry
	// the current resourceVersion).
	body    func() string
	allowed bool
}

// b is a constant request body.
func b(body string) func() string { return func() string { return body } }

// errOf drops a call's result and keeps its error.
func errOf[T any](_ T, err error) error { return err }

func TestRBACIsEnoughAndLeast(t *testing.T) {
	installRBAC(t)
	admin := adminClient(t)
	ctx := t.Context()
	ns, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rbac-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	svc, err := admin.CoreV1().Services(ns.Name).Create(ctx, lbService("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	createNode(t, admin, "rbac-node")
	if err := errOf(admin.CoordinationV1().Leases(namespace).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "other-lease"}}, metav1.CreateOptions{})); err != nil {
		t.Fatalf("create lease: %v", err)
	}
	// The binary test may have left our Lease behind; the ServiceAccount must be able to create it.
	if err := admin.CoordinationV1().Leases(namespace).Delete(ctx, leaseName, metav1.DeleteOptions{}); notFoundOK(err) != nil {
		t.Fatalf("delete lease: %v", err)
	}
	t.Cleanup(func() {
		for _, name := range []string{leaseName, "other-lease"} {
			_ = admin.CoordinationV1().Leases(namespace).Delete(context.Background(), name, metav1.DeleteOptions{})
		}
	})
	event, err := json.Marshal(&corev1.Event{
		TypeMeta:       metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     metav1.ObjectMeta{Name: "web.rbac-test", Namespace: ns.Name},
		InvolvedObject: corev1.ObjectReference{Kind: "Service", Namespace: ns.Name, Name: svc.Name, UID: svc.UID},
		Reason:         "EnsuringLoadBalancer", Message: "rbac test", Type: corev1.EventTypeNormal, Count: 1,
		Source: corev1.EventSource{Component: "service-controller"}, FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}

	cfg := shared.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: saUser}
	sa := kubernetes.NewForConfigOrDie(cfg)
	// RBAC objects reach the authorizer through an informer: wait for the first grant.
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, pollTimeout, true, func(ctx context.Context) (bool, error) {
		err := errOf(sa.CoreV1().Services("").List(ctx, metav1.ListOptions{Limit: 1}))
		return err == nil, ignoreForbidden(err)
	})
	if err != nil {
		t.Fatalf("RBAC never took effect: %v", err)
	}

	svcURI := "/api/v1/namespaces/" + ns.Name + "/services/web"
	leases := "/apis/coordination.k8s.io/v1/namespaces/" + namespace + "/leases"
	lease := `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"%s"},"spec":{"holderIdentity":"rbac-test"}}`
	// Leader election updates the Lease it has just read, resourceVersion included.
	leaseUpdate := func() string {
		l, err := admin.CoordinationV1().Leases(namespace).Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get lease: %v", err)
		}
		l.Spec.HolderIdentity = new("rbac-test-2")
		data, _ := json.Marshal(l)
		return string(data)
	}
	const get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	// In order: later requests use what earlier ones created (the finalizer, the Event, the Lease).
	cases := []permissionCase{
		// Everything the controller manager does.
		{"list services", get, "/api/v1/services", nil, true},
		{"watch services", get, "/api/v1/services?watch=1&timeoutSeconds=1", nil, true},
		{"get a service", get, svcURI, nil, true},
		{"add the cleanup finalizer", patch, svcURI, b(`{"metadata":{"finalizers":["` + finalizer + `"]}}`), true},
		{"patch services/status", patch, svcURI + "/status", b(`{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.7"}]}}}`), true},
		{"remove the cleanup finalizer", patch, svcURI, b(`{"metadata":{"finalizers":null}}`), true},
		{"list nodes", get, "/api/v1/nodes", nil, true},
		{"watch nodes", get, "/api/v1/nodes?watch=1&timeoutSeconds=1", nil, true},
		{"create an event", post, "/api/v1/namespaces/" + ns.Name + "/events", b(string(event)), true},
		{"patch an event", patch, "/api/v1/namespaces/" + ns.Name + "/events/web.rbac-test", b(`{"count":2}`), true},
		{"create our lease", post, leases, b(fmt.Sprintf(lease, leaseName)), true},
		{"get our lease", get, leases + "/" + leaseName, nil, true},
		{"update our lease", put, leases + "/" + leaseName, leaseUpdate, true},
		{"read the authentication configmap", get, "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication", nil, true},
		{"create a tokenreview", post, "/apis/authentication.k8s.io/v1/tokenreviews",
			b(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"x"}}`), true},
		{"create a subjectaccessreview", post, "/apis/authorization.k8s.io/v1/subjectaccessreviews",
			b(`{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"u","nonResourceAttributes":{"path":"/metrics","verb":"get"}}}`), true},

		// Nothing more.
		{"delete a service", del, svcURI, nil, false},
		{"create a service", post, "/api/v1/namespaces/" + ns.Name + "/services", b(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"}}`), false},
		{"update a service (patches suffice)", put, svcURI, b(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}}`), false},
		{"update services/status (patches suffice)", put, svcURI + "/status", b(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}}`), false},
		{"read secrets", get, "/api/v1/namespaces/kube-system/secrets", nil, false},
		{"list pods", get, "/api/v1/pods", nil, false},
		{"list endpointslices", get, "/apis/discovery.k8s.io/v1/endpointslices", nil, false},
		{"create a node", post, "/api/v1/nodes", b(`{"apiVersion":"v1","kind":"Node","metadata":{"name":"x"}}`), false},
		{"patch a node (only the node controllers may)", patch, "/api/v1/nodes/rbac-node", b(`{"metadata":{"labels":{"x":"y"}}}`), false},
		{"patch nodes/status", patch, "/api/v1/nodes/rbac-node/status", b(`{"status":{}}`), false},
		{"get another lease", get, leases + "/other-lease", nil, false},
		{"update another lease", put, leases + "/other-lease", b(fmt.Sprintf(lease, "other-lease")), false},
		{"read another configmap in kube-system", get, "/api/v1/namespaces/kube-system/configmaps/kube-root-ca.crt", nil, false},
		{"delete an event", del, "/api/v1/namespaces/" + ns.Name + "/events/web.rbac-test", nil, false},
		{"create an events.k8s.io event", post, "/apis/events.k8s.io/v1/namespaces/" + ns.Name + "/events", b(`{"apiVersion":"events.k8s.io/v1","kind":"Event"}`), false},
	}
	for _, tc := range cases {
		// Not parallel: the cases share the Service, the Event and the Lease and run in order.
		t.Run(tc.name, func(t *testing.T) {
			req := sa.CoreV1().RESTClient().Verb(tc.method).RequestURI(tc.uri)
			if tc.body != nil {
				req = req.Body([]byte(tc.body())).SetHeader("Content-Type", "application/json")
				if tc.method == patch {
					req = req.SetHeader("Content-Type", string(types.MergePatchType))
				}
			}
			err := req.Do(t.Context()).Error()
			switch {
			case tc.allowed && err != nil:
				t.Errorf("%s %s as %s: %v, want allowed", tc.method, tc.uri, saUser, err)
			case !tc.allowed && !apierrors.IsForbidden(err):
				t.Errorf("%s %s as %s: error %v, want Forbidden", tc.method, tc.uri, saUser, err)
			}
		})
	}
}

func ignoreForbidden(err error) error {
	if apierrors.IsForbidden(err) {
		return nil
	}
	return err
}

// createNode creates a Ready node, deleted when the test ends.
func createNode(t *testing.T, admin kubernetes.Interface, name string) {
	t.Helper()
	node, err := admin.CoreV1().Nodes().Create(t.Context(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node: %v", err)
	}
	t.Cleanup(func() { _ = admin.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.20"}}
	if _, err := admin.CoreV1().Nodes().UpdateStatus(t.Context(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("node status: %v", err)
	}
}

func lbService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:  corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}},
		},
	}
}

// TestBinaryRunsUnderShippedRBAC starts cloudlb-controller-manager with the demo overlay's
// Deployment arguments (the base's plus the fake cloud) and a token of the shipped ServiceAccount:
// anything the binary needs beyond rbac.yaml shows up as a failed step or a "forbidden" line in
// its log.
func TestBinaryRunsUnderShippedRBAC(t *testing.T) {
	installRBAC(t)
	admin := adminClient(t)
	ctx := t.Context()
	dir := t.TempDir()
	if err := admin.CoordinationV1().Leases(namespace).Delete(ctx, leaseName, metav1.DeleteOptions{}); notFoundOK(err) != nil {
		t.Fatalf("delete stale lease: %v", err)
	}

	bin := buildBinaries(t)
	kubeconfig := serviceAccountKubeconfig(t, admin, dir)
	port := freePort(t)
	// The overrides come last so they win: the API server and a free loopback port of this test.
	args := append(deploymentArgs(t), "--kubeconfig="+kubeconfig, "--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig, "--bind-address=127.0.0.1", "--secure-port="+port)
	logPath := filepath.Join(dir, "controller-manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	proc := exec.Command(filepath.Join(bin, "cloudlb-controller-manager"), args...)
	proc.Stdout, proc.Stderr = logFile, logFile
	if err := proc.Start(); err != nil {
		t.Fatalf("start controller manager: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = proc.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = proc.Process.Kill()
		<-exited
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("controller manager log:\n%s", out)
		}
	})
	// poll fails fast once the process is gone.
	poll := func(what string, cond func(ctx context.Context) (bool, error)) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, pollTimeout, true, func(ctx context.Context) (bool, error) {
			select {
			case <-exited:
				return false, fmt.Errorf("controller manager exited: %v", proc.ProcessState)
			default:
			}
			return cond(ctx)
		})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	poll("lease acquired", func(ctx context.Context) (bool, error) {
		l, err := admin.CoordinationV1().Leases(namespace).Get(ctx, leaseName, metav1.GetOptions{})
		return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "", notFoundOK(err)
	})
	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed serving cert
	base := "https://127.0.0.1:" + port
	poll("/healthz", func(ctx context.Context) (bool, error) {
		code, _ := get(ctx, httpc, base+"/healthz", "")
		return code == http.StatusOK, nil
	})
	// /metrics goes through delegated authentication and authorization (TokenReview, SubjectAccessReview).
	if code, _ := get(ctx, httpc, base+"/metrics", ""); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("anonymous GET /metrics = %d, want 401 or 403", code)
	}
	wantMetric := `leader_election_master_status{name="` + leaseName + `"} 1`
	poll("/metrics with an admin token", func(ctx context.Context) (bool, error) {
		code, body := get(ctx, httpc, base+"/metrics", shared.RESTConfig().BearerToken)
		return code == http.StatusOK && strings.Contains(body, wantMetric), nil
	})

	// The service controller provisions, reports and cleans up a load balancer.
	createNode(t, admin, "binary-node")
	ns, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "binary-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	services := admin.CoreV1().Services(ns.Name)
	if _, err := services.Create(ctx, lbService("web"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	poll("service gets an ingress and the cleanup finalizer", func(ctx context.Context) (bool, error) {
		s, err := services.Get(ctx, "web", metav1.GetOptions{})
		return err == nil && len(s.Status.LoadBalancer.Ingress) > 0 && slices.Contains(s.Finalizers, finalizer), err
	})
	if err := services.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete service: %v", err)
	}
	poll("service deleted after its load balancer", func(ctx context.Context) (bool, error) {
		_, err := services.Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), notFoundOK(err)
	})

	// Every family of cloudlb's own and of upstream's service controller it serves is in
	// docs/metrics.md, and upstream's four names are served.
	_, body := get(ctx, httpc, base+"/metrics", shared.RESTConfig().BearerToken)
	checkMetricsDocumented(t, body, "service_controller_loadbalancer_sync_total", "service_controller_nodesync_error_total",
		"service_controller_nodesync_latency_seconds", "service_controller_update_loadbalancer_host_latency_seconds",
		"cloudlb_service_controller_reconcile_duration_seconds", "cloudlb_cloud_api_calls_total")

	out, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(out)) {
		if strings.Contains(strings.ToLower(line), "forbidden") {
			t.Errorf("the controller manager was refused something: %s", line)
		}
	}
}

// deploymentArgs returns the controller manager's arguments as the demo overlay renders them.
func deploymentArgs(t *testing.T) []string {
	t.Helper()
	_, ms := kustomizeBuild(t, demoDir)
	return onlyDeployment(t, ms).Spec.Template.Spec.Containers[0].Args
}

// serviceAccountKubeconfig writes a kubeconfig holding a token of the controller manager's ServiceAccount.
func serviceAccountKubeconfig(t *testing.T, admin kubernetes.Interface, dir string) string {
	t.Helper()
	tr, err := admin.CoreV1().ServiceAccounts(namespace).CreateToken(t.Context(), saName,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("request a token for %s: %v", saUser, err)
	}
	cfg := shared.RESTConfig()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[saName] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts[saName] = &clientcmdapi.Context{Cluster: "test", AuthInfo: saName}
	kc.CurrentContext = saName
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// get returns the status code and body of a GET, or 0 when the request failed.
func get(ctx context.Context, c *http.Client, url, token string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, ""
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// checkMetricsDocumented fails t when a cloudlb_* or service_controller_* family of the scraped
// body is not in docs/metrics.md, or one of want is not served.
func checkMetricsDocumented(t *testing.T, body string, want ...string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for line := range strings.Lines(body) {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, _, _ = strings.Cut(name, " ")
			served[name] = true
		}
	}
	for name := range served {
		if (strings.HasPrefix(name, "cloudlb_") || strings.HasPrefix(name, "service_controller_")) && !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("/metrics serves %s, which docs/metrics.md does not describe", name)
		}
	}
	for _, name := range want {
		if !served[name] {
			t.Errorf("/metrics does not serve %s", name)
		}
	}
}
