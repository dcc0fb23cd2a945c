package aws

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// The replacement guard on the load balancer's type (guard.go has the other fields). A
// Classic Load Balancer and an NLB are different objects: changing aws-load-balancer-type
// creates the other kind and retires the old one, a new DNS name. That is done only when the
// guard allows it (the existing load balancer carries a recorded replacement key that
// differs from the Service's). Otherwise, as for a load balancer cloud-provider-aws made
// before the Service got the annotation, the existing one is kept: it is converged as its own
// kind, from the Service read as if aws-load-balancer-type named that kind (settings the
// other kind lacks are left out), with the Service's replacement key recorded, and Ensure
// returns a *providers.ReplacementRefused naming aws-load-balancer-type.
//
// The other kind is looked for only when the Service's kind does not exist under its name, so
// a Service whose load balancer is of its kind costs no extra read. The models of a kept
// load balancer have kindKept set: they look for no other kind and create nothing.

// keepsKind reports whether a load balancer of the other kind with tags, under the Service's
// name, is the Service's and the guard refuses replacing it by one of the Service's kind,
// whose replacement key is key.
func keepsKind(tags map[string]string, cluster, service, name, key string) bool {
	return owned(tags, cluster) && ownedBy(tags, service, name) == nil && !providers.ReplaceAllowed(tags[providers.ReplaceKeyTag], key)
}

// keptGone is the error of a kept load balancer that disappeared between two reads: the
// next reconcile makes the Service's kind.
func keptGone(name string) error {
	return fmt.Errorf("load balancer %s, kept for the Service of the other type, is gone; the next reconcile makes the Service's", name)
}

// typeWord is the load balancer type as aws-load-balancer-type says it.
func typeWord(t annotations.AWSLBType) string {
	if t == annotations.AWSTypeNLB {
		return typeNLB
	}
	return typeClassic
}

// asKind is the Service and its configuration as if aws-load-balancer-type named kind.
// Annotations that kind does not read are ignored with their problems: the Service's own
// parse has reported those that matter.
func asKind(svc *v1.Service, kind annotations.AWSLBType) (*v1.Service, *annotations.Config) {
	ksvc := svc.DeepCopy()
	if ksvc.Annotations == nil {
		ksvc.Annotations = map[string]string{}
	}
	delete(ksvc.Annotations, annotations.AWSLoadBalancerType.Key)
	if kind == annotations.AWSTypeNLB {
		ksvc.Annotations[annotations.AWSLoadBalancerType.Key] = typeNLB
	}
	kcfg, _ := annotations.Parse(ksvc, annotations.AWS)
	return ksvc, kcfg
}

// ensureKept converges the Service's load balancer of kind have, kept although the Service
// (cfg) names the other kind, recording key, the Service's replacement key. With update set
// (a node change) only its targets are updated and a refusal is not reported. Otherwise it
// returns the ReplacementRefused naming the type, with those the kept kind's own guard
// refused.
func (c *Cloud) ensureKept(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, have annotations.AWSLBType, key string, update bool) (*v1.LoadBalancerStatus, error) {
	ksvc, kcfg := asKind(svc, have)
	var st *v1.LoadBalancerStatus
	var err error
	switch {
	case have == annotations.AWSTypeNLB:
		st, err = c.ensureNLB(ctx, clusterName, ksvc, nodes, kcfg, update, key)
	case update:
		err = c.updateClassic(ctx, clusterName, ksvc, kcfg, nodes, true)
	default:
		st, err = c.ensureClassic(ctx, clusterName, ksvc, nodes, kcfg, key)
	}
	if update {
		if providers.AsReplacementRefused(err) != nil {
			return nil, nil
		}
		return st, err
	}
	change := providers.FieldChange{Field: fieldType, Have: typeWord(have), Want: typeWord(cfg.AWS.Type)}
	if rr := providers.AsReplacementRefused(err); rr != nil {
		rr.Changes = append([]providers.FieldChange{change}, rr.Changes...)
		return rr.Status, rr
	}
	if err != nil {
		return st, err
	}
	rr := &providers.ReplacementRefused{Service: serviceName(svc), LoadBalancer: nameOf(svc, cfg.AWS), Changes: []providers.FieldChange{change}, Status: st}
	return st, rr
}

// planKept is PlanLoadBalancer for a kept load balancer of kind have (ensureKept).
func (c *Cloud) planKept(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, have annotations.AWSLBType, key string) (*providers.Plan, error) {
	ksvc, kcfg := asKind(svc, have)
	if have == annotations.AWSTypeNLB {
		return c.planNLB(ctx, clusterName, ksvc, nodes, kcfg, key)
	}
	return c.planClassicLB(ctx, clusterName, ksvc, nodes, kcfg, key)
}

// keptNLB reports whether the classic Service m's name is held by its NLB, kept by the guard.
func (c *Cloud) keptNLB(ctx context.Context, name, cluster, service, key string) (bool, error) {
	keep, _, err := c.sameNameNLB(ctx, name, cluster, service, key)
	return keep, err
}

// sameNameNLB is keptNLB with the NLB it read (nil when there is none), so the rest of a
// Classic Service's observation needs no second read of it (observeRetiredNLB).
func (c *Cloud) sameNameNLB(ctx context.Context, name, cluster, service, key string) (bool, *nlbObserved, error) {
	if c.elbv2 == nil {
		return false, nil, nil
	}
	lb, err := c.observeNLB(ctx, name)
	if err != nil || lb == nil {
		return false, nil, err
	}
	return keepsKind(lb.tags, cluster, service, name, key), lb, nil
}
