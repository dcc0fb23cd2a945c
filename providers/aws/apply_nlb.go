package aws

import (
	"context"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// userGroupError makes AWS's refusal of a group the Service named a user error.
func userGroupError(m *NLBModel, err error) error {
	if errorCode(err) == "InvalidSecurityGroup" && len(m.SecurityGroups) > 0 {
		return providers.NewUserError(m.Service, "%s lists a group AWS refuses (not found, or not in the cluster's VPC): %v", annotations.AWSSecurityGroups.Key, err)
	}
	return err
}

// deleteNLBOnly deletes the NLB. With unprotect, deletion protection (on when AWS refuses
// with OperationNotPermitted) is turned off first; without, that refusal is a user error. Its
// node rules are revoked before (by writes of their own): only the NLB's name, in their
// descriptions, and its tag of node groups lead to them.
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

// v2Tags is an Elastic Load Balancing v2 tag list, sorted by key.
func v2Tags(m map[string]string) []v2types.Tag {
	out := make([]v2types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, v2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// The writes of an NLB plan, each one Elastic Load Balancing v2 call.

// createNLB creates the NLB with everything fixed at creation.
type createNLB struct {
	m      *NLBModel
	groups []ref
}

func (w createNLB) audit() providers.Write {
	return providers.Write{Operation: "elbv2.CreateLoadBalancer", Object: w.m.Name, Change: providers.ChangeCreated}
}

func (w createNLB) apply(ctx context.Context, r *run) error {
	m := w.m
	groups, err := r.resolveAll(w.groups)
	if err != nil {
		return err
	}
	in := &elbv2.CreateLoadBalancerInput{Name: aws.String(m.Name), Type: v2types.LoadBalancerTypeEnumNetwork, Tags: v2Tags(m.Tags), SecurityGroups: groups}
	if pins := m.subnetMappings(); pins != nil {
		for _, sn := range m.Subnets {
			in.SubnetMappings = append(in.SubnetMappings, subnetMapping(sn, pins[sn]))
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
	out, err := call(ctx, r.c.limits, "elbv2.CreateLoadBalancer", func() (*elbv2.CreateLoadBalancerOutput, error) { return r.c.elbv2.CreateLoadBalancer(ctx, in) })
	if err != nil {
		return userGroupError(m, err)
	}
	r.created[m.Name], r.dns = aws.ToString(out.LoadBalancers[0].LoadBalancerArn), aws.ToString(out.LoadBalancers[0].DNSName)
	return nil
}

// subnetMapping is the create-time mapping of subnet sn with what p pins.
func subnetMapping(sn string, p subnetPin) v2types.SubnetMapping {
	sm := v2types.SubnetMapping{SubnetId: aws.String(sn)}
	for _, f := range []struct {
		dst **string
		v   string
	}{{&sm.AllocationId, p.Allocation}, {&sm.PrivateIPv4Address, p.PrivateIPv4}, {&sm.IPv6Address, p.IPv6}, {&sm.SourceNatIpv6Prefix, p.NATPrefix}} {
		if f.v != "" {
			*f.dst = aws.String(f.v)
		}
	}
	return sm
}

// deleteNLB deletes an NLB; see deleteNLBOnly for unprotect.
type deleteNLB struct {
	lb        *nlbObserved
	unprotect bool
}

func (w deleteNLB) audit() providers.Write {
	return providers.Write{Operation: "elbv2.DeleteLoadBalancer", Object: w.lb.arn, Change: providers.ChangeDeleted}
}

func (w deleteNLB) apply(ctx context.Context, r *run) error {
	return r.c.deleteNLBOnly(ctx, w.lb, w.unprotect)
}

// setNLBSecurityGroups gives an NLB that has groups the wanted ones and PrivateLink setting.
type setNLBSecurityGroups struct {
	m       *NLBModel
	lb      ref
	groups  []ref
	enforce string
}

func (w setNLBSecurityGroups) audit() providers.Write {
	return providers.Write{Operation: "elbv2.SetSecurityGroups", Object: w.lb.String()}
}

func (w setNLBSecurityGroups) apply(ctx context.Context, r *run) error {
	lb, err := r.resolve(w.lb)
	if err != nil {
		return err
	}
	groups, err := r.resolveAll(w.groups)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.SetSecurityGroups", func() (*elbv2.SetSecurityGroupsOutput, error) {
		return r.c.elbv2.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(lb), SecurityGroups: groups,
			EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: v2types.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum(w.enforce)})
	})
	return userGroupError(w.m, err)
}

// setIPAddressType changes the NLB's IP address type.
type setIPAddressType struct {
	lb     ref
	ipType string
}

func (w setIPAddressType) audit() providers.Write {
	return providers.Write{Operation: "elbv2.SetIpAddressType", Object: w.lb.String()}
}

func (w setIPAddressType) apply(ctx context.Context, r *run) error {
	lb, err := r.resolve(w.lb)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.SetIpAddressType", func() (*elbv2.SetIpAddressTypeOutput, error) {
		return r.c.elbv2.SetIpAddressType(ctx, &elbv2.SetIpAddressTypeInput{LoadBalancerArn: aws.String(lb), IpAddressType: v2types.IpAddressType(w.ipType)})
	})
	return err
}

