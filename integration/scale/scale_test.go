package scale_test

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/cloudlb/cloudlb/integration/controllermanager"
	"github.com/cloudlb/cloudlb/integration/controlplane"
	"github.com/cloudlb/cloudlb/providers/fake"
)

// The harness of issue 16: 1,000 Ready Nodes, the Services created first, then the binary
// started cold.
const (
	scaleNodes = 1000
	// scaleIPPool holds more addresses than the largest run (the fake's default /24 holds 254);
	// it is the only setting of the cloud config.
	scaleIPPool = "100.64.0.0/16"
	// creators is how many concurrent requests the test's own (unthrottled) client makes when
	// creating and deleting Nodes and Services.
	creators = 32
	// steadyWindow is how long after convergence the process is measured again: its RSS then,
	// and its CPU use over the window.
	steadyWindow = 30 * time.Second
	// convergeTimeout bounds one convergence; the user measured 9 min 9 s for 5,000 Services.
	convergeTimeout = 20 * time.Minute
	// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every
	// Linux architecture Go supports (sysconf(_SC_CLK_TCK) would need cgo).
	clockTicks = 100
	// rssTargetMiB is issue 16's target; above it the benchmark saves a heap profile if
	// -heapprofile-dir is set.
	rssTargetMiB = 150
)

var heapProfileDir = flag.String("heapprofile-dir", "",
	"directory to save the controller manager's heap profile (/debug/pprof/heap) in when its steady RSS exceeds the target")

// BenchmarkControllerManagerScale starts bin/cloudlb-controller-manager --cloud-provider=fake
// with its shipped defaults (client limit, workers, informers) over scaleNodes Ready Nodes and
// a fresh namespace of LoadBalancer Services, and measures the time until every Service reports
// an ingress, then the process's RSS and CPU at convergence and steadyWindow later.
func BenchmarkControllerManagerScale(b *testing.B) {
	if testing.Short() {
		b.Skip("starts the controller manager over thousands of objects: minutes")
	}
	cs := newClient(b)
	createReadyNodes(b, cs, scaleNodes)
	for _, services := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("services=%d", services), func(b *testing.B) {
			var m scaleMetrics
			for range b.N {
				m.add(runScale(b, cs, services))
			}
			m.report(b, services)
		})
	}
}

// scaleRun is what one run measured.
type scaleRun struct {
	converge     time.Duration
	convergeCPU  float64 // CPU seconds from start to convergence
	steadyRSS    uint64  // VmRSS, bytes, steadyWindow after convergence
	peakRSS      uint64  // VmHWM, bytes
	steadyCPUPct float64 // CPU use over steadyWindow, percent of one core
	requests     int     // requests of the controller's clients until convergence
	burst        burstRun
}

// scaleMetrics sums the runs of one sub-benchmark.
type scaleMetrics struct {
	n    int
	runs scaleRun
}

func (m *scaleMetrics) add(r scaleRun) {
	m.n++
	m.runs.converge += r.converge
	m.runs.convergeCPU += r.convergeCPU
	m.runs.steadyRSS += r.steadyRSS
	m.runs.peakRSS = max(m.runs.peakRSS, r.peakRSS)
	m.runs.steadyCPUPct += r.steadyCPUPct
	m.runs.requests += r.requests
	m.runs.burst.writes += r.burst.writes
	m.runs.burst.settle += r.burst.settle
}

func (m *scaleMetrics) report(b *testing.B, services int) {
	n := float64(m.n)
	const mib = 1 << 20
	b.ReportMetric(m.runs.converge.Seconds()/n, "s-to-converge")
	b.ReportMetric(float64(services)*n/m.runs.converge.Seconds(), "services/s")
	b.ReportMetric(float64(m.runs.steadyRSS)/n/mib, "rss-MiB")
	b.ReportMetric(float64(m.runs.peakRSS)/mib, "peak-rss-MiB")
	b.ReportMetric(m.runs.convergeCPU/n, "cpu-s")
	b.ReportMetric(m.runs.steadyCPUPct/n, "steady-cpu-%")
	b.ReportMetric(float64(m.runs.requests)/n, "api-requests")
	b.ReportMetric(float64(m.runs.burst.writes)/n/float64(services), "burst-writes/lb")
	b.ReportMetric(m.runs.burst.settle.Seconds()/n, "burst-s")
}

