// Package fake is an in-memory cloud for load balancers, shaped like the real providers
// (Build → Observe → Diff → Apply) and implementing k8s.io/cloud-provider's Interface and
// LoadBalancer. The embedded demo, the service controller's tests, the integration tests and
// the benchmarks run against it.
//
// Every simulated cloud call (one read: OpGet; writes: OpCreate, OpUpdate, OpUpdateNodes,
// OpDelete) is counted, can be slowed down (Latency) or made to fail (InjectError), and is
// reported through cloudapi.Observe. With Config.StatePath set, the state lives in a
// JSON file guarded by flock(2), so several processes (controller managers that are killed and
// restarted, or that take turns through leader election) share one cloud.
package fake
