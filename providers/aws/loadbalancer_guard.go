package aws

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// observeNLBGuarded observes the NLB Service of model m; when the replacement guard refuses a
// replacement (guard.go), it builds the model that keeps the NLB's replacement fields as they
// are (carrying the Service's replacement key, which the tag write records) and observes
// again for it. The returned *ReplacementRefused, nil when nothing was refused, lacks its
// Status until the plan is applied.
func (c *Cloud) observeNLBGuarded(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, m *NLBModel, vpc string) (*NLBModel, *nlbObservation, *providers.ReplacementRefused, error) {
	o, err := c.observeNLBService(ctx, svc, m, vpc)
	if err != nil || o.refused == nil {
		return m, o, nil, err
	}
	kcfg := *cfg
	kcfg.AWS = keepNLB(cfg.AWS, m, o.lb)
	kept, _, err := c.buildNLB(ctx, clusterName, svc, nodes, &kcfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("keeping NLB %s: %w", m.Name, err)
	}
	kept.Tags[providers.ReplaceKeyTag], kept.kindKept = m.Tags[providers.ReplaceKeyTag], m.kindKept
	ko, err := c.observeNLBService(ctx, svc, kept, vpc)
	if err != nil {
		return nil, nil, nil, err
	}
	if ko.refused != nil { // keepNLB missed a field: a bug, never a replacement
		return nil, nil, nil, fmt.Errorf("keeping NLB %s: it still differs in %v", m.Name, ko.refused)
	}
	return kept, ko, &providers.ReplacementRefused{Service: m.Service, LoadBalancer: m.Name, Changes: o.refused}, nil
}

// planClassicGuarded is planClassic with the replacement guard: when it refuses replacing the
// load balancer, the plan is that of the model keeping the load balancer's scheme (and the
// subnets discovery gives for it), with the Service's replacement key.
func (c *Cloud) planClassicGuarded(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, m *Model, vpc string) (*Model, *classicPlan, *providers.ReplacementRefused, error) {
	p, err := c.planClassic(ctx, svc, m, cfg, vpc)
	if err != nil || p.refused == nil {
		return m, p, nil, err
	}
	kcfg, kaws := *cfg, *cfg.AWS
	kaws.Internal = !m.Internal
	kcfg.AWS = &kaws
	kept, _, err := c.build(ctx, clusterName, svc, nodes, &kcfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("keeping load balancer %s: %w", m.Name, err)
	}
	kept.Tags[providers.ReplaceKeyTag], kept.kindKept = m.Tags[providers.ReplaceKeyTag], m.kindKept
	kp, err := c.planClassic(ctx, svc, kept, &kcfg, vpc)
	if err != nil {
		return nil, nil, nil, err
	}
	if kp.refused != nil {
		return nil, nil, nil, fmt.Errorf("keeping load balancer %s: it still differs in %v", m.Name, kp.refused)
	}
	return kept, kp, &providers.ReplacementRefused{Service: m.Service, LoadBalancer: m.Name, Changes: p.refused}, nil
}
