package aws

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// nlbMustReplace reports whether o differs from m in something AWS fixes at creation: the
// scheme, the pinned addresses, IPv6 source NAT, or having security groups at all.
func nlbMustReplace(m *NLBModel, o *nlbObserved) bool {
	return o.internal != m.Internal || !pinsMatch(o.mappings, m.subnetMappings()) ||
		o.natPrefixes != m.PrefixForIPv6SourceNAT || (len(o.groups) > 0) != m.hasGroups()
}

// createNLB creates the NLB with everything fixed at creation, and returns what it is now.
func (c *Cloud) createNLB(ctx context.Context, m *NLBModel, groups []string) (*nlbObserved, error) {
	in := &elbv2.CreateLoadBalancerInput{Name: aws.String(m.Name), Type: v2types.LoadBalancerTypeEnumNetwork, Tags: v2Tags(m.Tags), SecurityGroups: groups}
	pins := m.subnetMappings()
	if pins != nil {
		for _, sn := range m.Subnets {
			p := pins[sn]
			sm := v2types.SubnetMapping{SubnetId: aws.String(sn)}
			for _, f := range []struct {
				dst **string
				v   string
			}{{&sm.AllocationId, p.Allocation}, {&sm.PrivateIPv4Address, p.PrivateIPv4}, {&sm.IPv6Address, p.IPv6}, {&sm.SourceNatIpv6Prefix, p.NATPrefix}} {
				if f.v != "" {
					*f.dst = aws.String(f.v)
				}
			}
			in.SubnetMappings = append(in.SubnetMappings, sm)
		}
	} else {
		in.Subnets = m.Subnets
	}
	if m.Internal {
		in.Scheme = v2types.LoadBalancerSchemeEnumInternal
	}
	if m.IPAddressType != "" {
		in.IpAddressType = v2types.IpAddressType(m.IPAddressType)
	}
	if m.PrefixForIPv6SourceNAT {
		in.EnablePrefixForIpv6SourceNat = v2types.EnablePrefixForIpv6SourceNatEnumOn
	}
	out, err := call(ctx, c.limits, "elbv2.CreateLoadBalancer", func() (*elbv2.CreateLoadBalancerOutput, error) { return c.elbv2.CreateLoadBalancer(ctx, in) })
	if err != nil {
		return nil, userGroupError(m, err)
	}
	lb := out.LoadBalancers[0]
	o := &nlbObserved{name: m.Name, arn: aws.ToString(lb.LoadBalancerArn), dns: aws.ToString(lb.DNSName), internal: m.Internal,
		subnets: slices.Clone(m.Subnets), mappings: pins, natPrefixes: m.PrefixForIPv6SourceNAT,
		ipType: cmp.Or(string(lb.IpAddressType), m.IPAddressType), groups: slices.Clone(groups),
		enforce: aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic), tags: map[string]string{}}
	if len(groups) > 0 && o.enforce == "" {
		o.enforce = enforceOn // AWS's default
	}
	return o, nil
}

// userGroupError makes AWS's refusal of a group the Service named a user error.
func userGroupError(m *NLBModel, err error) error {
	if errorCode(err) == "InvalidSecurityGroup" && len(m.SecurityGroups) > 0 {
		return providers.NewUserError(m.Service, "%s lists a group AWS refuses (not found, or not in the cluster's VPC): %v", annotations.AWSSecurityGroups.Key, err)
	}
	return err
}

