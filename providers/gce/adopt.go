package gce

import "maps"

// Adoption: taking over in place what cloud-provider-gcp (upstream) made. Which objects are
// upstream's is owner.go's; this file holds what cloudlb does differently for them:
//
//   - the forwarding rule and the address get the label ownerLabel (the rule in the spec
//     label's setLabels call, the address in one setLabels call), since their descriptions,
//     which name no cluster, cannot change;
//   - an address upstream released after creating the rule (its ensureStaticIP and the
//     internal address manager hold the reservation only during the update) is reserved again
//     with the rule's IP (promoted), so the rule and its IP stay;
//   - a backend service on a global health check (upstream's internal load balancers) keeps
//     it: cloudlb makes regional ones, but switching would make upstream switch back after a
//     roll-back, and would leave one of the two unused;
//   - firewalls, health checks, target pools, instance groups and backend services are
//     changed in place only where they differ from the Service; their descriptions stay
//     upstream's until cloudlb patches them for another reason.

// labelOwner reports whether labels allow the object to be this cluster's: a forwarding rule
// or address labelled by another cluster's cloudlb is not ours, whatever its description.
func labelOwner(labels map[string]string, m *Model) bool {
	v, ok := labels[ownerLabel]
	return !ok || v == m.ClusterID
}

// backendHealthCheckKind is the kind of health check a backend service points at.
func backendHealthCheckKind(b BackendSvc) string {
	if b.HealthCheckGlobal {
		return HealthCheckGlobal
	}
	return HealthCheckRegional
}

// adapt returns m adapted to the objects cloudlb took over (see the top of the file): the
// backend service keeps the global health check of the model's name it already uses. It is
// pure; the adapted model keeps m's spec hash.
func adapt(m *Model, o *Observed) *Model {
	b := m.BackendService
	if b == nil || m.HealthCheck.Kind == HealthCheckGlobal {
		return m
	}
	ob, ok := o.BackendServices[b.Name]
	if !ok || !ob.Owned || !ob.HealthCheckGlobal || ob.HealthCheck != m.HealthCheck.Name {
		return m
	}
	kept := *m
	kept.specHash = m.SpecHash()
	bs := *b
	bs.HealthCheckGlobal = true
	kept.BackendService = &bs
	kept.HealthCheck.Kind = HealthCheckGlobal
	return &kept
}

// ruleLabels are the labels the first forwarding rule carries after Apply: what it has, the
// spec hash, the owner and the replacement key.
func ruleLabels(have map[string]string, m *Model) map[string]string {
	labels := maps.Clone(have)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[specLabel] = m.SpecHash()
	labels[ownerLabel] = m.ClusterID
	if m.ReplaceKey != "" {
		labels[replaceKeyLabel] = m.ReplaceKey
	}
	return labels
}

// needsAddressLabel reports whether the Service's own address lacks the owner label (an
// address cloudlb took over from upstream).
func needsAddressLabel(m *Model, o *Observed) bool {
	a := o.Address
	return a != nil && a.Owned && a.Labels[ownerLabel] != m.ClusterID
}
