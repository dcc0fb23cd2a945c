// Package awscontract_test is the AWS contract suite: the real service controller, the real
// kube-apiserver and the aws provider against an AWS-compatible endpoint. By default the
// endpoint is fakeaws served in-process; with CLOUDLB_AWS_ENDPOINT set (`make
// test-localstack`) it is that endpoint, e.g. LocalStack, and the assertions only the fake
// can make (call counts, injected faults, its inventory) are skipped.
//
// The network is built once per package through the EC2 API (topology_test.go), so both
// endpoints see the same calls. Each test has its own namespace, LoadBalancerClass and
// controller, so tests run in parallel on one control plane. Nodes are cluster-wide: the
// tests that change Nodes, count calls or inject faults do not call t.Parallel, so Go runs
// them before the parallel ones.
//
// The tests every cloud's suite shares are integration/contract's (TestContract and
// TestContractParallel); this package holds the AWS side of them (cloud_test.go), its
// annotation cases and seed examples, and the tests only AWS has.
package awscontract_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/integration/contract"
)

// endpointEnv names the AWS-compatible endpoint to test instead of the in-process fake.
const endpointEnv = "CLOUDLB_AWS_ENDPOINT"

// clusterName is the cluster of the ownership tags. Against an external endpoint, which
// keeps what earlier runs built, it is unique per run (see setUp).
var clusterName = "awscontract"

const (
	region = "us-east-1"
	prefix = "service.beta.kubernetes.io/aws-load-balancer-"
	// edgeLabel selects the nodes of the nlb-internal seed example.
	edgeLabel = "node.kubernetes.io/role"
)

// suite is what every test shares: the control plane, the endpoint and the network on it.
type suite struct {
	// tenants are what every test's tenant is made of (cloud_test.go).
	tenants  contract.Config
	endpoint string
	// fake is the in-process fakeaws; nil against an external endpoint.
	fake *fakeaws.Server
	aws  aws.Config
	ec2  *ec2.Client
	elb  *elb.Client
	elb2 *elbv2.Client
	net  *network
	// gate sits in front of the in-process fake to cut the controller off after N writes.
	gate *contract.WriteGate
	// served holds the operations the in-process fake served to the provider, which reaches
	// the fake through an endpoint of its own (AWS_ENDPOINT_URL); the suite's own clients use
	// endpoint.
	served contract.Served
}

var shared suite

// TestMain runs the suite on one control plane; once every test has deleted its Services, the
// cloud must hold nothing of the suite's cluster (leftovers), and the IAM policy must grant
// exactly what the provider called (permissions_test.go).
func TestMain(m *testing.M) {
	os.Exit(contract.Main(m, shared.setUp, shared.leftovers, shared.checkPermissions))
}

