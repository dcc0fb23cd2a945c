package aws

import (
	"cmp"
	"context"
	"fmt"
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

// deleteNLBOnly deletes the load balancer itself; see deleteNLBWithRules for unprotect.
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

func setHealthCheck(hc NLBHealthCheck, proto *v2types.ProtocolEnum, port, path **string, interval, timeout, healthy, unhealthy **int32, matcher **v2types.Matcher) {
	*proto = v2types.ProtocolEnum(hc.Protocol)
	*port = aws.String(hc.Port)
	if hc.Path != "" {
		*path = aws.String(hc.Path)
	}
	if isHTTP(hc.Protocol) {
		*matcher = &v2types.Matcher{HttpCode: aws.String(cmp.Or(hc.SuccessCodes, defaultSuccessCodes))}
	}
	*interval, *timeout = aws.Int32(hc.Interval), aws.Int32(hc.Timeout)
	*healthy, *unhealthy = aws.Int32(hc.HealthyThreshold), aws.Int32(hc.UnhealthyThreshold)
}

func v2Tags(m map[string]string) []v2types.Tag {
	out := make([]v2types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, v2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// errTargetGroupInUse is the transient answer of DeleteTargetGroup right after the load
// balancer or listener using the group went away: the delete is retried, never dropped.
var errTargetGroupInUse = fmt.Errorf("target group still in use, retrying")

// deleteTargetGroups deletes the given target groups; one already gone counts as deleted.
func (c *Cloud) deleteTargetGroups(ctx context.Context, arns []string) error {
	for _, arn := range arns {
		_, err := call(ctx, c.limits, "elbv2.DeleteTargetGroup", func() (*elbv2.DeleteTargetGroupOutput, error) {
			return c.elbv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
		})
		switch errorCode(err) {
		case "", "TargetGroupNotFound":
		case "ResourceInUse":
			return fmt.Errorf("deleting target group %s: %w: %w", arn, errTargetGroupInUse, err)
		default:
			return fmt.Errorf("deleting target group %s: %w", arn, err)
		}
	}
	return nil
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

// createTargetGroup creates a target group with its health check and ownership tags.
type createTargetGroup struct {
	tg               TargetGroup
	cluster, service string
}

func (w createTargetGroup) audit() providers.Write {
	return providers.Write{Operation: "elbv2.CreateTargetGroup", Object: w.tg.Name, Change: providers.ChangeCreated}
}

func (w createTargetGroup) apply(ctx context.Context, r *run) error {
	tg := w.tg
	in := &elbv2.CreateTargetGroupInput{
		Name: aws.String(tg.Name), Protocol: v2types.ProtocolEnum(tg.Protocol), Port: aws.Int32(tg.Port), VpcId: aws.String(r.vpc),
		TargetType: v2types.TargetTypeEnumInstance, Tags: v2Tags(map[string]string{clusterTag(w.cluster): tagOwned, tagServiceName: w.service}),
	}
	setHealthCheck(tg.HealthCheck, &in.HealthCheckProtocol, &in.HealthCheckPort, &in.HealthCheckPath, &in.HealthCheckIntervalSeconds,
		&in.HealthCheckTimeoutSeconds, &in.HealthyThresholdCount, &in.UnhealthyThresholdCount, &in.Matcher)
	out, err := call(ctx, r.c.limits, "elbv2.CreateTargetGroup", func() (*elbv2.CreateTargetGroupOutput, error) { return r.c.elbv2.CreateTargetGroup(ctx, in) })
	if err != nil {
		return err
	}
	r.created[tg.Name] = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	return nil
}

// modifyTargetGroup repairs a target group's health check.
type modifyTargetGroup struct {
	tg          ref
	healthCheck NLBHealthCheck
}

func (w modifyTargetGroup) audit() providers.Write {
	return providers.Write{Operation: "elbv2.ModifyTargetGroup", Object: w.tg.String()}
}

func (w modifyTargetGroup) apply(ctx context.Context, r *run) error {
	arn, err := r.resolve(w.tg)
	if err != nil {
		return err
	}
	in := &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(arn)}
	setHealthCheck(w.healthCheck, &in.HealthCheckProtocol, &in.HealthCheckPort, &in.HealthCheckPath, &in.HealthCheckIntervalSeconds,
		&in.HealthCheckTimeoutSeconds, &in.HealthyThresholdCount, &in.UnhealthyThresholdCount, &in.Matcher)
	_, err = call(ctx, r.c.limits, "elbv2.ModifyTargetGroup", func() (*elbv2.ModifyTargetGroupOutput, error) { return r.c.elbv2.ModifyTargetGroup(ctx, in) })
	return err
}

// modifyTargetGroupAttributes sets target group attributes.
type modifyTargetGroupAttributes struct {
	tg         ref
	attributes []keyValue
}

func (w modifyTargetGroupAttributes) audit() providers.Write {
	return providers.Write{Operation: "elbv2.ModifyTargetGroupAttributes", Object: w.tg.String()}
}

func (w modifyTargetGroupAttributes) apply(ctx context.Context, r *run) error {
	arn, err := r.resolve(w.tg)
	if err != nil {
		return err
	}
	var attrs []v2types.TargetGroupAttribute
	for _, a := range w.attributes {
		attrs = append(attrs, v2types.TargetGroupAttribute{Key: aws.String(a.key), Value: aws.String(a.value)})
	}
	_, err = call(ctx, r.c.limits, "elbv2.ModifyTargetGroupAttributes", func() (*elbv2.ModifyTargetGroupAttributesOutput, error) {
		return r.c.elbv2.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn), Attributes: attrs})
	})
	return err
}

