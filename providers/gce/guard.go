package gce

import (
	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// The replacement guard on GCE (providers/guard.go has the scheme). What re-creates the
// forwarding rule here, and with it possibly the address: the scheme (internal or external),
// an internal load balancer's subnet (a new address), the backend kind of an external one
// (cloud.google.com/l4-rbs) and a shared backend service (backend-share). The network tier,
// which GCE cannot change on an address at all, is refused on its own (keepNetworkTier). The
// Service's replacement key over those fields and cloudlb.io/replace-load-balancer is part of
// the model, so the spec hash covers it, and it is recorded in the forwarding rule label
// replaceKeyLabel. A forwarding rule without the label (upstream's, or an older cloudlb's) or
// with the Service's key is kept with its values of those fields (keepForGuard), and the rest
// of the Service is applied.

// replaceKeyLabel is providers.ReplaceKeyTag, already a valid GCE label key.
const replaceKeyLabel = providers.ReplaceKeyTag

// The replacement fields as the Service's author knows them.
var (
	fieldScheme = annotations.GCELoadBalancerType.Key
	fieldSubnet = annotations.GCESubnet.Key + " (or " + annotations.GCEInternalSubnet.Key + ")"
	fieldRBS    = annotations.GCEL4RBS.Key
	fieldShare  = annotations.GCEBackendShare.Key
)

// choices are the values of the replacement fields, of a model or of a forwarding rule.
type choices struct {
	internal, rbs, shared bool
	subnet                string // the subnetwork's partial URL; internal only
}

func (c choices) fields() []providers.ReplaceField {
	scheme, rbs, share := "External", "", "false"
	if c.internal {
		scheme = "Internal"
	}
	if c.rbs {
		rbs = "enabled"
	}
	if c.shared {
		share = "true"
	}
	return []providers.ReplaceField{{Name: fieldScheme, Value: scheme}, {Name: fieldSubnet, Value: lastSegment(c.subnet)},
		{Name: fieldRBS, Value: rbs}, {Name: fieldShare, Value: share}}
}

func modelChoices(m *Model) choices {
	c := choices{internal: m.Scheme == SchemeInternal, rbs: m.Scheme == SchemeExternal && m.Backend == BackendService}
	if c.internal {
		c.subnet = m.Address.Subnetwork
		c.shared = m.BackendService != nil && m.BackendService.Shared
	}
	return c
}

func ruleChoices(r *ObservedRule, lb string) choices {
	c := choices{internal: r.Rule.Scheme == SchemeInternal, rbs: r.Rule.Scheme != SchemeInternal && r.Rule.BackendService != ""}
	if c.internal {
		c.subnet = r.Rule.Subnetwork
		c.shared = r.Rule.BackendService != "" && r.Rule.BackendService != lb
	}
	return c
}

// replaceKey is the Service's replacement key for model m.
func replaceKey(token string, m *Model) string {
	return providers.ReplaceKey(token, modelChoices(m).fields()...)
}

// guardChanges lists what differs between the forwarding rule and the model in the
// replacement fields.
func guardChanges(m *Model, r *ObservedRule) []providers.FieldChange {
	have, want := ruleChoices(r, m.Name).fields(), modelChoices(m).fields()
	if have[0].Value != want[0].Value {
		// The scheme decides which other fields apply: only it is the change.
		have, want = have[:1], want[:1]
	}
	var out []providers.FieldChange
	for i := range have {
		if have[i].Value != want[i].Value {
			out = append(out, providers.FieldChange{Field: have[i].Name, Have: have[i].Value, Want: want[i].Value})
		}
	}
	return out
}

// keepForGuard returns the model to apply and the refused changes: m itself when the rule
// needs no replacement or the guard allows it, else m built again with the rule's values of
// the replacement fields (and m's replacement key and spec hash, so the key is recorded and
// the next reconcile of the unchanged Service is cheap).
func keepForGuard(m *Model, r *ObservedRule) (*Model, []providers.FieldChange, error) {
	if r == nil || m.input == nil {
		return m, nil, nil
	}
	changes := guardChanges(m, r)
	if len(changes) == 0 || providers.ReplaceAllowed(r.Labels[replaceKeyLabel], m.ReplaceKey) {
		return m, nil, nil
	}
	have := ruleChoices(r, m.Name)
	in := *m.input
	g := *in.GCE
	g.Internal, in.RBS = have.internal, have.rbs
	g.RBS = have.rbs
	g.Backend.Shared = have.shared
	g.Frontend.Subnet = ""
	if have.internal && have.subnet != in.Settings.Subnetwork {
		g.Frontend.Subnet = lastSegment(have.subnet)
	}
	if have.internal {
		g.Frontend.NetworkTier = "PREMIUM"
	} else if r.Rule.NetworkTier != "" {
		g.Frontend.NetworkTier = r.Rule.NetworkTier
	}
	in.GCE = &g
	kept, err := Build(in)
	if err != nil {
		return nil, nil, err
	}
	kept.ReplaceKey, kept.specHash = m.ReplaceKey, m.SpecHash()
	return kept, changes, nil
}

// refusedError is the ReplacementRefused of a kept load balancer.
func refusedError(m *Model, changes []providers.FieldChange, ip string) error {
	if len(changes) == 0 {
		return nil
	}
	return &providers.ReplacementRefused{Service: m.Service, LoadBalancer: "forwarding rule " + m.Name, Changes: changes, Status: status(ip)}
}