// runScale measures one cold start over services new Services, and removes them afterwards.
func runScale(b *testing.B, cs kubernetes.Interface, services int) scaleRun {
	b.Helper()
	b.StopTimer()
	ns := controlplane.CreateNamespace(b, cs, "scale")
	names := make([]string, services)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%05d", i)
	}
	began := time.Now()
	parallel(b, names, func(ctx context.Context, name string) error {
		_, err := cs.CoreV1().Services(ns).Create(ctx, newService(ns, name), metav1.CreateOptions{})
		return err
	})
	b.Logf("created %d Services in %s", services, time.Since(began).Round(time.Millisecond))
	defer deleteServices(b, cs, ns, names)

	watch := watchIngress(b, cs, ns, services)
	defer watch.stop()
	runtime.GC()

	b.StartTimer()
	began = time.Now()
	ccm := controllermanager.StartForTest(b, controllermanager.Options{
		Kubeconfig:   shared.KubeconfigPath(),
		CloudConfig:  fake.Config{IPPool: scaleIPPool},
		StartTimeout: time.Minute,
	})
	select {
	case <-watch.done:
	case <-ccm.Done():
		b.Fatalf("cloudlb-controller-manager exited before convergence; log:\n%s", ccm.Tail(40))
	case <-time.After(convergeTimeout):
		b.Fatalf("%d of %d Services have an ingress after %s", watch.ready.Load(), services, convergeTimeout)
	}
	converged := time.Since(began)
	b.StopTimer()

	atConverge := readProc(b, ccm.PID())
	requests, byMethod := controllerRequests(b, ccm.URL())
	b.Logf("converged in %s: %d requests of the controller's clients (%s); RSS %.1f MiB",
		converged.Round(time.Millisecond), requests, byMethod, float64(atConverge.rss)/(1<<20))
	time.Sleep(steadyWindow)
	steady := readProc(b, ccm.PID())
	// The Events queued behind the PATCHes (one client limit for both) are written after
	// convergence: the requests of the window say how many.
	after, afterByMethod := controllerRequests(b, ccm.URL())
	b.Logf("%s later: %d requests (%s); RSS %.1f MiB (anonymous %.1f, file %.1f)", steadyWindow, after, afterByMethod,
		float64(steady.rss)/(1<<20), float64(steady.anon)/(1<<20), float64(steady.file)/(1<<20))

	run := scaleRun{
		converge:     converged,
		convergeCPU:  atConverge.cpu,
		steadyRSS:    steady.rss,
		peakRSS:      steady.hwm,
		steadyCPUPct: 100 * (steady.cpu - atConverge.cpu) / steadyWindow.Seconds(),
		requests:     requests,
	}
	if run.steadyRSS > rssTargetMiB<<20 && *heapProfileDir != "" {
		saveHeapProfile(b, ccm.URL(), filepath.Join(*heapProfileDir, fmt.Sprintf("heap-services=%d.pb.gz", services)))
	}
	var burstNodes []string
	run.burst, burstNodes = nodeBurst(b, cs, ccm.URL(), services)
	if err := ccm.Stop(); err != nil {
		b.Errorf("stop cloudlb-controller-manager: %v", err)
	}
	deleteNodes(b, cs, burstNodes) // the next run starts over the same scaleNodes
	return run
}

// newClient is an admin client of the shared control plane for the benchmark's own requests,
// without client-side rate limiting: setting up thousands of objects must not wait on it.
func newClient(b *testing.B) kubernetes.Interface {
	b.Helper()
	cfg := shared.RESTConfig()
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatalf("create client: %v", err)
	}
	return cs
}

