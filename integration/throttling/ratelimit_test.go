package throttling_test

// Issue 16's rate-limit target: Services created from empty converge within 1.2x of the bound
// a cloud's request-rate limit sets, with each fake cloud metering writes with a token bucket
// of 10 per second. The 5,000 Services would take over an hour per cloud at that rate;
// the ratio does not depend on the count once the run is long against the burst and the
// controller's start, so each cloud runs a few minutes' worth.
//
// Unlike the ThrottleRate benchmarks (in-process providers, the test's own work queue), these
// run the real binary: bin/cloudlb-controller-manager (`make build`) with its shipped defaults
// (workers, client limits, retries), over a real etcd and kube-apiserver
// ($CLOUDLB_TESTBIN, `make testbin`) and the cloud's fake served by this test process.
//
//	CLOUDLB_TESTBIN=$PWD/bin/testbin go test -run '^$' -bench RateLimited -benchtime=1x -timeout 40m ./integration/throttling/ -v

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	"github.com/cloudlb/cloudlb/integration/controllermanager"
	"github.com/cloudlb/cloudlb/integration/controlplane"
)

const (
	// writeRate is the limit: writes per second per bucket, with a burst as large.
	writeRate = 10
	// targetRatio is the target for converge time / bound.
	targetRatio = 1.2
	// timeoutFactor and timeoutSlack make a run fail once it has taken timeoutFactor times
	// the bound of the writes served so far, plus timeoutSlack for the start.
	timeoutFactor = 5
	timeoutSlack  = time.Minute
	// sampleEvery is how often the Services and the fake's counters are read: the converge
	// time is known to this much.
	sampleEvery = 250 * time.Millisecond
	// window is the span of one line of the rate timeline logged after a run.
	window = 5 * time.Second
	// rlMinTimeout is the go test -timeout under which the benchmarks skip rather than risk
	// a panic: the three take about 7 minutes.
	rlMinTimeout = 15 * time.Minute
)

var (
	rlServices = flag.Int("ratelimit.services", 0, "Services each RateLimited benchmark creates; 0: the cloud's default (200 AWS, 80 Azure and GCE)")
	rlTimeout  = flag.Duration("ratelimit.timeout", 20*time.Minute, "the longest a RateLimited run may take, whatever its bound")
	rlLogDir   = flag.String("ratelimit.logdir", "", "directory to keep the controller manager's log of each RateLimited run in (default: removed)")
)

// rlCloud is one fake cloud served for the controller manager, and how to point it there.
type rlCloud struct {
	fake fake
	// provider and cloudConfig are --cloud-provider and the --cloud-config file's content.
	provider, cloudConfig string
	// env is added to the controller manager's environment.
	env []string
	// nodes are the cluster's Nodes, matching the fake's instances.
	nodes []*v1.Node
}

// BenchmarkRateLimitedConvergeAWS: Classic ELBs (the default type); AWS meters each API
// (ec2, elb, ...) in a bucket of its own, so the buckets fill in parallel.
func BenchmarkRateLimitedConvergeAWS(b *testing.B) {
	benchmarkRateLimited(b, 200, func(b *testing.B) rlCloud {
		const nodes = 3
		srv, url, built := awsCluster(b, rlCluster, nodes)
		c := rlCloud{
			fake:        srv,
			provider:    "aws",
			cloudConfig: fmt.Sprintf("[Global]\nZone = us-east-1a\nVPC = %s\nKubernetesClusterTag = %s\n", built.VPC, rlCluster),
			env: []string{"AWS_ENDPOINT_URL=" + url, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
				"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true"},
		}
		for i := 1; i <= nodes; i++ {
			name := fmt.Sprintf("node-%d", i)
			c.nodes = append(c.nodes, rlNode(name, "aws:///us-east-1a/"+built.Instances[name], fmt.Sprintf("10.0.1.%d", 10+i), "us-east-1a"))
		}
		return c
	})
}

// BenchmarkRateLimitedConvergeAzure: public Standard load balancer Services (frontends and
// rules of the cluster's shared load balancer, a public IP and NSG rules each); ARM meters
// the subscription's writes in one bucket.
func BenchmarkRateLimitedConvergeAzure(b *testing.B) {
	const sub, rg, location = "00000000-0000-0000-0000-0000000000aa", "cluster-rg", "westeurope"
	benchmarkRateLimited(b, 80, func(b *testing.B) rlCloud {
		fake := fakeazure.New(fakeazure.Options{SubscriptionID: sub, Location: location})
		hs := httptest.NewServer(fake)
		b.Cleanup(hs.Close)
		createAzureNetwork(b, hs.URL, sub, rg, location)
		c := rlCloud{
			fake:     fake,
			provider: "azure",
			cloudConfig: fmt.Sprintf(`{"cloud": "AzurePublicCloud", "tenantId": "t", "subscriptionId": %q, "resourceGroup": %q, "location": %q,
  "vnetName": "vnet", "subnetName": "nodes", "securityGroupName": "cluster-nsg", "loadBalancerSku": "Standard",
  "resourceManagerEndpoint": %q}`, sub, rg, location, hs.URL),
		}
		for i := 1; i <= 3; i++ {
			c.nodes = append(c.nodes, rlNode(fmt.Sprintf("node-%d", i), "", fmt.Sprintf("10.240.0.%d", 3+i), location+"-1"))
		}
		return c
	})
}

