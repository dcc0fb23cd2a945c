package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	"github.com/cloudlb/cloudlb/providers"
	"github.com/cloudlb/cloudlb/providers/azure"
	"github.com/cloudlb/cloudlb/providers/gce"
)

func TestPlanLiveUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"live without cloud config", []string{"plan", "--cloud", "azure", "--live", "-f", "testdata/plan/tls-clb.yaml"},
			"cloudlb plan: --live needs --cloud-config: the cloud config says which cloud"},
		{"kubeconfig without live", []string{"plan", "--cloud", "azure", "--kubeconfig", "kc", "-f", "testdata/plan/tls-clb.yaml"},
			"--kubeconfig is read only with --live"},
		{"kubeconfig and nodes", []string{"plan", "--cloud", "azure", "--live", "--cloud-config", "testdata/cloudconfig/azure.json", "--kubeconfig", "kc", "--nodes", "2", "-f", "testdata/plan/tls-clb.yaml"},
			"--nodes and --kubeconfig: give one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", tc.args...)
			if code != exitUsage || !strings.Contains(errOut, tc.wantErr) || out != "" {
				t.Errorf("exit %d stderr %q stdout %q, want %d, %q and no stdout", code, errOut, out, exitUsage, tc.wantErr)
			}
		})
	}
}

// TestPlanLiveUnreadableKubeconfig: the cluster's Nodes cannot be read: a usage error, no plan.
func TestPlanLiveUnreadableKubeconfig(t *testing.T) {
	t.Parallel()
	config := writeFile(t, "azure.json", []byte(`{"subscriptionId": "s", "resourceGroup": "rg", "location": "westeurope", "vnetName": "vnet",
		"subnetName": "nodes", "resourceManagerEndpoint": "http://127.0.0.1:1"}`))
	code, out, errOut := runCLI(t, "", "plan", "--cloud", "azure", "--live", "--cloud-config", config, "--kubeconfig", "testdata/nope.kubeconfig",
		"-f", "testdata/plan/tls-clb.yaml")
	if code != exitUsage || out != "" || !strings.Contains(errOut, "cloudlb plan: --kubeconfig: ") || !strings.Contains(errOut, "nope.kubeconfig") {
		t.Errorf("exit %d stderr %q stdout %q, want %d, the kubeconfig named and no stdout", code, errOut, out, exitUsage)
	}
}

// startFake runs a fake cloud as `cloudlb fakecloud CLOUD` does, in-process, until the test
// ends, and returns the submatches of re in what it printed first (its endpoint).
func startFake(t *testing.T, serve func(ctx context.Context, w io.Writer) error, re *regexp.Regexp) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := serve(ctx, pw)
		_ = pw.Close()
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("fake cloud: %v", err)
		}
	})
	var text []byte
	buf := make([]byte, 4096)
	for {
		n, err := pr.Read(buf)
		text = append(text, buf[:n]...)
		if m := re.FindStringSubmatch(string(text)); m != nil {
			go func() { _, _ = io.Copy(io.Discard, pr) }() // the summary it prints when stopped
			return m
		}
		if err != nil {
			t.Fatalf("the fake cloud printed %q: %v", text, err)
		}
	}
}

// countWrites is a proxy to target that counts the requests that write: the writes the
// fake would see.
func countWrites(t *testing.T, target string) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWrite(r) {
			writes.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &writes
}

// isWrite reports whether a cloud API request writes: any but GET for ARM and Compute; for
// AWS, whose Query and JSON protocols POST every call, an action that is not a Describe,
// List or Get.
func isWrite(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	action := r.Header.Get("X-Amz-Target")
	if _, op, ok := strings.Cut(action, "."); ok {
		action = op
	} else if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		action = form.Get("Action")
	}
	for _, read := range []string{"Describe", "List", "Get"} {
		if strings.HasPrefix(action, read) {
			return false
		}
	}
	return true
}

// fakeNodes is a kube-apiserver that only lists Nodes, and the kubeconfig that points at it.
type fakeNodes struct {
	mu    sync.Mutex
	nodes []v1.Node
}

func (f *fakeNodes) set(nodes []*v1.Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes = nil
	for _, n := range nodes {
		f.nodes = append(f.nodes, *n)
	}
}

