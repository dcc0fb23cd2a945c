// Command sidebyside drives cloudlb's AWS provider and the upstream k8s.io/cloud-provider-aws
// through the same sequence of cloudprovider.LoadBalancer calls against one fakeaws and prints
// the AWS calls (reads = Describe*/Get*/List*, writes = the rest) of every step for both.
//
//	cd bench && go run ./cmd/sidebyside
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

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

// Counts are the calls of one step.
type Counts struct {
	Reads, Writes int
	// Calls is fakeaws's per-operation summary.
	Calls string
}

// Total is reads plus writes.
func (c Counts) Total() int { return c.Reads + c.Writes }

// Row is one step for both providers.
type Row struct {
	Step           string
	Ours, Upstream Counts
}

// env is the fake and its topology, shared by both providers.
type env struct {
	srv   *fakeaws.Server
	url   string
	built *fakeaws.Built
}

func newEnv() (*env, func(), error) {
	// Every CLB lets its group into the node group and every NLB adds two rules there (client
	// traffic and health check on its NodePort), for both providers: 150 Services need more
	// than AWS's default 60 rules per group, so the quota is raised as a cluster this size would.
	srv := fakeaws.New(fakeaws.Options{Region: region, RulesPerSecurityGroup: 1000})
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

// ours builds cloudlb's provider from its cloud config, endpoints overridden to the fake.
func (e *env) ours() (cloudprovider.LoadBalancer, error) {
	cfg := fmt.Sprintf(`[Global]
Zone = %sa
VPC = %s
KubernetesClusterID = %s

[ServiceOverride "ec2"]
Service = ec2
Region = %s
URL = %s

[ServiceOverride "elb"]
Service = elasticloadbalancing
Region = %s
URL = %s
`, region, e.built.VPC, cluster, region, e.url, region, e.url)
	cc, err := cloudaws.ParseCloudConfig(strings.NewReader(cfg))
	if err != nil {
		return nil, err
	}
	c, err := cloudaws.NewFromConfig(context.Background(), cc)
	if err != nil {
		return nil, err
	}
	return c, nil
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

// nodePorts hands out a distinct NodePort per Service, as the API server does.
var nodePorts = map[string]int32{}

func service(prefix, name string, annotations map[string]string) *v1.Service {
	port, ok := nodePorts[name]
	if !ok {
		port = 30080 + int32(len(nodePorts))
		nodePorts[name] = port
	}
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
			Ports:                 []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: port}},
		},
	}
}

// sequence runs the steps against one provider. prefix keeps the two providers' load
// balancer names apart (they derive them from the Service UID).
func sequence(ctx context.Context, e *env, lb cloudprovider.LoadBalancer, prefix string, services int) ([]string, []Counts, error) {
	var steps []string
	var counts []Counts
	step := func(name string, f func() error) error {
		e.srv.ResetCalls()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		steps = append(steps, name)
		counts = append(counts, e.counts())
		return nil
	}
	three, four := e.nodes(3), e.nodes(4)
	clb := service(prefix, "clb", nil)
	nlb := service(prefix, "nlb", map[string]string{lbType: "nlb"})
	ensure := func(s *v1.Service, nodes []*v1.Node) func() error {
		return func() error { _, err := lb.EnsureLoadBalancer(ctx, cluster, s, nodes); return err }
	}
	if err := step("create CLB", ensure(clb, three)); err != nil {
		return nil, nil, err
	}
	if err := step("create NLB", ensure(nlb, three)); err != nil {
		return nil, nil, err
	}
	if err := step("no-op sync CLB", ensure(clb, three)); err != nil {
		return nil, nil, err
	}
	if err := step("no-op sync NLB", ensure(nlb, three)); err != nil {
		return nil, nil, err
	}
	many := make([]*v1.Service, services)
	for i := range many {
		many[i] = service(prefix, fmt.Sprintf("svc%03d", i), nil)
		if err := ensure(many[i], three)(); err != nil {
			return nil, nil, fmt.Errorf("setup %s: %w", many[i].Name, err)
		}
	}
	if err := step(fmt.Sprintf("add a node, %d CLB Services", services), func() error {
		for _, s := range many {
			if err := lb.UpdateLoadBalancer(ctx, cluster, s, four); err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	manyNLB := make([]*v1.Service, services)
	for i := range manyNLB {
		manyNLB[i] = service(prefix, fmt.Sprintf("nlb%03d", i), map[string]string{lbType: "nlb"})
		if err := ensure(manyNLB[i], three)(); err != nil {
			return nil, nil, fmt.Errorf("setup %s: %w", manyNLB[i].Name, err)
		}
	}
	if err := step(fmt.Sprintf("add a node, %d NLB Services", len(manyNLB)), func() error {
		for _, s := range manyNLB {
			if err := lb.UpdateLoadBalancer(ctx, cluster, s, four); err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	all := append([]*v1.Service{clb, nlb}, many...)
	all = append(all, manyNLB...)
	if err := step(fmt.Sprintf("delete all %d", len(all)), func() error {
		for _, s := range all {
			if err := lb.EnsureLoadBalancerDeleted(ctx, cluster, s); err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return steps, counts, nil
}

// Run runs both providers and returns the table rows.
func Run(ctx context.Context, services int) ([]Row, error) {
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
	e, stop, err := newEnv()
	if err != nil {
		return nil, err
	}
	defer stop()

	ours, err := e.ours()
	if err != nil {
		return nil, fmt.Errorf("cloudlb: %w", err)
	}
	steps, oc, err := sequence(ctx, e, ours, "0c1b", services)
	if err != nil {
		return nil, fmt.Errorf("cloudlb: %w", err)
	}
	up, err := e.upstream()
	if err != nil {
		return nil, fmt.Errorf("cloud-provider-aws: %w", err)
	}
	e.srv.ResetCalls() // construction is not a step
	_, uc, err := sequence(ctx, e, up, "0a75", services)
	if err != nil {
		return nil, fmt.Errorf("cloud-provider-aws: %w", err)
	}
	rows := make([]Row, len(steps))
	for i := range steps {
		rows[i] = Row{Step: steps[i], Ours: oc[i], Upstream: uc[i]}
	}
	return rows, nil
}

// Print writes the rows as a Markdown table.
func Print(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| step | cloudlb reads | cloudlb writes | cloud-provider-aws reads | cloud-provider-aws writes | ratio (upstream total / cloudlb total) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		ratio := "n/a"
		if r.Ours.Total() > 0 {
			ratio = fmt.Sprintf("%.1fx", float64(r.Upstream.Total())/float64(r.Ours.Total()))
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %s |\n", r.Step, r.Ours.Reads, r.Ours.Writes, r.Upstream.Reads, r.Upstream.Writes, ratio)
	}
}

// PrintCalls writes every step's calls by operation.
func PrintCalls(w io.Writer, rows []Row) {
	for _, r := range rows {
		fmt.Fprintf(w, "\n%s\n  cloudlb:            %s\n  cloud-provider-aws: %s\n", r.Step, r.Ours.Calls, r.Upstream.Calls)
	}
}

func main() {
	services := flag.Int("services", 50, "CLB Services in the node-add step")
	verbose := flag.Bool("v", false, "keep the providers' logs")
	detail := flag.Bool("calls", false, "also print every step's calls by operation")
	flag.Parse()
	if !*verbose {
		klog.SetOutput(io.Discard)
		klog.LogToStderr(false)
	}
	rows, err := Run(context.Background(), *services)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
	Print(os.Stdout, rows)
	if *detail {
		PrintCalls(os.Stdout, rows)
	}
}