// createReadyNodes creates n Nodes with provider IDs and addresses and marks them Ready, as a
// kubelet would.
func createReadyNodes(b *testing.B, cs kubernetes.Interface, n int) {
	b.Helper()
	began := time.Now()
	createNodes(b, cs, "scale-node-", 0, n)
	b.Logf("created %d Ready Nodes in %s", n, time.Since(began).Round(time.Millisecond))
}

// createNodes creates Ready Nodes <prefix><i> for i in [first, first+n), their addresses and
// zones following i, and returns their names.
func createNodes(b *testing.B, cs kubernetes.Interface, prefix string, first, n int) []string {
	b.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%04d", prefix, first+i)
	}
	parallel(b, names, func(ctx context.Context, name string) error {
		i, _ := strconv.Atoi(strings.TrimPrefix(name, prefix))
		node := &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelTopologyZone: "zone-" + strconv.Itoa(i%3)}},
			Spec:       v1.NodeSpec{ProviderID: "fake://zone-" + strconv.Itoa(i%3) + "/" + name},
		}
		out, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		out.Status.Addresses = []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256+1)},
			{Type: v1.NodeHostName, Address: name},
		}
		out.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: now}}
		_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, out, metav1.UpdateOptions{})
		return err
	})
	return names
}

// newService is a LoadBalancer Service with one TCP port and no node ports: the control plane's
// 2,768 node ports would not cover thousands of Services.
func newService(ns, name string) *v1.Service {
	allocateNodePorts := false
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{
			Type:                          v1.ServiceTypeLoadBalancer,
			Selector:                      map[string]string{"app": name},
			Ports:                         []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
			AllocateLoadBalancerNodePorts: &allocateNodePorts,
		},
	}
}

