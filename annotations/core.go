package annotations

import (
	"net/netip"

	v1 "k8s.io/api/core/v1"
)

// CoreSourceRanges is the cloud-neutral source-range key; spec.loadBalancerSourceRanges wins.
var CoreSourceRanges = &Descriptor{
	Key:       "service.beta.kubernetes.io/load-balancer-source-ranges",
	Cloud:     Core,
	Type:      CIDRList,
	Defaults:  []Default{{Always, "0.0.0.0/0"}},
	Doc:       "Client CIDRs allowed to reach the load balancer; spec.loadBalancerSourceRanges takes precedence. ::/0 is added by default for IPv6 families.",
	AppliesTo: "all",
	Change:    InPlace,
}

// CoreReplaceLoadBalancer is how a Service's author asks cloudlb to replace (delete and re-create,
// with a new address) a load balancer whose change cannot be made in place. cloudlb never does so
// on its own for a load balancer it adopted or whose replacement it has not been asked for: the
// difference is a Warning Event and the load balancer is kept. Any new value of this annotation
// (a date, a ticket number) after cloudlb applied the Service is the request.
var CoreReplaceLoadBalancer = &Descriptor{
	Key:   "cloudlb.io/replace-load-balancer",
	Cloud: Core,
	Type:  String,
	Doc: "Asks for a replacement the replacement guard refused: when a change needs the load balancer deleted and re-created (a new address) " +
		"and cloudlb did not itself apply the value it is changing from (an adopted load balancer), cloudlb keeps the load balancer and reports a " +
		"ReplacementRefused Warning Event naming the fields. Setting this annotation to any new value (a date, a ticket number) asks for the replacement.",
	AppliesTo: "all",
	Change:    InPlace,
}

func coreKeys() []*Descriptor { return []*Descriptor{CoreSourceRanges, CoreReplaceLoadBalancer} }

// CoreConfig holds the cloud-neutral settings.
type CoreConfig struct {
	// SourceRanges are the client CIDRs allowed in; never empty.
	SourceRanges []netip.Prefix
	// SourceRangesFrom says where they came from: "spec", "annotation" or "default".
	SourceRangesFrom string
	// ReplaceToken is the value of cloudlb.io/replace-load-balancer ("" when unset); it is part of
	// the replacement key (providers.ReplaceKey), so a new value asks for a refused replacement.
	ReplaceToken string
}

func (p *parser) core() CoreConfig {
	c := p.coreSourceRanges()
	c.ReplaceToken, _ = get[string](p, CoreReplaceLoadBalancer)
	return c
}

func (p *parser) coreSourceRanges() CoreConfig {
	var c CoreConfig
	if len(p.svc.Spec.LoadBalancerSourceRanges) > 0 {
		if p.isSet(CoreSourceRanges) {
			p.fieldWarn(CoreSourceRanges, "", "spec.loadBalancerSourceRanges is also set and takes precedence; annotation ignored")
		}
		for _, s := range p.svc.Spec.LoadBalancerSourceRanges {
			if pr, err := netip.ParsePrefix(s); err == nil {
				c.SourceRanges = append(c.SourceRanges, pr.Masked())
			}
		}
		c.SourceRangesFrom = "spec"
		if len(c.SourceRanges) > 0 {
			return c
		}
	}
	if v, ok := get[[]netip.Prefix](p, CoreSourceRanges); ok && len(v) > 0 {
		c.SourceRanges, c.SourceRangesFrom = v, "annotation"
		return c
	}
	c.SourceRanges, c.SourceRangesFrom = getOr[[]netip.Prefix](p, CoreSourceRanges), "default"
	for _, f := range p.svc.Spec.IPFamilies {
		if f == v1.IPv6Protocol {
			c.SourceRanges = append(c.SourceRanges, netip.MustParsePrefix("::/0"))
		}
	}
	return c
}
