package servicecontroller

import (
	"maps"
	"slices"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// Finalizer is added to a Service before the first cloud write and removed only after the
// cloud load balancer is gone. The name is the upstream one, so Services move between the
// upstream controller and this one without leaking load balancers.
const Finalizer = "service.kubernetes.io/load-balancer-cleanup"

// servesClass reports whether svc's spec.loadBalancerClass is the one this controller serves:
// no class when class is "", else exactly class.
func servesClass(svc *v1.Service, class string) bool {
	if svc.Spec.LoadBalancerClass == nil {
		return class == ""
	}
	return *svc.Spec.LoadBalancerClass == class
}

// wantsLoadBalancer reports whether svc asks this controller for a load balancer.
func wantsLoadBalancer(svc *v1.Service, class string) bool {
	return svc.Spec.Type == v1.ServiceTypeLoadBalancer && servesClass(svc, class)
}

func hasFinalizer(svc *v1.Service) bool { return slices.Contains(svc.Finalizers, Finalizer) }

// needsCleanup reports whether a Service of our class carries the finalizer and is being
// deleted or no longer wants a load balancer. Services of another class are never ours to
// clean up, even when they carry the (shared) finalizer name.
func needsCleanup(svc *v1.Service, class string) bool {
	return hasFinalizer(svc) && servesClass(svc, class) &&
		(svc.DeletionTimestamp != nil || !wantsLoadBalancer(svc, class))
}

// maybeOrphaned reports whether svc may be one of ours whose class the API server wiped: it
// clears spec.loadBalancerClass when the type changes away from LoadBalancer, so a class-mode
// controller then sees a class-less Service with the finalizer. Whether it is ours is decided
// during the sync (remembered state or the provider's GetLoadBalancer).
func maybeOrphaned(svc *v1.Service, class string) bool {
	return class != "" && svc.Spec.LoadBalancerClass == nil &&
		svc.Spec.Type != v1.ServiceTypeLoadBalancer && hasFinalizer(svc)
}

// needsUpdate reports whether the change from old to cur needs the load balancer re-ensured.
func needsUpdate(old, cur *v1.Service, class string) bool {
	return len(changedFields(old, cur, class)) > 0
}

// changedFields lists the fields whose change from old to cur needs the load balancer
// re-ensured (upstream's needsUpdate list). Labels, the selector, status, and fields the
// providers do not read (ipFamilyPolicy, internalTrafficPolicy, ...) are deliberately absent.
// Empty and nil lists and maps compare equal.
func changedFields(old, cur *v1.Service, class string) []string {
	oldWants, curWants := wantsLoadBalancer(old, class), wantsLoadBalancer(cur, class)
	if !oldWants && !curWants {
		return nil
	}
	if oldWants != curWants {
		return []string{"type"}
	}
	var changed []string
	check := func(field string, differs bool) {
		if differs {
			changed = append(changed, field)
		}
	}
	o, c := &old.Spec, &cur.Spec
	check("spec.loadBalancerSourceRanges", !slices.Equal(o.LoadBalancerSourceRanges, c.LoadBalancerSourceRanges))
	check("spec.ports", !portsEqual(o.Ports, c.Ports))
	check("spec.sessionAffinity", o.SessionAffinity != c.SessionAffinity)
	check("spec.sessionAffinityConfig", !apiequality.Semantic.DeepEqual(o.SessionAffinityConfig, c.SessionAffinityConfig))
	check("spec.loadBalancerIP", o.LoadBalancerIP != c.LoadBalancerIP)
	check("spec.externalIPs", !slices.Equal(o.ExternalIPs, c.ExternalIPs))
	check("metadata.annotations", !maps.Equal(old.Annotations, cur.Annotations))
	check("metadata.uid", old.UID != cur.UID)
	check("spec.externalTrafficPolicy", o.ExternalTrafficPolicy != c.ExternalTrafficPolicy)
	check("spec.healthCheckNodePort", o.HealthCheckNodePort != c.HealthCheckNodePort)
	check("spec.ipFamilies", len(o.IPFamilies) != len(c.IPFamilies))
	return changed
}

// portsEqual compares the port fields a load balancer is built from, in order.
func portsEqual(a, b []v1.ServicePort) bool {
	return slices.EqualFunc(a, b, func(x, y v1.ServicePort) bool {
		return x.Name == y.Name && x.Protocol == y.Protocol && x.Port == y.Port &&
			x.NodePort == y.NodePort && x.TargetPort == y.TargetPort &&
			ptrEqual(x.AppProtocol, y.AppProtocol)
	})
}

func ptrEqual[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
