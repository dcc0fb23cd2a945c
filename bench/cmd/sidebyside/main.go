// Command sidebyside drives cloudlb's AWS provider and the upstream k8s.io/cloud-provider-aws
// through the same sequence of cloudprovider.LoadBalancer calls against one fakeaws and prints
// the AWS calls (reads = Describe*/Get*/List*, writes = the rest) of every phase for both:
// create, a no-op pass, a restart pass, a node joining and delete, for n Classic and n NLB
// Services synced by 10 workers (-services, -workers), each provider on a fakeaws of its own.
//
//	cd bench && go run ./cmd/sidebyside -services 1000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	// Registers the upstream provider as "aws" in its init.
	_ "k8s.io/cloud-provider-aws/pkg/providers/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

const (
	cluster = "bench"
	region  = "us-east-1"
	lbType  = "service.beta.kubernetes.io/aws-load-balancer-type"
)

// Counts are the calls of one phase.
type Counts struct {
	Reads, Writes int
	// Calls is fakeaws's per-operation summary.
	Calls string
}

// Total is reads plus writes.
func (c Counts) Total() int { return c.Reads + c.Writes }

// env is the fake and its topology, shared by both providers.
type env struct {
	srv   *fakeaws.Server
	url   string
	built *fakeaws.Built
}

// newEnv starts a fakeaws for n Classic and n NLB Services.
func newEnv(n int) (*env, func(), error) {
	// Every CLB lets its group into the node group and every NLB adds two rules there (client
	// traffic and health check on its NodePort), for both providers: 3n rules, more than AWS's
	// default 60 per group, so the quota is raised as a cluster this size would.
	srv := fakeaws.New(fakeaws.Options{Region: region, RulesPerSecurityGroup: max(1000, 4*n)})
	hs := httptest.NewServer(srv.Handler())
	owned := map[string]string{"kubernetes.io/cluster/" + cluster: "owned"}
	subnetTags := map[string]string{"kubernetes.io/cluster/" + cluster: "owned", "kubernetes.io/role/elb": "1"}
	built, err := srv.ApplyTopology(fakeaws.Topology{
		VPC: fakeaws.TopologyVPC{CIDR: "10.0.0.0/16"},
		Subnets: []fakeaws.TopologySubnet{
			{Name: "public-a", CIDR: "10.0.1.0/24", Zone: region + "a", Public: true, Tags: subnetTags},
			{Name: "public-b", CIDR: "10.0.2.0/24", Zone: region + "b", Public: true, Tags: subnetTags},
		},
		SecurityGroups: []fakeaws.TopologySecurityGroup{{Name: "nodes", Tags: owned}},
		Instances: []fakeaws.TopologyInstance{
			// node-1..node-3 are the cluster; node-4 is the node added in the churn step.
			{Name: "node", Subnet: "public-a", Count: 4, Tags: owned, SecurityGroups: []string{"nodes"}},
		},
	})
	if err != nil {
		hs.Close()
		return nil, nil, err
	}
	return &env{srv: srv, url: hs.URL, built: built}, hs.Close, nil
}

func (e *env) node(i int) *v1.Node {
	name := fmt.Sprintf("node-%d", i)
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.NodeSpec{ProviderID: "aws:///" + region + "a/" + e.built.Instances[name]},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
			Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: fmt.Sprintf("10.0.1.%d", 10+i)}}},
	}
}

func (e *env) nodes(n int) []*v1.Node {
	var out []*v1.Node
	for i := 1; i <= n; i++ {
		out = append(out, e.node(i))
	}
	return out
}

// counts returns the calls since the last reset and resets.
func (e *env) counts() Counts {
	calls := e.srv.Calls()
	c := Counts{Calls: strings.ReplaceAll(strings.TrimSpace(fakeaws.CallsSummary(calls)), "\n", ", ")}
	for call, n := range calls {
		if call.IsRead() {
			c.Reads += n
		} else {
			c.Writes += n
		}
	}
	e.srv.ResetCalls()
	return c
}

// unlimited lifts cloudlb's client-side rate limit (20 calls per second per API by default)
// out of the way: upstream has none, and the comparison is of calls, not of pacing.
var unlimited = cloudaws.Limits{QPS: 1e6, Burst: 1e6}

// ours builds cloudlb's provider from its cloud config with SDK clients whose endpoints are
// the fake's, as NewFromConfig does, but with unlimited instead of the default limits.
func (e *env) ours() (cloudprovider.LoadBalancer, error) {
	cfg := fmt.Sprintf("[Global]\nZone = %sa\nVPC = %s\nKubernetesClusterID = %s\n", region, e.built.VPC, cluster)
	cc, err := cloudaws.ParseCloudConfig(strings.NewReader(cfg))
	if err != nil {
		return nil, err
	}
	ac, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(region))
	if err != nil {
		return nil, err
	}
	return cloudaws.New(cloudaws.Options{
		Config: cc,
		EC2:    ec2.NewFromConfig(ac, func(o *ec2.Options) { o.BaseEndpoint = aws.String(e.url) }),
		ELB:    elb.NewFromConfig(ac, func(o *elb.Options) { o.BaseEndpoint = aws.String(e.url) }),
		ELBv2:  elbv2.NewFromConfig(ac, func(o *elbv2.Options) { o.BaseEndpoint = aws.String(e.url) }),
		Limits: unlimited,
	}), nil
}

