package fake

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkEnsureNoop measures an Ensure of an unchanged Service: annotation parsing, the
// model build, one read and the diff. The latency of the simulated calls is zero.
func BenchmarkEnsureNoop(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  func(b *testing.B) Config
	}{
		{"memory", func(*testing.B) Config { return Config{} }},
		{"file", func(b *testing.B) Config { return Config{StatePath: filepath.Join(b.TempDir(), "fake.json")} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := newCloud(b, bc.cfg(b))
			svc := newService("web", withAnnotation(awsNodeLabelsKey, "role=lb"), withLocal(32000))
			nodeList := nodes("n1", "n2", "n3")
			for i := range nodeList {
				nodeList[i].Labels = map[string]string{"role": "lb"}
			}
			// 100 other load balancers, so the file variant reads a realistic state.
			for i := range 100 {
				mustEnsure(b, c, testCluster, newService(fmt.Sprintf("other-%d", i)), nil)
			}
			mustEnsure(b, c, testCluster, svc, nodeList)
			c.ResetCalls()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.EnsureLoadBalancer(ctx, testCluster, svc, nodeList); err != nil {
					b.Fatal(err)
				}
			}
			if calls := c.Calls(); calls.Writes != 0 {
				b.Fatalf("a no-op Ensure wrote: %+v", calls)
			}
		})
	}
}