func (f *fakeNodes) kubeconfig(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/nodes" {
			http.Error(w, "only GET /api/v1/nodes", http.StatusNotFound)
			return
		}
		f.mu.Lock()
		list := v1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"}, Items: f.nodes}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	}))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n", srv.URL)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// liveService is the Service the live plans read, as the API server returns it (UID and
// nodePorts set), with annotations.
func liveService(ann map[string]string) *v1.Service {
	return &v1.Service{
		TypeMeta:   metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: types.UID("5f3e1c2a-8b7d-4e6f-9a1b-2c3d4e5f6a7b"), Annotations: ann},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: []v1.ServicePort{
			{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
			{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443},
		}},
	}
}

// writeFile writes data to a file of the test and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func manifest(t *testing.T, svc *v1.Service) string {
	t.Helper()
	b, err := yaml.Marshal(svc)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "svc.yaml", b)
}

// livePlan runs cloudlb plan --live -o json and returns the writes of its one Service.
func livePlan(t *testing.T, writes *atomic.Int64, args ...string) []liveWrite {
	t.Helper()
	before := writes.Load()
	code, out, errOut := runCLI(t, "", append([]string{"plan", "--live", "-o", "json"}, args...)...)
	if code != exitOK {
		t.Fatalf("cloudlb plan %v: exit %d\n%s", args, code, errOut)
	}
	var got []livePlanEntry
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("not one plan (%v):\n%s", err, out)
	}
	// The text form, for a person reading the test's log (go test -v).
	_, text, _ := runCLI(t, "", append([]string{"plan", "--live"}, args...)...)
	t.Logf("cloudlb plan --live %s\n%s", strings.Join(args, " "), text)
	if n := writes.Load() - before; n != 0 {
		t.Errorf("cloudlb plan %v made %d writes", args, n)
	}
	return got[0].Writes
}

func ops(ws []liveWrite) string {
	var out []string
	for _, w := range ws {
		out = append(out, strings.TrimSpace(w.Operation+" "+strings.ToLower(w.Change)))
	}
	return strings.Join(out, ", ")
}

func liveTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestPlanLiveAzure plans a Service against `cloudlb fakecloud azure`: a new one, the same once
// applied, one more node (from the cluster of --kubeconfig), and an annotation change; the
// fake sees no write from the CLI.
func TestPlanLiveAzure(t *testing.T) {
	t.Parallel()
	m := startFake(t, func(ctx context.Context, w io.Writer) error { return serveFakeAzure(ctx, "127.0.0.1:0", w) },
		regexp.MustCompile(`at (http://\S+)\nsubscription (\S+);`))
	fakeURL, sub := m[1], m[2]
	proxied, writes := countWrites(t, fakeURL)
	ctx := liveTimeout(t)
	f, err := armnetwork.NewClientFactory(sub, fakeazure.Credential(), fakeazure.ClientOptions(fakeURL))
	if err != nil {
		t.Fatal(err)
	}
	vp, err := f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, "rg", "vnet", armnetwork.VirtualNetwork{Location: to.Ptr("westeurope"),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs("10.0.0.0/16")},
			Subnets: []*armnetwork.Subnet{{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.0.0/24")}}}}}, nil)
	if err == nil {
		_, err = vp.PollUntilDone(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	azureJSON := func(endpoint string) string {
		return fmt.Sprintf(`{"cloud": "AzurePublicCloud", "tenantId": "t", "subscriptionId": %q, "resourceGroup": "rg", "location": "westeurope",
			"vnetName": "vnet", "subnetName": "nodes", "loadBalancerSku": "Standard", "resourceManagerEndpoint": %q}`, sub, endpoint)
	}
	config := writeFile(t, "azure.json", []byte(azureJSON(proxied)))
	svc := liveService(nil)
	file := manifest(t, svc)
	nodes := placeholderNodes("azure", 3, nodeSite{subscription: sub, resourceGroup: "rg"})
	var cluster fakeNodes
	cluster.set(nodes)
	kubeconfig := cluster.kubeconfig(t)
	args := []string{"--cloud", "azure", "--cloud-config", config, "-f", file}

	if got := ops(livePlan(t, writes, args...)); got != "PUT publicIPAddresses created, PUT loadBalancers created" {
		t.Errorf("new Service: %s", got)
	}
	cc, err := azure.ParseCloudConfig(strings.NewReader(azureJSON(fakeURL)))
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := azure.NewFromConfig(cc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.EnsureLoadBalancer(ctx, "kubernetes", svc, nodes); err != nil {
		t.Fatal(err)
	}
	if got := livePlan(t, writes, args...); len(got) != 0 {
		t.Errorf("applied Service, placeholder nodes: %s", ops(got))
	}
	if got := livePlan(t, writes, append(args, "--kubeconfig", kubeconfig)...); len(got) != 0 {
		t.Errorf("applied Service, the cluster's nodes: %s", ops(got))
	}
	cluster.set(placeholderNodes("azure", 4, nodeSite{subscription: sub, resourceGroup: "rg"}))
	got := livePlan(t, writes, append(args, "--kubeconfig", kubeconfig)...)
	if ops(got) != "PUT loadBalancers" || !strings.HasSuffix(got[0].Object, "/loadBalancers/kubernetes") || !strings.Contains(got[0].Reason, "pools") {
		t.Errorf("a node more: %+v", got)
	}
	changed := manifest(t, liveService(map[string]string{"service.beta.kubernetes.io/azure-pip-tags": "team=shop",
		"service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout": "10"}))
	if got := ops(livePlan(t, writes, "--cloud", "azure", "--cloud-config", config, "-f", changed)); got != "PUT publicIPAddresses, PUT loadBalancers" {
		t.Errorf("annotations changed: %s", got)
	}

	// The text form is the plan as a person reads it; the nodes' note goes to stderr.
	code, out, errOut := runCLI(t, "", append([]string{"plan", "--live"}, args...)...)
	if code != exitOK || out != "azure plan for shop/web: no writes (the cloud matches the Service)\n" ||
		!strings.Contains(errOut, "no --kubeconfig: the load balancers target 3 placeholder nodes") ||
		!strings.Contains(errOut, "1 LoadBalancer Service planned for azure (live): 0 errors, 0 warnings") {
		t.Errorf("text: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if n := writes.Load(); n != 0 {
		t.Errorf("the CLI made %d writes", n)
	}
}

// TestPlanLiveGCE plans a Service against the fake `cloudlb fakecloud gce` serves (built here,
// to give it the nodes' instances): new, applied, one node more.
func TestPlanLiveGCE(t *testing.T) {
	t.Parallel()
	fake := fakegce.New(fakegce.Options{})
	fakeURL, err := fake.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	project, region := fake.Project(), fake.Region()
	for i := 1; i <= 4; i++ {
		fake.AddInstance(fakegce.Instance{Name: fmt.Sprintf("node-%d", i), Zone: region + "-a", Tags: []string{"k8s-node"}})
	}

	proxied, writes := countWrites(t, fakeURL)
	conf := func(endpoint string) string {
		return fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\nnode-tags = k8s-node\ncluster-id = demo\napi-endpoint = %s\n", project, region, endpoint)
	}
	config := writeFile(t, "gce.conf", []byte(conf(proxied)))
	svc := liveService(nil)
	args := []string{"--cloud", "gce", "--cloud-config", config, "-f", manifest(t, svc)}
	got := livePlan(t, writes, args...)
	if want := "insert addresses created, insert firewalls created, insert firewalls created, insert httpHealthChecks created, insert targetPools created, insert forwardingRules created, forwardingRules.setLabels"; ops(got) != want {
		t.Errorf("new Service: %s, want %s", ops(got), want)
	}
	cc, err := gce.ParseCloudConfig(strings.NewReader(conf(fakeURL)))
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := gce.NewFromConfig(liveTimeout(t), cc)
	if err != nil {
		t.Fatal(err)
	}
	nodes := placeholderNodes("gce", 3, nodeSite{project: project, zone: region + "-a"})
	if _, err := cloud.EnsureLoadBalancer(providers.WithReason(liveTimeout(t), "test"), "kubernetes", svc, nodes); err != nil {
		t.Fatal(err)
	}
	if got := livePlan(t, writes, args...); len(got) != 0 {
		t.Errorf("applied Service: %s", ops(got))
	}
	if got := ops(livePlan(t, writes, append(args, "--nodes", "4")...)); got != "targetPools.addInstance" {
		t.Errorf("a node more: %s", got)
	}
}
