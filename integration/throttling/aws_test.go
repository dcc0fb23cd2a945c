package throttling_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// BenchmarkThrottlingAWS: 200 Classic ELBs (the default type) through the aws provider as
// cloudlb-controller-manager --cloud-provider=aws builds it: the SDK's default credential
// chain and AWS_ENDPOINT_URL, the provider's retryers and rate limits at their defaults.
func BenchmarkThrottlingAWS(b *testing.B) {
	cloudaws.Register()
	benchmarkThrottling(b, 200, func(b *testing.B) *env {
		const nodes = 3
		srv, url, built := awsCluster(b, "demo", nodes)
		for k, v := range map[string]string{"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1",
			"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
			b.Setenv(k, v)
		}
		conf := filepath.Join(b.TempDir(), "cloud.conf")
		if err := os.WriteFile(conf, fmt.Appendf(nil, "[Global]\nZone = us-east-1a\nVPC = %s\nKubernetesClusterTag = demo\n", built.VPC), 0o600); err != nil {
			b.Fatal(err)
		}
		p, err := cloudprovider.InitCloudProvider(cloudaws.ProviderName, conf)
		if err != nil {
			b.Fatal(err)
		}
		lb, _ := p.LoadBalancer()
		e := &env{cloud: lb, fake: srv, service: func(i int) *v1.Service { return service(i, nil) }}
		for i := 1; i <= nodes; i++ {
			name := fmt.Sprintf("node-%d", i)
			e.nodes = append(e.nodes, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: v1.NodeSpec{ProviderID: "aws:///us-east-1a/" + built.Instances[name]}})
		}
		return e
	})
}

// awsCluster starts a fakeaws with one public subnet and nodes instances (node-1, ...) of
// cluster in the nodes' group, its rules-per-group quota raised to 1,000 (every Service adds
// rules to the nodes' group; 1,000 is the most AWS grants, rules per group times groups per
// interface, 60 its default), and returns it, its URL and what it built.
func awsCluster(b *testing.B, cluster string, nodes int) (*fakeaws.Server, string, *fakeaws.Built) {
	b.Helper()
	srv := fakeaws.New(fakeaws.Options{Seed: 16, RulesPerSecurityGroup: 1000})
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	owned := map[string]string{"kubernetes.io/cluster/" + cluster: "owned"}
	built, err := srv.ApplyTopology(fakeaws.Topology{
		VPC: fakeaws.TopologyVPC{CIDR: "10.0.0.0/16"},
		Subnets: []fakeaws.TopologySubnet{
			{Name: "public-a", CIDR: "10.0.1.0/24", Zone: "us-east-1a", Public: true, Tags: map[string]string{"kubernetes.io/role/elb": "1"}},
		},
		SecurityGroups: []fakeaws.TopologySecurityGroup{{Name: "nodes", Tags: owned}},
		Instances:      []fakeaws.TopologyInstance{{Name: "node", Subnet: "public-a", Count: nodes, Tags: owned, SecurityGroups: []string{"nodes"}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv, hs.URL, built
}
