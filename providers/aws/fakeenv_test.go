package aws

import (
	"fmt"
	"net/http/httptest"
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

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
)

// fakeCluster is the cluster of fakeEnv's ownership tags.
const fakeCluster = "demo"

// fakeEnv is a fakeaws with one public subnet and n instances of the cluster (node-1 ...), and
// a Cloud whose SDK clients are configured as NewFromConfig configures them (the shared
// adaptive retryers, the audit middleware), with a short backoff to keep tests fast.
func fakeEnv(t *testing.T, opts fakeaws.Options, n int) (*Cloud, *fakeaws.Server, []*v1.Node) {
	t.Helper()
	srv := fakeaws.New(opts)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	owned := map[string]string{"kubernetes.io/cluster/" + fakeCluster: "owned"}
	built, err := srv.ApplyTopology(fakeaws.Topology{
		VPC: fakeaws.TopologyVPC{CIDR: "10.0.0.0/16"},
		Subnets: []fakeaws.TopologySubnet{
			{Name: "public-a", CIDR: "10.0.1.0/24", Zone: "us-east-1a", Public: true, Tags: map[string]string{"kubernetes.io/role/elb": "1"}},
		},
		SecurityGroups: []fakeaws.TopologySecurityGroup{{Name: "nodes", Tags: owned}},
		Instances:      []fakeaws.TopologyInstance{{Name: "node", Subnet: "public-a", Count: n, Tags: owned, SecurityGroups: []string{"nodes"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")}
	// Short backoff keeps the tests fast; the attempt bound and the adaptive mode are the
	// production ones.
	ls := newLimits(Limits{MaxBackoff: 5 * time.Millisecond})
	cc, err := ParseCloudConfig(strings.NewReader(fmt.Sprintf("[Global]\nZone = us-east-1a\nVPC = %s\n", built.VPC)))
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Config: cc, limits: ls,
		EC2:   ec2.NewFromConfig(cfg, func(o *ec2.Options) { ls.ec2.configure(&o.Retryer, &o.APIOptions) }),
		ELB:   elb.NewFromConfig(cfg, func(o *elb.Options) { ls.elb.configure(&o.Retryer, &o.APIOptions) }),
		ELBv2: elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { ls.elbv2.configure(&o.Retryer, &o.APIOptions) })})
	var nodes []*v1.Node
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("node-%d", i)
		nodes = append(nodes, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1.NodeSpec{ProviderID: "aws:///us-east-1a/" + built.Instances[name]}})
	}
	return c, srv, nodes
}
