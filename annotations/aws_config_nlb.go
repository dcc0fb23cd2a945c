package annotations

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// The NLB-only part of the AWS config: subnet mappings, load balancer and target group
// attributes.

// awsNLB fills the NLB-only fields and checks the subnet mappings.
func (p *parser) awsNLB(c *AWSConfig) {
	c.NLBTargetType = getOr[string](p, AWSNLBTargetType)
	c.IPAddressType = getOr[string](p, AWSIPAddressType)
	c.ALPNPolicy = getOr[string](p, AWSALPNPolicy)
	c.EnableTCPUDPListener = getOr[bool](p, AWSEnableTCPUDPListener)
	c.DisableNLBSecurityGroups = getOr[bool](p, AWSDisableNLBSecurityGroups)
	c.InboundSGRulesOnPrivateLinkTraffic = getOr[string](p, AWSInboundSGRulesOnPrivateLink) == "on"
	c.SecurityGroupPrefixLists = getOr[[]string](p, AWSSecurityGroupPrefixLists)
	for _, s := range getOr[[]string](p, AWSProxyProtocolPerTargetGroup) {
		n, _ := strconv.Atoi(s)
		if !p.hasServicePort(int32(n)) {
			p.fieldWarn(AWSProxyProtocolPerTargetGroup, p.servicePortsDoc(), "no Service port %d", n)
		}
		c.ProxyProtocolPerTargetGroup = append(c.ProxyProtocolPerTargetGroup, int32(n))
	}
	if c.ProxyProtocol && len(c.ProxyProtocolPerTargetGroup) > 0 {
		p.fieldWarn(AWSProxyProtocolPerTargetGroup, "", "redundant: %s=* already enables PROXY protocol on every target group", AWSProxyProtocol.Key)
	}
	p.awsAttributes(c)
	p.awsTargetGroupAttributes(c)

	c.EIPAllocations = getOr[[]string](p, AWSEIPAllocations)
	for _, s := range getOr[[]string](p, AWSPrivateIPv4Addresses) {
		c.PrivateIPv4Addresses = append(c.PrivateIPv4Addresses, netip.MustParseAddr(s))
	}
	for _, s := range getOr[[]string](p, AWSIPv6Addresses) {
		c.IPv6Addresses = append(c.IPv6Addresses, netip.MustParseAddr(s))
	}
	c.EnablePrefixForIPv6SourceNAT = getOr[string](p, AWSEnablePrefixForIPv6SourceNAT) == "on"
	c.SourceNATIPv6Prefixes = getOr[[]string](p, AWSSourceNATIPv6Prefixes)
	if c.Internal && len(c.EIPAllocations) > 0 {
		p.fieldErr(AWSEIPAllocations, "", "Elastic IPs need an internet-facing NLB, but the scheme is internal; use %s", AWSPrivateIPv4Addresses.Key)
	}
	if !c.Internal && len(c.PrivateIPv4Addresses) > 0 {
		p.fieldErr(AWSPrivateIPv4Addresses, "", "private IPv4 addresses need an internal NLB, but the scheme is internet-facing; set %s: internal or use %s", AWSScheme.Key, AWSEIPAllocations.Key)
	}
	if c.IPAddressType != "dualstack" {
		for _, d := range []*Descriptor{AWSIPv6Addresses, AWSEnablePrefixForIPv6SourceNAT, AWSSourceNATIPv6Prefixes} {
			if _, ok := p.values[d]; ok && !(d == AWSEnablePrefixForIPv6SourceNAT && !c.EnablePrefixForIPv6SourceNAT) {
				p.fieldErr(d, "", "needs %s: dualstack", AWSIPAddressType.Key)
			}
		}
	}
	if len(c.SourceNATIPv6Prefixes) > 0 && !c.EnablePrefixForIPv6SourceNAT {
		p.fieldErr(AWSSourceNATIPv6Prefixes, "", "needs %s: on", AWSEnablePrefixForIPv6SourceNAT.Key)
	}
	// Every per-subnet list needs one item per subnet: against the subnets key when it is set,
	// otherwise against the first list given.
	ref, refN := (*Descriptor)(nil), 0
	if _, ok := p.values[AWSSubnets]; ok {
		ref, refN = AWSSubnets, len(c.Subnets)
	}
	for _, m := range []struct {
		d *Descriptor
		n int
	}{{AWSEIPAllocations, len(c.EIPAllocations)}, {AWSPrivateIPv4Addresses, len(c.PrivateIPv4Addresses)}, {AWSIPv6Addresses, len(c.IPv6Addresses)}, {AWSSourceNATIPv6Prefixes, len(c.SourceNATIPv6Prefixes)}} {
		if _, ok := p.values[m.d]; !ok {
			continue
		}
		if ref == nil {
			ref, refN = m.d, m.n
			continue
		}
		if m.n != refN {
			p.fieldErr(m.d, fmt.Sprintf("%d items, one per subnet", refN), "has %d items but %s has %d; give one per subnet, in the same order", m.n, ref.Key, refN)
		}
	}
}