// BenchmarkRateLimitedConvergeGCE: external target-pool NetLBs (the default); the fake meters
// the project's writes in one bucket.
func BenchmarkRateLimitedConvergeGCE(b *testing.B) {
	const project, region = "bench-project", "us-central1"
	benchmarkRateLimited(b, 80, func(b *testing.B) rlCloud {
		fake := fakegce.New(fakegce.Options{Project: project, Region: region, Seed: 16})
		hs := httptest.NewServer(fake)
		b.Cleanup(hs.Close)
		c := rlCloud{
			fake:     fake,
			provider: "gce",
			cloudConfig: fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\nnode-tags = bench-node\ncluster-id = %s\napi-endpoint = %s\nsubnetwork-name = default\n",
				project, region, rlCluster, hs.URL),
		}
		for i, zone := range []string{region + "-a", region + "-a", region + "-b"} {
			name := fmt.Sprintf("node-%d", i+1)
			fake.AddInstance(fakegce.Instance{Name: name, Zone: zone, Tags: []string{"bench-node"}})
			c.nodes = append(c.nodes, rlNode(name, "gce://"+project+"/"+zone+"/"+name, fmt.Sprintf("10.128.0.%d", 2+i), zone))
		}
		return c
	})
}

// rlCluster is --cluster-name, and the cluster the clouds' resources are tagged for.
const rlCluster = "demo"

// rlRun is what one run measured.
type rlRun struct {
	converge time.Duration
	tally    fakecore.Tally
	// timeline holds the fake's counters every sampleEvery from the start, with how many
	// Services had an ingress then.
	timeline []rlSample
}

type rlSample struct {
	at           time.Duration
	ready        int
	reads, polls int
	buckets      map[string]fakecore.BucketTally
}

// bound is the least time writeRate per bucket allows for the writes the buckets let through:
// the largest bucket's (the buckets refill in parallel), and the sum over the buckets (the
// bound if every write shared one bucket).
func bound(buckets map[string]fakecore.BucketTally) (perBucket, shared time.Duration) {
	var most, all int
	for _, t := range buckets {
		served := t.Writes - t.RateLimited
		most = max(most, served)
		all += served
	}
	return secondsOf(float64(most) / writeRate), secondsOf(float64(all) / writeRate)
}

func secondsOf(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// benchmarkRateLimited creates n Services (unless -ratelimit.services says otherwise) in a
// fresh control plane, meters newCloud's writes at writeRate per bucket, starts the
// controller manager and measures the time until every Service has an ingress.
func benchmarkRateLimited(b *testing.B, n int, newCloud func(b *testing.B) rlCloud) {
	if testing.Short() {
		b.Skip("starts a control plane and the controller manager, and runs for minutes")
	}
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 && d < rlMinTimeout {
			b.Skipf("needs go test -timeout %v or more (the three take about 7 minutes, a stalled one up to -ratelimit.timeout=%v); -timeout is %v", rlMinTimeout, *rlTimeout, d)
		}
	}
	if *rlServices > 0 {
		n = *rlServices
	}
	if _, err := controllermanager.ResolveBinary(""); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	var runs []rlRun
	for i := range b.N {
		runs = append(runs, runRateLimited(b, n, i, newCloud(b)))
	}
	reportRateLimited(b, n, runs)
}