// tagNLB writes the model's tags and the bookkeeping ones, the spec hash last, and removes
// the additional tags we set before that the Service no longer lists; it returns the NLB's
// tags afterwards.
func (c *Cloud) tagNLB(ctx context.Context, m *NLBModel, o *nlbObserved, nodeGroups string) (map[string]string, error) {
	tags := map[string]string{tagSpecHash: m.Hash(), tagNodeGroups: nodeGroups}
	var keys []string
	for k, v := range m.Tags {
		if o.tags[k] != v {
			tags[k] = v
		}
		if k != tagServiceName && !strings.HasPrefix(k, tagClusterPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if v := strings.Join(keys, ","); len(v) <= 256 {
		tags[tagUserKeys] = v
	}
	var remove []string
	for k := range strings.SplitSeq(o.tags[tagUserKeys], ",") {
		if _, want := m.Tags[k]; k != "" && !want && !strings.HasPrefix(k, "cloudlb.io/") {
			if _, present := o.tags[k]; present {
				remove = append(remove, k)
			}
		}
	}
	slices.Sort(remove)
	if len(remove) > 0 {
		if _, err := call(ctx, c.limits, "elbv2.RemoveTags", func() (*elbv2.RemoveTagsOutput, error) {
			return c.elbv2.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{o.arn}, TagKeys: remove})
		}); err != nil {
			return nil, err
		}
	}
	if _, err := call(ctx, c.limits, "elbv2.AddTags", func() (*elbv2.AddTagsOutput, error) {
		return c.elbv2.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{o.arn}, Tags: v2Tags(tags)})
	}); err != nil {
		return nil, err
	}
	final := maps.Clone(o.tags)
	for _, k := range remove {
		delete(final, k)
	}
	maps.Copy(final, tags)
	return final, nil
}

// alpnOf is a listener's ALPN policy, None when AWS reports none.
func alpnOf(l v2types.Listener) string {
	if len(l.AlpnPolicy) == 0 {
		return alpnNone
	}
	return l.AlpnPolicy[0]
}

// createALPN is the ALPN policy of a new listener: only one chosen, on TLS.
func createALPN(l NLBListener) []string {
	if l.Protocol != "TLS" || l.ALPNPolicy == "" {
		return nil
	}
	return []string{l.ALPNPolicy}
}

// deleteNLBOnly deletes the load balancer itself; see deleteNLB for unprotect.
func (c *Cloud) deleteNLBOnly(ctx context.Context, o *nlbObserved, unprotect bool) error {
	del := func() error {
		_, err := call(ctx, c.limits, "elbv2.DeleteLoadBalancer", func() (*elbv2.DeleteLoadBalancerOutput, error) {
			return c.elbv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(o.arn)})
		})
		return err
	}
	err := del()
	if errorCode(err) != "OperationNotPermitted" {
		return err
	}
	if !unprotect {
		return providers.NewUserError(o.tags[tagServiceName], "NLB %s has deletion protection, so it is neither deleted nor replaced: set %s=false in %s, or turn it off in AWS (%v)",
			o.name, attrDeletionProtection, annotations.AWSAttributes.Key, err)
	}
	if _, err := call(ctx, c.limits, "elbv2.ModifyLoadBalancerAttributes", func() (*elbv2.ModifyLoadBalancerAttributesOutput, error) {
		return c.elbv2.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(o.arn),
			Attributes: []v2types.LoadBalancerAttribute{{Key: aws.String(attrDeletionProtection), Value: aws.String("false")}}})
	}); err != nil {
		return err
	}
	return del()
}

// pinsMatch reports whether the observed mappings hold every wanted pin. An unpinned field
// matches whatever AWS chose (it reports addresses it assigned, e.g. a dualstack NLB's IPv6
// addresses), and a prefix AWS assigned matches auto_assigned.
func pinsMatch(have, want map[string]subnetPin) bool {
	for sn, w := range want {
		h := have[sn]
		for _, f := range [][2]string{{w.Allocation, h.Allocation}, {w.PrivateIPv4, h.PrivateIPv4}, {w.IPv6, h.IPv6}} {
			if f[0] != "" && f[0] != f[1] {
				return false
			}
		}
		if w.NATPrefix != "" && w.NATPrefix != h.NATPrefix && !(w.NATPrefix == autoAssigned && h.NATPrefix != "") {
			return false
		}
	}
	return true
}
