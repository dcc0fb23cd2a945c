package providers

import "context"

// The first ensure. The service controller adds the load-balancer-cleanup finalizer before
// its first cloud call for a Service and removes it only after EnsureLoadBalancerDeleted
// succeeded, which deletes every load balancer of the Service under each name it may have
// used, of every kind; upstream's service controller keeps the same finalizer the same way.
// So a sync that has to add the finalizer, for a Service whose status shows no address, is
// the first since anything was provisioned for it: no load balancer of ours can exist for it.
// A provider may then skip the reads that only look for one of its own (a load balancer of
// the other kind a type change left, a Service's load balancer under an earlier name). It
// still reads what a create could collide with (a load balancer under the same name that is
// not ours): a stale answer must never make it write to something that is not its own.
//
// Without the mark (a retry of a failed first ensure, every later sync, and any controller
// other than ours calling the provider) every read is made.

type firstEnsureKey struct{}

// WithFirstEnsure returns ctx marked as the Service's first ensure (see above).
func WithFirstEnsure(ctx context.Context) context.Context {
	return context.WithValue(ctx, firstEnsureKey{}, true)
}

// FirstEnsure reports whether ctx is marked as the Service's first ensure.
func FirstEnsure(ctx context.Context) bool {
	v, _ := ctx.Value(firstEnsureKey{}).(bool)
	return v
}
