package servicecontroller

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/providers"
)

// withAudit makes every cloud write of one reconcile of svc readable afterwards: logged once
// at the default level with the Service (from the ctx's logger) and the reason, the
// controller operation that made it (ensure, update, delete); a created or deleted cloud
// object also becomes a Normal Event on the Service. svc is nil for a Service already gone:
// its writes are logged only.
func (c *core) withAudit(ctx context.Context, svc *v1.Service, op string) context.Context {
	return providers.WithAuditor(ctx, func(ctx context.Context, w providers.Write, err error) {
		providers.LogWrite(klog.NewContext(ctx, klog.FromContext(ctx).WithValues("reason", op)), w, err)
		if err != nil || svc == nil {
			return
		}
		reason := ""
		switch w.Change {
		case providers.ChangeCreated:
			reason = ReasonCloudObjectCreated
		case providers.ChangeDeleted:
			reason = ReasonCloudObjectDeleted
		default:
			return
		}
		msg := fmt.Sprintf("%s %s %s (%s)", w.Change, w.Cloud, w.Object, w.Operation)
		if w.Reason != "" {
			msg += ": " + w.Reason
		}
		c.events.Event(svc, v1.EventTypeNormal, reason, msg)
	})
}