// leftovers reports what the cloud still holds of the suite's cluster: through the APIs by
// the cluster tag on any endpoint, and, on the fake, everything in its inventory but the
// network the suite built.
func (s *suite) leftovers(ctx context.Context) error {
	var problems []string
	owned, err := ownedResources(ctx)
	if err != nil {
		return err
	}
	for _, r := range owned {
		problems = append(problems, r.String())
	}
	if s.fake != nil {
		inv := s.fake.Inventory()
		problems = append(problems, prefixed("Classic ELB ", inv.ClassicLoadBalancers)...)
		problems = append(problems, prefixed("NLB ", inv.LoadBalancers)...)
		problems = append(problems, prefixed("target group ", inv.TargetGroups)...)
		problems = append(problems, prefixed("listener ", inv.Listeners)...)
		for _, g := range inv.SecurityGroups {
			if g.ID != s.net.nodeGroup && !slices.Contains(s.net.extraGroups, g.ID) {
				problems = append(problems, "security group "+g.ID+" "+g.Name)
			}
		}
		fmt.Printf("fakeaws after the suite: %d Classic ELBs, %d NLBs, %d target groups, %d listeners, %d security groups\n",
			len(inv.ClassicLoadBalancers), len(inv.LoadBalancers), len(inv.TargetGroups), len(inv.Listeners), len(inv.SecurityGroups))
	}
	if len(problems) > 0 {
		return fmt.Errorf("left behind:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

func prefixed(p string, items []string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = p + it
	}
	return out
}

func (s *suite) setUp(ctx context.Context, rest *rest.Config) error {
	s.tenants = contract.Config{REST: rest, NamespacePrefix: "aws", AnnotationCloud: annotations.AWS, NewCloud: newProvider}
	s.endpoint = os.Getenv(endpointEnv)
	providerEndpoint := s.endpoint
	if s.endpoint != "" {
		clusterName = fmt.Sprintf("awscontract-%d", time.Now().Unix())
		fmt.Printf("AWS contract suite against %s (cluster %s); fake-only assertions are skipped\n", s.endpoint, clusterName)
	} else {
		// $CLOUDLB_FAKEAWS_DNS names the load balancers unlike AWS does (make test runs the
		// suite both ways), so nothing can come to depend on the shape of a DNS name.
		dns, err := fakeaws.DNSFormatFromEnv()
		if err != nil {
			return err
		}
		fmt.Printf("AWS contract suite against the in-process fakeaws, DNS names %s\n", dns)
		s.fake = fakeaws.New(fakeaws.Options{Region: region, DNSNames: dns,
			OnCall: func(r *http.Request, c fakeaws.Call) { s.served.Record(r, c.String()) }})
		// Never closed: the process ends with the package.
		s.gate = &contract.WriteGate{IsWrite: isWrite, Refuse: func(w http.ResponseWriter) {
			http.Error(w, "writeGate: the controller is considered dead", http.StatusServiceUnavailable)
		}}
		front := s.gate.Wrap(s.fake)
		s.endpoint = httptest.NewServer(front).URL
		providerEndpoint = httptest.NewServer(s.served.Provider(front)).URL
	}
	// The provider builds its clients as in production (cloudaws.NewFromConfig: the SDK's
	// default chain, AWS_ENDPOINT_URL, the provider's retries and its adaptive (AIMD) rate limits).
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": providerEndpoint, "AWS_REGION": region,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	s.aws = clientConfig(s.endpoint, 1)
	s.ec2, s.elb, s.elb2 = ec2.NewFromConfig(s.aws), elb.NewFromConfig(s.aws), elbv2.NewFromConfig(s.aws)
	if err := importCertificates(ctx, s.aws); err != nil {
		return err
	}
	n, err := buildNetwork(ctx, s.ec2, clusterName)
	if err != nil {
		return fmt.Errorf("build the network through the EC2 API at %s: %w", s.endpoint, err)
	}
	s.net = n
	s.tenants.ClusterName = clusterName
	cs, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return err
	}
	// The fourth instance ("spare") has no Node until TestContract/NodeChurn adds it.
	for _, in := range n.instances[:3] {
		labels := map[string]string{}
		if in.name != "node-c" {
			labels[edgeLabel] = "edge"
		}
		node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: in.name, Labels: labels},
			Spec: v1.NodeSpec{ProviderID: in.providerID()}}
		if err := contract.CreateReadyNode(ctx, cs, node); err != nil {
			return err
		}
	}
	if s.fake != nil {
		s.fake.ResetCalls()
	}
	return nil
}

// clientConfig is an SDK config for the endpoint with static test credentials. attempts is
// the SDK retryer's budget: 1 for the suite's own assertions (every call visible), the SDK
// default for the provider, as in production.
func clientConfig(endpoint string, attempts int) aws.Config {
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
	if attempts > 0 {
		cfg.RetryMaxAttempts = attempts
	}
	return cfg
}

// requireFake skips a test whose assertions only the in-process fake can make.
func requireFake(t *testing.T, why string) *fakeaws.Server {
	t.Helper()
	if shared.fake == nil {
		t.Skipf("needs the in-process fakeaws (%s); %s points the suite at %s", why, endpointEnv, shared.endpoint)
	}
	return shared.fake
}

// isNotFound reports whether err is an AWS not-found error of any of the three APIs.
func isNotFound(err error) bool {
	var ae interface{ ErrorCode() string }
	if !errors.As(err, &ae) {
		return false
	}
	c := ae.ErrorCode()
	return strings.Contains(c, "NotFound")
}