// upstream builds k8s.io/cloud-provider-aws through cloudprovider.GetCloudProvider, as the
// cloud-controller-manager does. Zone gives the region; VPC + SubnetID + KubernetesClusterID
// make it use its "master-dummy" self instance, so instance metadata is only asked for the
// identity document, which fails fast with AWS_EC2_METADATA_DISABLED.
func (e *env) upstream() (cloudprovider.LoadBalancer, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "[Global]\nZone = %sa\nVPC = %s\nSubnetID = %s\nKubernetesClusterID = %s\n",
		region, e.built.VPC, e.built.Subnets["public-a"], cluster)
	for i, s := range []struct{ id, signing string }{
		{"EC2", "ec2"}, {"Elastic Load Balancing", "elasticloadbalancing"},
		{"Elastic Load Balancing v2", "elasticloadbalancing"}, {"KMS", "kms"},
	} {
		fmt.Fprintf(&b, "\n[ServiceOverride %q]\nService = %q\nRegion = %s\nURL = %s\nSigningRegion = %s\nSigningName = %s\n",
			fmt.Sprint(i+1), s.id, region, e.url, region, s.signing)
	}
	c, err := cloudprovider.GetCloudProvider("aws", strings.NewReader(b.String()))
	if err != nil {
		return nil, err
	}
	lb, ok := c.LoadBalancer()
	if !ok {
		return nil, fmt.Errorf("upstream: no LoadBalancer interface")
	}
	return lb, nil
}

// service is a LoadBalancer Service with one TCP port; i picks its NodePort, distinct for
// each Service of a run as the API server assigns them (30000-32767; past 2,768 Services of
// a run they repeat).
func service(prefix, name string, i int, annotations map[string]string) *v1.Service {
	if annotations == nil {
		annotations = map[string]string{}
	}
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: name, Annotations: annotations,
			UID: types.UID(fmt.Sprintf("%s-%s-0000-0000-0000", prefix, name))},
		Spec: v1.ServiceSpec{
			Type:                  v1.ServiceTypeLoadBalancer,
			SessionAffinity:       v1.ServiceAffinityNone,
			ExternalTrafficPolicy: v1.ServiceExternalTrafficPolicyCluster,
			Ports: []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80,
				NodePort: 30000 + int32(i%2768)}},
		},
	}
}

// Run runs the phases for n Classic and n NLB Services with workers concurrent syncs, for
// each provider on a fakeaws of its own, and returns the table rows. progress, when not nil,
// gets a line per phase as it ends.
func Run(ctx context.Context, n, workers int, progress io.Writer) ([]Row, error) {
	// The SDK's default chain (used by both) must find credentials and no instance metadata.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"} {
		_ = os.Unsetenv(k)
	}
	sides := []struct {
		name, prefix string
		p            provider
	}{
		{"cloudlb", "0c1b", provider{build: (*env).ours, list: true}},
		{"cloud-provider-aws", "0a75", provider{build: (*env).upstream}},
	}
	var steps []string
	results := make([][]Phase, len(sides))
	for i, side := range sides {
		e, stop, err := newEnv(n)
		if err != nil {
			return nil, err
		}
		var report func(string, Phase)
		if progress != nil {
			report = func(step string, p Phase) {
				fmt.Fprintf(progress, "%s %s: %d calls, %d retried, in %.1f s (load %s)\n", side.name, step, p.Total(), p.Retries, p.Wall.Seconds(), loadavg())
			}
		}
		s, phases, err := sequence(ctx, e, side.p, side.prefix, n, workers, report)
		stop()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", side.name, err)
		}
		steps, results[i] = s, phases
	}
	rows := make([]Row, len(steps))
	for i := range steps {
		rows[i] = Row{Step: steps[i], Ours: results[0][i], Upstream: results[1][i]}
	}
	return rows, nil
}

// Print writes the rows as a Markdown table.
func Print(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| phase | Services | cloudlb calls | per Service | writes | reads | retried | wall | cloud-provider-aws calls | per Service | writes | reads | retried | wall |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	cells := func(p Phase) string {
		if p.NA != "" {
			return p.NA + " | | | | | |"
		}
		return fmt.Sprintf("%d | %.2f | %d | %d | %d | %.1f s |", p.Total(), p.PerService(), p.Writes, p.Reads, p.Retries, p.Wall.Seconds())
	}
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %s %s\n", r.Step, r.Ours.Services, cells(r.Ours), cells(r.Upstream))
	}
}

// PrintCalls writes every phase's calls by operation.
func PrintCalls(w io.Writer, rows []Row) {
	for _, r := range rows {
		fmt.Fprintf(w, "\n%s\n  cloudlb:            %s\n  cloud-provider-aws: %s\n", r.Step, r.Ours.Calls, r.Upstream.Calls)
	}
}

// loadavg is /proc/loadavg without its newline, or why it could not be read.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(b))
}

func main() {
	services := flag.Int("services", 50, "Classic Services, and as many NLB Services, in every phase")
	workers := flag.Int("workers", 10, "concurrent syncs, for both providers (the service controller's workers)")
	verbose := flag.Bool("v", false, "keep the providers' logs")
	detail := flag.Bool("calls", false, "also print every phase's calls by operation")
	flag.Parse()
	if !*verbose {
		klog.SetOutput(io.Discard)
		klog.LogToStderr(false)
	}
	fmt.Printf("%d Classic + %d NLB Services, %d workers, GOMAXPROCS %d, NumCPU %d\n",
		*services, *services, *workers, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Printf("load before (/proc/loadavg): %s\n", loadavg())
	start := time.Now()
	rows, err := Run(context.Background(), *services, *workers, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
	fmt.Printf("load after (/proc/loadavg):  %s\n", loadavg())
	fmt.Printf("total %.0f s\n\n", time.Since(start).Seconds())
	Print(os.Stdout, rows)
	if *detail {
		PrintCalls(os.Stdout, rows)
	}
}
