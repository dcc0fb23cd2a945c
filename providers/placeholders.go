package providers

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
)

// PlaceholderUID stands, in an offline model (`cloudlb plan`), for the UID of a Service read
// from a manifest.
const PlaceholderUID = "00000000-0000-0000-0000-000000000000"

// placeholderPortBase is where placeholder ports are counted down from: the top of the
// default NodePort range.
const placeholderPortBase = 32767

// WithPlaceholders returns a copy of svc whose missing UID, unallocated nodePorts and (for
// externalTrafficPolicy: Local) healthCheckNodePort hold placeholders, and the notes naming
// them; name is the provider's load balancer name, which derives from the UID. Builders skip
// ports without a nodePort, so a manifest would otherwise plan nothing.
func WithPlaceholders(svc *v1.Service, name func(*v1.Service) string) (*v1.Service, []string) {
	svc = svc.DeepCopy()
	used := map[int32]bool{svc.Spec.HealthCheckNodePort: true}
	for _, p := range svc.Spec.Ports {
		used[p.NodePort] = true
	}
	next := int32(placeholderPortBase)
	take := func() int32 {
		for used[next] {
			next--
		}
		used[next] = true
		return next
	}
	var notes []string
	if svc.UID == "" {
		svc.UID = PlaceholderUID
		notes = append(notes, fmt.Sprintf("names: %s stands for \"a\" + the Service UID Kubernetes assigns", name(svc)))
	}
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].NodePort == 0 {
			svc.Spec.Ports[i].NodePort = take()
			notes = append(notes, fmt.Sprintf("spec.ports[%d].nodePort %d stands for the port Kubernetes allocates", i, svc.Spec.Ports[i].NodePort))
		}
	}
	if svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = take()
		notes = append(notes, fmt.Sprintf("spec.healthCheckNodePort %d stands for the port Kubernetes allocates", svc.Spec.HealthCheckNodePort))
	}
	return svc, notes
}
