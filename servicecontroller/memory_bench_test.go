package servicecontroller

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// BenchmarkStateMemory measures what the controller keeps per provisioned Service once every
// Service is ensured, at 1,000 nodes: the heap the core's state holds divided by the Services
// (the Services and nodes themselves, which the informers hold anyway, are allocated before the
// first reading). Issue 16: a copy of the node set per Service made it grow as Services x Nodes.
func BenchmarkStateMemory(b *testing.B) {
	for _, services := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("services=%d/nodes=1000", services), func(b *testing.B) {
			for b.Loop() {
				t := &testing.T{}
				f := newFixture(t, Options{})
				nodes := make([]*v1.Node, 1000)
				for i := range nodes {
					nodes[i] = node(fmt.Sprintf("node-%04d", i))
				}
				f.setNodes(nodes...)
				// A cloud that keeps nothing, so that only the controller's own state is measured.
				f.core = newCore(f.core.opts, nopCloud{}, f.writer, f.events, f.core.nodes)
				f.j.disabled = true
				keys := make([]string, services)
				for i := range keys {
					keys[i] = f.add(lbService(fmt.Sprintf("svc-%05d", i)))
				}
				before := heapInUse()
				for _, key := range keys {
					if err := f.sync(key); err != nil {
						b.Fatal(err)
					}
				}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/float64(services), "state-bytes/Service")
				runtime.KeepAlive(f)
			}
		})
	}
}

// nopCloud accepts every load balancer and keeps nothing.
type nopCloud struct{}

func (nopCloud) GetLoadBalancer(context.Context, string, *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	return nil, false, nil
}
func (nopCloud) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return string(svc.UID)
}
func (nopCloud) EnsureLoadBalancer(context.Context, string, *v1.Service, []*v1.Node) (*v1.LoadBalancerStatus, error) {
	return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: "203.0.113.10"}}}, nil
}
func (nopCloud) UpdateLoadBalancer(context.Context, string, *v1.Service, []*v1.Node) error {
	return nil
}
func (nopCloud) EnsureLoadBalancerDeleted(context.Context, string, *v1.Service) error { return nil }

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
