package providers

import (
	"context"

	"k8s.io/klog/v2"
)

// Change says what a write did to a cloud object's existence; most writes change an object in
// place and carry ChangeNone.
type Change string

// Changes a provider reports.
const (
	ChangeNone    Change = ""
	ChangeCreated Change = "Created"
	ChangeDeleted Change = "Deleted"
)

// Write is one cloud API write a provider made: which cloud, the operation
// ("elbv2.CreateTargetGroup", "PUT loadBalancers"), the object it wrote (a name, an ARN, an
// ARM resource ID or a Compute self link), and whether it created or deleted that object.
type Write struct {
	Cloud     string
	Operation string
	Object    string
	Change    Change
	// Reason is why the provider made the write (the step of its plan), from WithReason; ""
	// when the provider gave none.
	Reason string
}

// ReasonDeleting is the reason of every write of EnsureLoadBalancerDeleted.
const ReasonDeleting = "the Service no longer wants a load balancer"

type reasonKey struct{}

// WithReason returns ctx whose writes are audited with why: the step of the provider's plan
// they carry out ("replacing the NLB: its scheme is fixed at creation").
func WithReason(ctx context.Context, why string) context.Context {
	return context.WithValue(ctx, reasonKey{}, why)
}

// WithStep is WithReason for one step of a provider's plan, except during a deletion, whose
// writes all keep ReasonDeleting.
func WithStep(ctx context.Context, why string) context.Context {
	if r, _ := ReasonOf(ctx); r == ReasonDeleting {
		return ctx
	}
	return WithReason(ctx, why)
}

// ReasonOf returns the reason WithReason put in ctx.
func ReasonOf(ctx context.Context) (string, bool) {
	why, ok := ctx.Value(reasonKey{}).(string)
	return why, ok
}

// Auditor receives every cloud write of one reconcile, once per call whatever the SDK's
// retries, with the call's error (nil on success).
type Auditor func(ctx context.Context, w Write, err error)

type auditorKey struct{}

// WithAuditor returns ctx carrying a; the service controller sets one per reconcile so that
// each write is logged with the Service and the reason, and creates and deletes become Events.
func WithAuditor(ctx context.Context, a Auditor) context.Context {
	return context.WithValue(ctx, auditorKey{}, a)
}

// AuditWrite reports one write to the ctx's Auditor. Without one (the provider runs inside
// another cloud-controller-manager) the write is logged at the default level with what the
// ctx's logger carries.
func AuditWrite(ctx context.Context, w Write, err error) {
	if w.Reason == "" {
		w.Reason, _ = ReasonOf(ctx)
	}
	if a, ok := ctx.Value(auditorKey{}).(Auditor); ok && a != nil {
		a(ctx, w, err)
		return
	}
	LogWrite(ctx, w, err)
}

// LogWrite logs one write at the default level: a person can read afterwards which cloud
// object was created, changed or deleted, for which Service and why (the logger's values).
func LogWrite(ctx context.Context, w Write, err error) {
	kv := []any{"cloud", w.Cloud, "operation", w.Operation, "object", w.Object}
	if w.Change != ChangeNone {
		kv = append(kv, "change", string(w.Change))
	}
	if w.Reason != "" {
		kv = append(kv, "why", w.Reason)
	}
	if err != nil {
		klog.FromContext(ctx).Info("Cloud write failed", append(kv, "err", err.Error())...)
		return
	}
	klog.FromContext(ctx).Info("Cloud write", kv...)
}
