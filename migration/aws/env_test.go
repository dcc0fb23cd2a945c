package aws

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	// Registers the upstream provider as "aws" in its init.
	_ "k8s.io/cloud-provider-aws/pkg/providers/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

const (
	// cluster is both providers' cluster name and upstream's KubernetesClusterID: upstream
	// tags with the cloud config's ID, cloudlb with the name the controller passes, so a
	// migration keeps them equal.
	cluster = "migration"
	region  = "us-east-1"
	// nodeCount is how many instances the fake runs: node-1..node-3 are the cluster at
	// first, node-4 joins in the node change (and node-1 leaves).
	nodeCount = 4
	certName  = "migration"
)

// TestMain gives the SDK's default chain (both providers use it) static credentials and no
// instance metadata or shared files, once for the whole binary so the tests can run in
// parallel, and silences the providers' logs unless MIGRATION_LOGS is set.
func TestMain(m *testing.M) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"} {
		_ = os.Unsetenv(k)
	}
	if os.Getenv("MIGRATION_LOGS") == "" {
		klog.SetOutput(io.Discard)
		klog.LogToStderr(false)
	}
	os.Exit(m.Run())
}

// env is one fakeaws with a two-zone VPC, and the two providers pointed at it.
type env struct {
	srv   *fakeaws.Server
	url   string
	built *fakeaws.Built
	// cert is the ARN of an IAM server certificate the fake holds.
	cert string
	// globals are extra [Global] lines both providers' cloud configs get.
	globals string

	elb   *elb.Client
	elbv2 *elbv2.Client
	// backendGroups are the IDs of cloudlb's NLB backend groups seen (withoutBackend).
	backendGroups map[string]bool

	mu sync.Mutex
	// log is every call the fake saw, in order ("elasticloadbalancingv2:ModifyListener").
	log []string
}