// runRateLimited is one run on a control plane of its own: the Nodes and n Services first,
// then the controller manager started cold against an empty, rate-limited cloud.
func runRateLimited(b *testing.B, n, iter int, c rlCloud) rlRun {
	ctx := b.Context()
	cp, err := controlplane.Start(ctx, controlplane.Options{})
	if err != nil {
		b.Fatalf("start control plane: %v", err)
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			b.Errorf("stop control plane: %v", err)
		}
	}()
	cfg := cp.RESTConfig()
	cfg.QPS, cfg.Burst = -1, 0 // the test's own set-up must not wait on a client limit
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for _, node := range c.nodes {
		createNode(b, cs, node)
	}
	ns := controlplane.CreateNamespace(b, cs, "ratelimit")
	for i := range n {
		if _, err := cs.CoreV1().Services(ns).Create(ctx, rlService(ns, i), metav1.CreateOptions{}); err != nil {
			b.Fatalf("create Service %d: %v", i, err)
		}
	}
	c.fake.SetFaults(fakecore.Faults{WriteRateLimit: writeRate, WriteBurst: writeRate})
	c.fake.ResetCalls() // the topology's set-up is not the controller's
	opts := controllermanager.Options{
		Kubeconfig:     cp.KubeconfigPath(),
		CloudProvider:  c.provider,
		RawCloudConfig: c.cloudConfig,
		Env:            c.env,
		ClusterName:    rlCluster,
		StartTimeout:   time.Minute,
	}
	if *rlLogDir != "" {
		opts.LogPath = filepath.Join(*rlLogDir, fmt.Sprintf("%s-%d.log", strings.TrimPrefix(b.Name(), "BenchmarkRateLimitedConverge"), iter))
	}

	b.StartTimer()
	began := time.Now()
	ccm, err := controllermanager.Start(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("controller manager healthy %v after the start", time.Since(began).Round(time.Millisecond))
	defer func() {
		if b.Failed() {
			b.Logf("--- last 40 lines of %s ---\n%s", ccm.LogPath(), ccm.Tail(40))
		}
		if err := ccm.Stop(); err != nil {
			b.Errorf("stop cloudlb-controller-manager: %v", err)
		}
	}()
	run := rlRun{}
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		ready := countReady(b, cs, ns)
		t := c.fake.Tally()
		at := time.Since(began)
		run.timeline = append(run.timeline, rlSample{at: at, ready: ready, reads: t.Reads, polls: t.Polls, buckets: t.Buckets})
		if ready == n {
			run.converge, run.tally = at, t
			break
		}
		perBucket, _ := bound(t.Buckets)
		if limit := timeoutFactor*perBucket + timeoutSlack; at > limit || at > *rlTimeout {
			logTimeline(b, run.timeline)
			b.Fatalf("%d of %d Services have an ingress after %v (limit: %d x the bound of the %d writes served, %v, + %v; -ratelimit.timeout %v)",
				ready, n, at.Round(time.Second), timeoutFactor, servedWrites(t.Buckets), perBucket.Round(time.Second), timeoutSlack, *rlTimeout)
		}
		select {
		case <-tick.C:
		case <-ccm.Done():
			b.Fatalf("cloudlb-controller-manager exited with %d of %d Services converged", ready, n)
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		}
	}
	b.StopTimer()
	logTimeline(b, run.timeline)
	b.Logf("calls by operation (refused ones included):\n%s", run.tally)
	logControllerCalls(b, ccm.URL(), cp.RESTConfig().BearerToken, c.provider)
	return run
}