// awsAttributes folds the NLB attributes map into the typed fields; a key given both ways
// must agree.
func (p *parser) awsAttributes(c *AWSConfig) {
	attrs := maps.Clone(getOr[map[string]string](p, AWSAttributes))
	for _, f := range []struct {
		attr string
		d    *Descriptor
		set  func(string)
	}{
		{awsLBAccessLogEnabled, AWSAccessLogEnabled, func(v string) { c.AccessLog.Enabled = v == "true" }},
		{awsLBAccessLogBucket, AWSAccessLogBucket, func(v string) { c.AccessLog.Bucket = v }},
		{awsLBAccessLogPrefix, AWSAccessLogPrefix, func(v string) { c.AccessLog.Prefix = v }},
		{awsLBCrossZone, AWSCrossZone, func(v string) { c.CrossZone = v == "true" }},
	} {
		v, ok := attrs[f.attr]
		if !ok {
			continue
		}
		delete(attrs, f.attr)
		if f.d.Type == Bool {
			v = strings.ToLower(v)
		}
		if cur, set := p.values[f.d]; set {
			if fmt.Sprint(cur) != v {
				p.fieldErr(AWSAttributes, "", "%s=%s conflicts with %s=%v; set it in one place", f.attr, v, f.d.Key, cur)
			}
			continue
		}
		f.set(v)
	}
	c.LBAttributes = awsCanonAttrs(attrs)
}

func (p *parser) awsTargetGroupAttributes(c *AWSConfig) {
	c.TargetGroupAttributes = awsCanonAttrs(getOr[map[string]string](p, AWSTargetGroupAttributes))
	anyUDP := false
	for _, sp := range p.svc.Spec.Ports {
		anyUDP = anyUDP || sp.Protocol == v1.ProtocolUDP
	}
	if _, ok := p.values[AWSTargetGroupAttributes]; ok {
		p.awsCheckTG(p.keyOf(AWSTargetGroupAttributes), c.TargetGroupAttributes, c.TargetGroupAttributes, anyUDP, c.ProxyProtocol)
	}
	per := perPort[map[string]string](p, AWSTargetGroupAttributesPort)
	for _, port := range slices.Sorted(maps.Keys(per)) {
		own := awsCanonAttrs(per[port])
		merged := maps.Clone(c.TargetGroupAttributes)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, own)
		if c.TargetGroupAttributesPerPort == nil {
			c.TargetGroupAttributesPerPort = map[int32]map[string]string{}
		}
		c.TargetGroupAttributesPerPort[port] = merged
		udp := false
		for _, sp := range p.svc.Spec.Ports {
			udp = udp || sp.Port == port && sp.Protocol == v1.ProtocolUDP
		}
		key := strings.Replace(AWSTargetGroupAttributesPort.Key, "{port}", strconv.Itoa(int(port)), 1)
		p.awsCheckTG(key, own, merged, udp, c.ProxyProtocol)
	}
}

// awsCheckTG checks an effective attribute set; problems are reported on key only when the
// attributes at fault come from own (the map written under key).
func (p *parser) awsCheckTG(key string, own, eff map[string]string, udp, proxyAll bool) {
	raw := p.svc.Annotations[key]
	_, ownTerm := own[awsTGUnhealthyTerminate]
	if _, ok := own[awsTGPreserveClientIP]; ok && udp && eff[awsTGPreserveClientIP] == "false" {
		p.errorf(key, raw, "", "%s=false is not allowed with UDP ports: AWS always preserves client IPs for UDP", awsTGPreserveClientIP)
	}
	if _, ok := eff[awsTGUnhealthyDraining]; ok && eff[awsTGUnhealthyTerminate] != "false" {
		if _, ownDrain := own[awsTGUnhealthyDraining]; ownDrain || ownTerm {
			p.errorf(key, raw, "", "%s needs %s=false", awsTGUnhealthyDraining, awsTGUnhealthyTerminate)
		}
	}
	if _, ok := own[awsTGProxyProtocolV2]; ok && proxyAll && eff[awsTGProxyProtocolV2] == "false" {
		p.errorf(key, raw, "", "%s=false conflicts with %s=*", awsTGProxyProtocolV2, AWSProxyProtocol.Key)
	}
	if _, ok := own[awsTGStickinessEnabled]; ok && eff[awsTGStickinessEnabled] == "true" && eff[awsTGStickinessType] == "" {
		p.warnf(key, raw, "", "stickiness.type not set; AWS uses source_ip on an NLB")
	}
}
