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

	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// BenchmarkThrottlingGCE: 50 external target-pool NetLBs (the default) through the gce
// provider as cloudlb-controller-manager --cloud-provider=gce builds it from a gce.conf whose
// api-endpoint is the fake (no credentials), with its default rate limits and retries.
func BenchmarkThrottlingGCE(b *testing.B) {
	cloudgce.Register()
	const project, region = "bench-project", "us-central1"
	benchmarkThrottling(b, 50, func(b *testing.B) *env {
		fake := fakegce.New(fakegce.Options{Project: project, Region: region, Seed: 16})
		hs := httptest.NewServer(fake)
		b.Cleanup(hs.Close)
		conf := filepath.Join(b.TempDir(), "gce.conf")
		if err := os.WriteFile(conf, fmt.Appendf(nil, "[global]\nproject-id = %s\nlocal-zone = %s-a\nnode-tags = bench-node\ncluster-id = demo\napi-endpoint = %s\nsubnetwork-name = default\n",
			project, region, hs.URL), 0o600); err != nil {
			b.Fatal(err)
		}
		p, err := cloudprovider.InitCloudProvider(cloudgce.ProviderName, conf)
		if err != nil {
			b.Fatal(err)
		}
		lb, _ := p.LoadBalancer()
		e := &env{cloud: lb, fake: fake, service: func(i int) *v1.Service { return service(i, nil) }}
		for i, zone := range []string{region + "-a", region + "-a", region + "-b"} {
			name := fmt.Sprintf("node-%d", i+1)
			fake.AddInstance(fakegce.Instance{Name: name, Zone: zone, Tags: []string{"bench-node"}})
			e.nodes = append(e.nodes, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: v1.NodeSpec{ProviderID: "gce://" + project + "/" + zone + "/" + name}})
		}
		return e
	})
}