// reportRateLimited reports the runs' means, and logs each bucket's writes.
func reportRateLimited(b *testing.B, n int, runs []rlRun) {
	var converge, perBucket, shared time.Duration
	var tally fakecore.Tally
	buckets := map[string]fakecore.BucketTally{}
	for _, r := range runs {
		converge += r.converge
		pb, sh := bound(r.tally.Buckets)
		perBucket += pb
		shared += sh
		tally.Reads += r.tally.Reads
		tally.Writes += r.tally.Writes
		tally.Polls += r.tally.Polls
		tally.Throttled += r.tally.Throttled
		tally.Failed += r.tally.Failed
		for name, t := range r.tally.Buckets {
			acc := buckets[name]
			acc.Writes += t.Writes
			acc.RateLimited += t.RateLimited
			buckets[name] = acc
		}
	}
	k := float64(len(runs))
	for _, name := range slices.Sorted(maps.Keys(buckets)) {
		t := buckets[name]
		b.Logf("bucket %q: %.0f writes served, %.0f refused by the rate limit (per run)", cmpOr(name, "all"), float64(t.Writes-t.RateLimited)/k, float64(t.RateLimited)/k)
	}
	ratio := converge.Seconds() / perBucket.Seconds()
	b.Logf("%d Services converged in %.1f s; bound %.1f s (largest bucket), %.1f s (all buckets as one); ratio %.2f (target %.1f); calls %.0f: %.0f reads, %.0f writes (%.0f refused by the rate limit), %.0f operation polls",
		n, converge.Seconds()/k, perBucket.Seconds()/k, shared.Seconds()/k, ratio, targetRatio,
		float64(tally.Reads+tally.Writes+tally.Polls)/k, float64(tally.Reads)/k, float64(tally.Writes)/k, float64(tally.Throttled)/k, float64(tally.Polls)/k)
	b.ReportMetric(float64(n), "services")
	b.ReportMetric(converge.Seconds()/k, "s-to-converge")
	b.ReportMetric(perBucket.Seconds()/k, "bound-s")
	b.ReportMetric(shared.Seconds()/k, "bound-sum-s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(tally.Writes-tally.Throttled)/k, "writes")
	b.ReportMetric(float64(tally.Throttled)/k, "throttled")
	b.ReportMetric(float64(tally.Reads)/k, "reads")
	b.ReportMetric(float64(tally.Reads+tally.Writes+tally.Polls)/k, "calls")
	b.ReportMetric(0, "ns/op") // the wall time is s-to-converge
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func servedWrites(buckets map[string]fakecore.BucketTally) int {
	n := 0
	for _, t := range buckets {
		n += t.Writes - t.RateLimited
	}
	return n
}

// logTimeline logs, per window, the Services converged by its end and the rate of each
// bucket's served and refused writes and of the reads: where the rate falls below writeRate
// is where something other than the limit bounds the run.
func logTimeline(b *testing.B, timeline []rlSample) {
	if len(timeline) == 0 {
		return
	}
	names := map[string]bool{}
	for _, s := range timeline {
		for name := range s.buckets {
			names[name] = true
		}
	}
	order := slices.Sorted(maps.Keys(names))
	var lines []string
	prev := rlSample{}
	next := window
	for i, s := range timeline {
		if s.at < next && i < len(timeline)-1 {
			continue
		}
		secs := (s.at - prev.at).Seconds()
		parts := []string{fmt.Sprintf("%5.1f-%5.1f s: %4d ready, reads %4.1f/s, polls %4.1f/s", prev.at.Seconds(), s.at.Seconds(), s.ready,
			float64(s.reads-prev.reads)/secs, float64(s.polls-prev.polls)/secs)}
		for _, name := range order {
			cur, was := s.buckets[name], prev.buckets[name]
			served := (cur.Writes - cur.RateLimited) - (was.Writes - was.RateLimited)
			parts = append(parts, fmt.Sprintf("%s %4.1f/s served %4.1f/s refused", cmpOr(name, "writes"), float64(served)/secs, float64(cur.RateLimited-was.RateLimited)/secs))
		}
		lines = append(lines, strings.Join(parts, ", "))
		prev = s
		next = s.at + window
	}
	b.Logf("rate timeline:\n%s", strings.Join(lines, "\n"))
}

// logControllerCalls logs the controller's own count of its cloud calls by result
// (cloudlb_cloud_api_calls_total): its view of the throttling.
func logControllerCalls(b *testing.B, base, token, cloud string) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed, loopback
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, base+"/metrics", nil)
	if err != nil {
		b.Logf("scrape /metrics: %v", err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		b.Logf("scrape /metrics: %v", err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Logf("scrape /metrics: %s %v", resp.Status, err)
		return
	}
	byResult := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		labels, value, ok := strings.Cut(strings.TrimPrefix(line, "cloudlb_cloud_api_calls_total{"), "} ")
		if !ok || !strings.HasPrefix(line, "cloudlb_cloud_api_calls_total{") || !strings.Contains(labels, `cloud="`+cloud+`"`) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		op, result := labelValue(labels, "operation"), labelValue(labels, "result")
		byResult[result] += v
		if result != "ok" {
			byResult[op+" "+result] += v
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(byResult)) {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, byResult[k]))
	}
	b.Logf("controller's cloudlb_cloud_api_calls_total at convergence: %s", strings.Join(parts, ", "))
}

func labelValue(labels, key string) string {
	for pair := range strings.SplitSeq(labels, ",") {
		if k, v, ok := strings.Cut(pair, "="); ok && k == key {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// countReady is how many Services of ns have an ingress.
func countReady(b *testing.B, cs kubernetes.Interface, ns string) int {
	list, err := cs.CoreV1().Services(ns).List(b.Context(), metav1.ListOptions{})
	if err != nil {
		b.Fatalf("list Services: %v", err)
	}
	ready := 0
	for _, s := range list.Items {
		if len(s.Status.LoadBalancer.Ingress) > 0 {
			ready++
		}
	}
	return ready
}

// rlNode is a Ready Node with an InternalIP (Azure's backend pool) and, where set, the
// provider ID of its instance (AWS, GCE).
func rlNode(name, providerID, ip, zone string) *v1.Node {
	now := metav1.Now()
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelTopologyZone: zone}},
		Spec:       v1.NodeSpec{ProviderID: providerID},
		Status: v1.NodeStatus{
			Addresses:  []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: ip}, {Type: v1.NodeHostName, Address: name}},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: now}},
		},
	}
}

// createNode creates node and sets its status as a kubelet would.
func createNode(b *testing.B, cs kubernetes.Interface, node *v1.Node) {
	ctx := b.Context()
	out, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		b.Fatalf("create Node %s: %v", node.Name, err)
	}
	out.Status = node.Status
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil {
		b.Fatalf("set the status of Node %s: %v", node.Name, err)
	}
}

// rlService is the i-th Service: one TCP port, a node port from the control plane.
func rlService(ns string, i int) *v1.Service {
	name := fmt.Sprintf("svc-%04d", i)
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{
			Type:     v1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}
