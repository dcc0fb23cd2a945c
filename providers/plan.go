package providers

import (
	"context"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// Plan is what a provider's Diff decided for one Service, as a person reads it: the writes
// Apply would make, in order, each with the step of the plan it carries out (Write.Reason).
// An empty plan means the cloud already matches the Service.
type Plan struct {
	Service string
	Cloud   string
	Writes  []Write
}

// String renders the plan one write a line:
//
//	aws plan for default/web: 2 writes
//	  1. elbv2.ModifyListener arn:...:listener/net/a1/... — the listener's certificate changed
//	  2. elbv2.AddTags arn:...:loadbalancer/net/a1/... — record the new spec hash
func (p *Plan) String() string {
	var b strings.Builder
	switch len(p.Writes) {
	case 0:
		fmt.Fprintf(&b, "%s plan for %s: no writes (the cloud matches the Service)\n", p.Cloud, p.Service)
		return b.String()
	case 1:
		fmt.Fprintf(&b, "%s plan for %s: 1 write\n", p.Cloud, p.Service)
	default:
		fmt.Fprintf(&b, "%s plan for %s: %d writes\n", p.Cloud, p.Service, len(p.Writes))
	}
	for i, w := range p.Writes {
		fmt.Fprintf(&b, "  %d. %s %s", i+1, w.Operation, w.Object)
		if w.Change != ChangeNone {
			fmt.Fprintf(&b, " (%s)", strings.ToLower(string(w.Change)))
		}
		if w.Reason != "" {
			fmt.Fprintf(&b, " — %s", w.Reason)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Planner is implemented by providers that can say what EnsureLoadBalancerConfigured would
// write without writing: PlanLoadBalancer builds the model, observes the cloud (reads only) and
// diffs, and returns the plan Apply would execute. Read-only credentials suffice. Writes whose
// target is known only once an earlier write succeeded (the ARN of a load balancer not created
// yet) name the object as the model does.
type Planner interface {
	PlanLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*Plan, error)
}