// setSubnets changes the NLB's subnets.
type setSubnets struct {
	lb      ref
	subnets []string
}

func (w setSubnets) audit() providers.Write {
	return providers.Write{Operation: "elbv2.SetSubnets", Object: w.lb.String()}
}

func (w setSubnets) apply(ctx context.Context, r *run) error {
	lb, err := r.resolve(w.lb)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.SetSubnets", func() (*elbv2.SetSubnetsOutput, error) {
		return r.c.elbv2.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(lb), Subnets: w.subnets})
	})
	return err
}

// modifyNLBAttributes sets NLB attributes.
type modifyNLBAttributes struct {
	lb         ref
	attributes []keyValue
}

func (w modifyNLBAttributes) audit() providers.Write {
	return providers.Write{Operation: "elbv2.ModifyLoadBalancerAttributes", Object: w.lb.String()}
}

func (w modifyNLBAttributes) apply(ctx context.Context, r *run) error {
	lb, err := r.resolve(w.lb)
	if err != nil {
		return err
	}
	var attrs []v2types.LoadBalancerAttribute
	for _, a := range w.attributes {
		attrs = append(attrs, v2types.LoadBalancerAttribute{Key: aws.String(a.key), Value: aws.String(a.value)})
	}
	_, err = call(ctx, r.c.limits, "elbv2.ModifyLoadBalancerAttributes", func() (*elbv2.ModifyLoadBalancerAttributesOutput, error) {
		return r.c.elbv2.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb), Attributes: attrs})
	})
	return err
}

// removeNLBTags and addNLBTags write the NLB's tags.
type removeNLBTags struct {
	lb   ref
	keys []string
}

func (w removeNLBTags) audit() providers.Write {
	return providers.Write{Operation: "elbv2.RemoveTags", Object: w.lb.String()}
}

func (w removeNLBTags) apply(ctx context.Context, r *run) error {
	lb, err := r.resolve(w.lb)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.RemoveTags", func() (*elbv2.RemoveTagsOutput, error) {
		return r.c.elbv2.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{lb}, TagKeys: w.keys})
	})
	return err
}

type addNLBTags struct {
	lb   ref
	tags map[string]string
}

func (w addNLBTags) audit() providers.Write {
	return providers.Write{Operation: "elbv2.AddTags", Object: w.lb.String()}
}

func (w addNLBTags) apply(ctx context.Context, r *run) error {
	lb, err := r.resolve(w.lb)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.AddTags", func() (*elbv2.AddTagsOutput, error) {
		return r.c.elbv2.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{lb}, Tags: v2Tags(w.tags)})
	})
	return err
}