// newEnv starts a fake: public and private subnets in us-east-1a and -b, every subnet
// tagged for the cluster and its role, one node security group, nodeCount instances.
func newEnv(t *testing.T, globals string) *env {
	t.Helper()
	e := &env{globals: globals}
	e.srv = fakeaws.New(fakeaws.Options{Region: region, OnCall: func(_ *http.Request, c fakeaws.Call) {
		e.mu.Lock()
		e.log = append(e.log, c.String())
		e.mu.Unlock()
	}})
	hs := httptest.NewServer(e.srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	owned := map[string]string{"kubernetes.io/cluster/" + cluster: "owned"}
	role := func(r string) map[string]string {
		return map[string]string{"kubernetes.io/cluster/" + cluster: "owned", "kubernetes.io/role/" + r: "1"}
	}
	built, err := e.srv.ApplyTopology(fakeaws.Topology{
		VPC: fakeaws.TopologyVPC{CIDR: "10.0.0.0/16"},
		Subnets: []fakeaws.TopologySubnet{
			{Name: "public-a", CIDR: "10.0.1.0/24", Zone: region + "a", Public: true, Tags: role("elb")},
			{Name: "public-b", CIDR: "10.0.2.0/24", Zone: region + "b", Public: true, Tags: role("elb")},
			{Name: "private-a", CIDR: "10.0.3.0/24", Zone: region + "a", Tags: role("internal-elb")},
			{Name: "private-b", CIDR: "10.0.4.0/24", Zone: region + "b", Tags: role("internal-elb")},
		},
		SecurityGroups: []fakeaws.TopologySecurityGroup{{Name: "nodes", Tags: owned}},
		Instances:      []fakeaws.TopologyInstance{{Name: "node", Subnet: "private-a", Count: nodeCount, Tags: owned, SecurityGroups: []string{"nodes"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.built = built
	cfg := aws.Config{Region: region, BaseEndpoint: aws.String(hs.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")}
	e.elb, e.elbv2 = elb.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)
	pems := testCert(t)
	up, err := iam.NewFromConfig(cfg).UploadServerCertificate(context.Background(), &iam.UploadServerCertificateInput{
		ServerCertificateName: aws.String(certName), CertificateBody: aws.String(pems[0]), PrivateKey: aws.String(pems[1])})
	if err != nil {
		t.Fatalf("upload the test certificate: %v", err)
	}
	e.cert = aws.ToString(up.ServerCertificateMetadata.Arn)
	return e
}

// node is node-i, Ready, with its instance's provider ID.
func (e *env) node(i int) *v1.Node {
	name := fmt.Sprintf("node-%d", i)
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.NodeSpec{ProviderID: "aws:///" + region + "a/" + e.built.Instances[name]},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
			Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: fmt.Sprintf("10.0.3.%d", 10+i)}}},
	}
}

// nodes are node-i for each i.
func (e *env) nodes(is ...int) []*v1.Node {
	var out []*v1.Node
	for _, i := range is {
		out = append(out, e.node(i))
	}
	return out
}

// instances are the instance IDs of nodes, sorted.
func instances(nodes []*v1.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Spec.ProviderID[strings.LastIndex(n.Spec.ProviderID, "/")+1:])
	}
	slices.Sort(out)
	return out
}

// upstream builds k8s.io/cloud-provider-aws through cloudprovider.GetCloudProvider, as its
// cloud-controller-manager does. VPC + SubnetID + KubernetesClusterID make it use its
// "master-dummy" self instance, so instance metadata is only asked for the identity
// document, which fails fast with AWS_EC2_METADATA_DISABLED.
func (e *env) upstream(t *testing.T) cloudprovider.LoadBalancer {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[Global]\nZone = %sa\nVPC = %s\nSubnetID = %s\nKubernetesClusterID = %s\n%s",
		region, e.built.VPC, e.built.Subnets["private-a"], cluster, e.globals)
	for i, s := range []struct{ id, signing string }{
		{"EC2", "ec2"}, {"Elastic Load Balancing", "elasticloadbalancing"},
		{"Elastic Load Balancing v2", "elasticloadbalancing"}, {"KMS", "kms"},
	} {
		fmt.Fprintf(&b, "\n[ServiceOverride %q]\nService = %q\nRegion = %s\nURL = %s\nSigningRegion = %s\nSigningName = %s\n",
			fmt.Sprint(i+1), s.id, region, e.url, region, s.signing)
	}
	c, err := cloudprovider.GetCloudProvider("aws", strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("cloud-provider-aws: %v", err)
	}
	lb, ok := c.LoadBalancer()
	if !ok {
		t.Fatal("cloud-provider-aws: no LoadBalancer interface")
	}
	return lb
}

// cloudlb builds cloudlb's provider from its cloud config (upstream's format), endpoints
// overridden to the fake, as cloudlb-controller-manager builds it.
func (e *env) cloudlb(t *testing.T) cloudprovider.LoadBalancer {
	t.Helper()
	return e.cloudlbWith(t, "")
}

// cloudlbWith is cloudlb with extra [Global] lines of cloudlb's own (upstream refuses them).
func (e *env) cloudlbWith(t *testing.T, extra string) cloudprovider.LoadBalancer {
	t.Helper()
	cfg := fmt.Sprintf("[Global]\nZone = %sa\nVPC = %s\nKubernetesClusterID = %s\n%s%s", region, e.built.VPC, cluster, e.globals, extra)
	for _, s := range []string{"ec2", "elasticloadbalancing"} {
		cfg += fmt.Sprintf("\n[ServiceOverride %q]\nService = %s\nRegion = %s\nURL = %s\n", s, s, region, e.url)
	}
	cc, err := cloudaws.ParseCloudConfig(strings.NewReader(cfg))
	if err != nil {
		t.Fatalf("cloudlb: %v", err)
	}
	c, err := cloudaws.NewFromConfig(context.Background(), cc)
	if err != nil {
		t.Fatalf("cloudlb: %v", err)
	}
	return c
}

// mark is the position in the call log a phase starts at.
func (e *env) mark() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.log)
}

// writesSince are the writes (not Describe/Get/List) the fake saw since mark, in order.
func (e *env) writesSince(mark int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, c := range e.log[mark:] {
		if !fakeaws.Call(c).IsRead() {
			out = append(out, c)
		}
	}
	return out
}
