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

func coreKeys() []*Descriptor { return []*Descriptor{CoreSourceRanges} }

// CoreConfig holds the cloud-neutral settings.
type CoreConfig struct {
	// SourceRanges are the client CIDRs allowed in; never empty.
	SourceRanges []netip.Prefix
	// SourceRangesFrom says where they came from: "spec", "annotation" or "default".
	SourceRangesFrom string
}

func (p *parser) core() CoreConfig {
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