// deleteServices removes the Services of a run (finalizer first: the controller is stopped),
// so that the next run's controller does not see them.
func deleteServices(b *testing.B, cs kubernetes.Interface, ns string, names []string) {
	b.Helper()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	services := cs.CoreV1().Services(ns)
	parallel(b, names, func(ctx context.Context, name string) error {
		if _, err := services.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("remove the finalizer: %w", err)
		}
		return services.Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// parallel calls do for every name with creators concurrent calls and fails b on the first error.
func parallel(b *testing.B, names []string, do func(ctx context.Context, name string) error) {
	b.Helper()
	work := make(chan string)
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range creators {
		wg.Go(func() {
			for name := range work {
				if err := do(context.Background(), name); err != nil {
					err = fmt.Errorf("%s: %w", name, err)
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	for _, name := range names {
		work <- name
	}
	close(work)
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
}

// ingressWatch follows the Services of one namespace with an informer (one watch, instead of
// listing thousands of Services every interval on a machine the controller shares) and closes
// done once want of them report an ingress.
type ingressWatch struct {
	want  int
	ready atomic.Int64
	done  chan struct{}
	stop  func()

	mu   sync.Mutex
	seen map[string]bool
}

func watchIngress(b *testing.B, cs kubernetes.Interface, ns string, want int) *ingressWatch {
	b.Helper()
	w := &ingressWatch{want: want, done: make(chan struct{}), seen: map[string]bool{}}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	observe := func(obj any) {
		svc, ok := obj.(*v1.Service)
		if !ok || len(svc.Status.LoadBalancer.Ingress) == 0 {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.seen[svc.Name] {
			return
		}
		w.seen[svc.Name] = true
		if int(w.ready.Add(1)) == w.want {
			close(w.done)
		}
	}
	_, err := factory.Core().V1().Services().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, cur any) { observe(cur) },
	})
	if err != nil {
		b.Fatalf("add event handler: %v", err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	for typ, ok := range factory.WaitForCacheSync(stop) {
		if !ok {
			b.Fatalf("informer cache for %v did not sync", typ)
		}
	}
	w.stop = func() {
		close(stop)
		factory.Shutdown()
	}
	return w
}

// procSample is one reading of /proc/<pid>.
type procSample struct {
	rss, hwm   uint64  // VmRSS and VmHWM, bytes
	anon, file uint64  // RssAnon and RssFile, bytes: the heap and stacks; the mapped executable
	cpu        float64 // utime+stime, seconds
}

// readProc reads the resident set (now and peak) and the CPU time of process pid.
func readProc(b *testing.B, pid int) procSample {
	b.Helper()
	var s procSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("read the controller manager's status: %v", err)
	}
	for line := range strings.Lines(string(status)) {
		key, value, ok := strings.Cut(line, ":")
		field := map[string]*uint64{"VmRSS": &s.rss, "VmHWM": &s.hwm, "RssAnon": &s.anon, "RssFile": &s.file}[key]
		if !ok || field == nil {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			b.Fatalf("parse %s in /proc/%d/status: %v", key, pid, err)
		}
		*field = kb << 10
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("read the controller manager's stat: %v", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
	// utime and stime are fields 14 and 15, so the 12th and 13th after it.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 || s.rss == 0 || s.hwm == 0 {
		b.Fatalf("unexpected /proc/%d: status %q, stat %q", pid, status, stat)
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("parse utime/stime of /proc/%d/stat %q", pid, stat)
	}
	s.cpu = float64(utime+stime) / clockTicks
	return s
}

// get fetches path from the controller manager's secure port with the control plane's admin
// token (it is behind delegated authorization).
func get(url string) ([]byte, error) {
	// The serving certificate is self-signed in memory by the process; loopback only.
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+shared.RESTConfig().BearerToken)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	return body, nil
}

// controllerRequests sums rest_client_requests_total of the controller manager's /metrics: the
// requests of its clients (all of them: leader election, informers, the controller's writes,
// Events), in total and by method. A failed scrape is logged, not fatal: the count explains
// the figures, it is not one of them.
func controllerRequests(b *testing.B, base string) (int, string) {
	b.Helper()
	body, err := get(base + "/metrics")
	if err != nil {
		b.Logf("scrape /metrics: %v", err)
		return 0, "unknown"
	}
	byMethod := counterByLabel(string(body), "rest_client_requests_total", "method")
	total := 0.0
	for _, v := range byMethod {
		total += v
	}
	methods := make([]string, 0, len(byMethod))
	for m := range byMethod {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	parts := make([]string, 0, len(methods))
	for _, m := range methods {
		parts = append(parts, fmt.Sprintf("%s %.0f", m, byMethod[m]))
	}
	return int(total), strings.Join(parts, ", ")
}

// counterByLabel sums the samples of metric in a /metrics body by the value of their label
// ("?" when a sample has none), over the samples whose labels contain every pair of match
// (`cloud="fake"`).
func counterByLabel(body, metric, label string, match ...string) map[string]float64 {
	out := map[string]float64{}
	for line := range strings.Lines(body) {
		labels, ok := strings.CutPrefix(line, metric+"{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(labels, "} ")
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || slices.ContainsFunc(match, func(m string) bool { return !strings.Contains(labels, m) }) {
			continue
		}
		key := "?"
		for pair := range strings.SplitSeq(labels, ",") {
			if k, val, ok := strings.Cut(pair, "="); ok && k == label {
				key = strings.Trim(val, `"`)
			}
		}
		out[key] += v
	}
	return out
}

// saveHeapProfile saves the controller manager's heap profile (served with --profiling, the
// default) to path, and its text form with runtime.MemStats (heap in use, idle, released:
// what the RSS is made of beyond the live heap) to path with .txt for .pb.gz.
func saveHeapProfile(b *testing.B, base, path string) {
	b.Helper()
	for query, file := range map[string]string{"": path, "?debug=1": strings.TrimSuffix(path, ".pb.gz") + ".txt"} {
		body, err := get(base + "/debug/pprof/heap" + query)
		if err != nil {
			b.Errorf("heap profile: %v", err)
			return
		}
		if err := os.WriteFile(file, body, 0o644); err != nil {
			b.Errorf("heap profile: %v", err)
			return
		}
		b.Logf("heap profile saved to %s", file)
	}
}