// registerTargets and deregisterTargets add and remove instances of a target group.
type registerTargets struct {
	tg   ref
	port int32
	ids  []string
}

type deregisterTargets registerTargets

func (w registerTargets) audit() providers.Write {
	return providers.Write{Operation: "elbv2.RegisterTargets", Object: w.tg.String()}
}

func (w registerTargets) apply(ctx context.Context, r *run) error {
	arn, err := r.resolve(w.tg)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.RegisterTargets", func() (*elbv2.RegisterTargetsOutput, error) {
		return r.c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: targets(w.ids, w.port)})
	})
	return err
}

func (w deregisterTargets) audit() providers.Write {
	return providers.Write{Operation: "elbv2.DeregisterTargets", Object: w.tg.String()}
}

func (w deregisterTargets) apply(ctx context.Context, r *run) error {
	arn, err := r.resolve(w.tg)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.DeregisterTargets", func() (*elbv2.DeregisterTargetsOutput, error) {
		return r.c.elbv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: targets(w.ids, w.port)})
	})
	return err
}

// targets are instance targets on port.
func targets(ids []string, port int32) []v2types.TargetDescription {
	out := make([]v2types.TargetDescription, len(ids))
	for i, id := range ids {
		out[i] = v2types.TargetDescription{Id: aws.String(id), Port: aws.Int32(port)}
	}
	return out
}

// createListener, modifyListener and deleteListener keep the NLB's listeners the model's.
type createListener struct {
	lb               ref
	listener         NLBListener
	tg               ref
	cluster, service string
}

func (w createListener) audit() providers.Write {
	return providers.Write{Operation: "elbv2.CreateListener", Object: w.lb.String()}
}

func (w createListener) apply(ctx context.Context, r *run) error {
	lb, err := r.resolve(w.lb)
	if err != nil {
		return err
	}
	l, action, certs, policy, err := listenerInput(r, w.listener, w.tg)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.CreateListener", func() (*elbv2.CreateListenerOutput, error) {
		return r.c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lb), Port: aws.Int32(l.Port),
			Protocol: v2types.ProtocolEnum(l.Protocol), DefaultActions: action, Certificates: certs, SslPolicy: policy, AlpnPolicy: createALPN(l),
			Tags: v2Tags(map[string]string{clusterTag(w.cluster): tagOwned, tagServiceName: w.service})})
	})
	return err
}

type modifyListener struct {
	arn      string
	listener NLBListener
	tg       ref
}

func (w modifyListener) audit() providers.Write {
	return providers.Write{Operation: "elbv2.ModifyListener", Object: w.arn}
}

func (w modifyListener) apply(ctx context.Context, r *run) error {
	l, action, certs, policy, err := listenerInput(r, w.listener, w.tg)
	if err != nil {
		return err
	}
	var alpn []string // sent on TLS listeners only
	if l.Protocol == "TLS" {
		alpn = []string{cmp.Or(l.ALPNPolicy, alpnNone)}
	}
	_, err = call(ctx, r.c.limits, "elbv2.ModifyListener", func() (*elbv2.ModifyListenerOutput, error) {
		return r.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(w.arn), Port: aws.Int32(l.Port),
			Protocol: v2types.ProtocolEnum(l.Protocol), DefaultActions: action, Certificates: certs, SslPolicy: policy, AlpnPolicy: alpn})
	})
	return err
}

// listenerInput is what creating and modifying a listener send: the forward action to the
// target group, the certificate and the TLS policy.
func listenerInput(r *run, l NLBListener, tg ref) (NLBListener, []v2types.Action, []v2types.Certificate, *string, error) {
	arn, err := r.resolve(tg)
	if err != nil {
		return l, nil, nil, nil, err
	}
	action := []v2types.Action{{Type: v2types.ActionTypeEnumForward, TargetGroupArn: aws.String(arn)}}
	var certs []v2types.Certificate
	if l.Certificate != "" {
		certs = []v2types.Certificate{{CertificateArn: aws.String(l.Certificate)}}
	}
	var policy *string
	if l.SSLPolicy != "" {
		policy = aws.String(l.SSLPolicy)
	}
	return l, action, certs, policy, nil
}

// createALPN is the ALPN policy of a new listener: only one chosen, on TLS.
func createALPN(l NLBListener) []string {
	if l.Protocol != "TLS" || l.ALPNPolicy == "" {
		return nil
	}
	return []string{l.ALPNPolicy}
}

type deleteListener struct{ arn string }

func (w deleteListener) audit() providers.Write {
	return providers.Write{Operation: "elbv2.DeleteListener", Object: w.arn}
}

func (w deleteListener) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elbv2.DeleteListener", func() (*elbv2.DeleteListenerOutput, error) {
		return r.c.elbv2.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(w.arn)})
	})
	if errorCode(err) == "ListenerNotFound" {
		return nil
	}
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

// deleteTargetGroup deletes a target group no listener uses; see deleteTargetGroups.
type deleteTargetGroup struct{ arn string }

func (w deleteTargetGroup) audit() providers.Write {
	return providers.Write{Operation: "elbv2.DeleteTargetGroup", Object: w.arn, Change: providers.ChangeDeleted}
}

func (w deleteTargetGroup) apply(ctx context.Context, r *run) error {
	return r.c.deleteTargetGroups(ctx, []string{w.arn})
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
