package azure

import (
	"context"
	"net/http"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

var _ providers.Planner = (*Cloud)(nil)

// PlanLoadBalancer says what EnsureLoadBalancerConfigured would write for the Service, without
// writing (providers.Planner): the same parts are observed (reads only, no lock) and diffed,
// in the same order, and the writes listed as the audit trail names them. Where a write
// depends on an earlier one (the NSG rules allow a frontend address Azure gives when the
// frontend or its public IP is created), the plan holds Unresolved. A write ARM refuses
// because a Private Link Service it did not say about still references a frontend cannot be
// planned: the reconcile deletes that Private Link Service then.
func (c *Cloud) PlanLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*providers.Plan, error) {
	if err := servedHere(svc, cfg); err != nil {
		return nil, err
	}
	m, err := c.build(clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, err
	}
	withReplaceKey(m, replaceKey(cfg.Core.ReplaceToken, cfg.Azure))
	r := c.newReconcile(svc.UID, m, cfg.Azure, true)
	if _, err := r.ensure(ctx); err != nil {
		return nil, err
	}
	out := &providers.Plan{Service: m.Service, Cloud: ProviderName, Writes: []providers.Write{}}
	for _, w := range r.planned {
		out.Writes = append(out.Writes, w.audited())
	}
	return out, nil
}

// plan observes and diffs one part, and collects its writes without making them.
func (r *reconcile) plan(ctx context.Context, pt part) error {
	if err := pt.observe(ctx, r.o); err != nil {
		return err
	}
	p, err := pt.diff(r.o)
	if err != nil {
		return err
	}
	r.planned = append(r.planned, p.Writes...)
	return nil
}

// audited is the write as the audit trail reports it (auditPolicy): the method and resource
// type as the operation, the resource ID as the object, the step as the reason.
func (w *Write) audited() providers.Write {
	a := armWrite(w.Method, w.ID)
	a.Reason = w.Step
	switch {
	case w.Method == http.MethodDelete:
		a.Change = providers.ChangeDeleted
	case w.Create:
		a.Change = providers.ChangeCreated
	}
	return a
}
