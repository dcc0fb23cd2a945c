package aws

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/providers"
)

// elbv2API lists the Elastic Load Balancing v2 verbs the NLB path calls.
type elbv2API interface {
	DescribeLoadBalancers(context.Context, *elbv2.DescribeLoadBalancersInput, ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeTags(context.Context, *elbv2.DescribeTagsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	DescribeListeners(context.Context, *elbv2.DescribeListenersInput, ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeTargetGroups(context.Context, *elbv2.DescribeTargetGroupsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTargetGroupAttributes(context.Context, *elbv2.DescribeTargetGroupAttributesInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	ModifyTargetGroupAttributes(context.Context, *elbv2.ModifyTargetGroupAttributesInput, ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error)
	DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	DescribeLoadBalancerAttributes(context.Context, *elbv2.DescribeLoadBalancerAttributesInput, ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancerAttributesOutput, error)
	CreateLoadBalancer(context.Context, *elbv2.CreateLoadBalancerInput, ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error)
	DeleteLoadBalancer(context.Context, *elbv2.DeleteLoadBalancerInput, ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error)
	SetSubnets(context.Context, *elbv2.SetSubnetsInput, ...func(*elbv2.Options)) (*elbv2.SetSubnetsOutput, error)
	ModifyLoadBalancerAttributes(context.Context, *elbv2.ModifyLoadBalancerAttributesInput, ...func(*elbv2.Options)) (*elbv2.ModifyLoadBalancerAttributesOutput, error)
	CreateTargetGroup(context.Context, *elbv2.CreateTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error)
	ModifyTargetGroup(context.Context, *elbv2.ModifyTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error)
	DeleteTargetGroup(context.Context, *elbv2.DeleteTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error)
	RegisterTargets(context.Context, *elbv2.RegisterTargetsInput, ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
	DeregisterTargets(context.Context, *elbv2.DeregisterTargetsInput, ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
	CreateListener(context.Context, *elbv2.CreateListenerInput, ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error)
	ModifyListener(context.Context, *elbv2.ModifyListenerInput, ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error)
	DeleteListener(context.Context, *elbv2.DeleteListenerInput, ...func(*elbv2.Options)) (*elbv2.DeleteListenerOutput, error)
	AddTags(context.Context, *elbv2.AddTagsInput, ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error)
	RemoveTags(context.Context, *elbv2.RemoveTagsInput, ...func(*elbv2.Options)) (*elbv2.RemoveTagsOutput, error)
	SetSecurityGroups(context.Context, *elbv2.SetSecurityGroupsInput, ...func(*elbv2.Options)) (*elbv2.SetSecurityGroupsOutput, error)
	SetIpAddressType(context.Context, *elbv2.SetIpAddressTypeInput, ...func(*elbv2.Options)) (*elbv2.SetIpAddressTypeOutput, error)
}

var _ elbv2API = (*elbv2.Client)(nil)

// nlbObserved is the NLB with our name, from DescribeLoadBalancers + DescribeTags.
type nlbObserved struct {
	name, arn, dns string
	internal       bool
	subnets        []string
	// mappings are the pinned addresses per subnet; natPrefixes says whether source NAT
	// prefixes for IPv6 are enabled.
	mappings    map[string]subnetPin
	natPrefixes bool
	ipType      string
	// groups are the NLB's security groups; enforce is its PrivateLink setting ("" when it
	// has no group).
	groups  []string
	enforce string
	tags    map[string]string
}

func (c *Cloud) observeNLB(ctx context.Context, name string) (*nlbObserved, error) {
	out, err := call(ctx, c.limits, "elbv2.DescribeLoadBalancers", func() (*elbv2.DescribeLoadBalancersOutput, error) {
		return c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	})
	if errorCode(err) == "LoadBalancerNotFound" || err == nil && len(out.LoadBalancers) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	lb := out.LoadBalancers[0]
	o := &nlbObserved{name: name, arn: aws.ToString(lb.LoadBalancerArn), dns: aws.ToString(lb.DNSName), internal: lb.Scheme == v2types.LoadBalancerSchemeEnumInternal,
		natPrefixes: lb.EnablePrefixForIpv6SourceNat == v2types.EnablePrefixForIpv6SourceNatEnumOn, ipType: string(lb.IpAddressType),
		groups: slices.Clone(lb.SecurityGroups), enforce: aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic), tags: map[string]string{}}
	for _, az := range lb.AvailabilityZones {
		sn := aws.ToString(az.SubnetId)
		o.subnets = append(o.subnets, sn)
		var pin subnetPin
		for _, a := range az.LoadBalancerAddresses {
			pin.Allocation = cmp.Or(pin.Allocation, aws.ToString(a.AllocationId))
			pin.PrivateIPv4 = cmp.Or(pin.PrivateIPv4, aws.ToString(a.PrivateIPv4Address))
			pin.IPv6 = cmp.Or(pin.IPv6, aws.ToString(a.IPv6Address))
		}
		if len(az.SourceNatIpv6Prefixes) > 0 {
			pin.NATPrefix = az.SourceNatIpv6Prefixes[0]
		}
		if pin != (subnetPin{}) {
			if o.mappings == nil {
				o.mappings = map[string]subnetPin{}
			}
			o.mappings[sn] = pin
		}
	}
	slices.Sort(o.subnets)
	tags, err := call(ctx, c.limits, "elbv2.DescribeTags", func() (*elbv2.DescribeTagsOutput, error) {
		return c.elbv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{o.arn}})
	})
	if err != nil {
		return nil, err
	}
	for _, d := range tags.TagDescriptions {
		maps.Copy(o.tags, v2TagMap(d.Tags))
	}
	return o, nil
}

// ensureNLB reconciles an NLB. An unchanged Service costs DescribeLoadBalancers +
// DescribeTags: the spec-hash tag covers the whole model. Otherwise every part is read and
// repaired, and the hash is written last. missing runs when no NLB has the model's name,
// before anything is created; beforeTags runs before the hash is written.
func (c *Cloud) ensureNLB(ctx context.Context, m *NLBModel, vpc string, missing, beforeTags func() error) (string, error) {
	o, err := c.observeNLB(ctx, m.Name)
	if err != nil {
		return "", err
	}
	if o == nil && missing != nil {
		if err := missing(); err != nil {
			return "", err
		}
	}
	if o != nil && !owned(o.tags, m.Cluster) {
		return "", providers.NewUserError(m.Service, "load balancer %s already exists without the tag %s=%s; it is not ours and is left untouched", m.Name, clusterTag(m.Cluster), tagOwned)
	}
	if o != nil {
		if err := ownedBy(o.tags, m.Service, m.Name); err != nil {
			return "", err
		}
	}
	if o != nil && o.tags[tagSpecHash] == m.Hash() {
		c.nlbs.put(m.Name, nlbState{arn: o.arn, dns: o.dns, tags: o.tags, instances: m.Instances})
		return o.dns, nil
	}
	c.nlbs.drop(m.Name) // until the full reconcile has succeeded
	existed := o != nil
	if existed {
		ctx = providers.WithReason(ctx, "the NLB differs from the Service")
	} else {
		ctx = providers.WithReason(ctx, "the Service has no NLB yet")
	}
	groups, err := c.ensureNLBGroups(ctx, m, vpc)
	if err != nil {
		return "", err
	}
	if o != nil && nlbMustReplace(m, o) {
		klog.FromContext(ctx).Info("Replacing NLB to change what AWS fixes at creation", "service", m.Service, "name", m.Name)
		// Scheme, pinned addresses, IPv6 source NAT and having security groups at all are
		// fixed at creation: replace (the name is fixed by the Service UID, so the NLB is
		// deleted first; a managed group is kept for the new one).
		// Its target groups stay: the new NLB takes them over with their registered targets.
		if err := c.deleteNLB(providers.WithReason(ctx, "replacing the NLB: its scheme, pinned addresses, IPv6 source NAT or having security groups at all is fixed at creation"),
			o, m.Attributes[attrDeletionProtection] != "true", vpc); err != nil {
			return "", err
		}
		o = nil
	}
	if o == nil {
		if o, err = c.createNLB(ctx, m, groups); err != nil {
			return "", err
		}
	}
	if err := c.setNLBGroups(ctx, m, o, groups); err != nil {
		return "", err
	}
	if want := cmp.Or(m.IPAddressType, string(v2types.IpAddressTypeIpv4)); cmp.Or(o.ipType, string(v2types.IpAddressTypeIpv4)) != want {
		if _, err := call(ctx, c.limits, "elbv2.SetIpAddressType", func() (*elbv2.SetIpAddressTypeOutput, error) {
			return c.elbv2.SetIpAddressType(ctx, &elbv2.SetIpAddressTypeInput{LoadBalancerArn: aws.String(o.arn), IpAddressType: v2types.IpAddressType(want)})
		}); err != nil {
			return "", err
		}
	}
	if !slices.Equal(o.subnets, m.Subnets) {
		if _, err := call(ctx, c.limits, "elbv2.SetSubnets", func() (*elbv2.SetSubnetsOutput, error) {
			return c.elbv2.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(o.arn), Subnets: m.Subnets})
		}); err != nil {
			return "", err
		}
	}
	tgArns, err := c.ensureTargetGroups(ctx, m, vpc)
	if err != nil {
		return "", err
	}
	if err := c.ensureListeners(ctx, m, o.arn, tgArns); err != nil {
		return "", err
	}
	if err := c.ensureNLBAttributes(ctx, m, o.arn); err != nil {
		return "", err
	}
	if existed {
		// Groups no listener uses any more (a changed port, protocol or health-check
		// protocol), also those left by an earlier attempt that failed, are found by their
		// tags, so a failed delete is retried next time instead of being forgotten.
		if err := c.dropStaleTargetGroups(providers.WithReason(ctx, "no listener of the NLB uses the target group any more"), m, vpc, o.arn, tgArns); err != nil {
			return "", err
		}
	}
	resolved := *m
	if len(groups) > 0 && m.ManagedSecurityGroup != nil {
		resolved.NodeRules = withGroupID(m.NodeRules, groups[0])
	}
	nodeGroups, err := c.ensureNLBNodeRules(ctx, &resolved, vpc, o.tags)
	if err != nil {
		return "", err
	}
	if beforeTags != nil {
		if err := beforeTags(); err != nil {
			return "", err
		}
	}
	if existed && m.ManagedSecurityGroup == nil {
		// A managed group the NLB used before (or kept through a replacement) goes.
		if err := c.dropNLBGroup(ctx, m, vpc); err != nil {
			return "", err
		}
	}
	final, err := c.tagNLB(ctx, m, o, nodeGroups)
	if err != nil {
		return "", err
	}
	c.nlbs.put(m.Name, nlbState{arn: o.arn, dns: o.dns, tags: final, instances: m.Instances, targetGroups: tgArns})
	return o.dns, nil
}

// ensureTargetGroups creates missing target groups, repairs health checks and targets, and
// returns the ARN of each wanted group by name.
func (c *Cloud) ensureTargetGroups(ctx context.Context, m *NLBModel, vpc string) (map[string]string, error) {
	arns := map[string]string{}
	for _, tg := range m.TargetGroups {
		out, err := call(ctx, c.limits, "elbv2.DescribeTargetGroups", func() (*elbv2.DescribeTargetGroupsOutput, error) {
			return c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{tg.Name}})
		})
		if err != nil && errorCode(err) != "TargetGroupNotFound" {
			return nil, err
		}
		var cur *v2types.TargetGroup
		if err == nil && len(out.TargetGroups) > 0 {
			cur = &out.TargetGroups[0]
		}
		if cur == nil {
			in := &elbv2.CreateTargetGroupInput{
				Name: aws.String(tg.Name), Protocol: v2types.ProtocolEnum(tg.Protocol), Port: aws.Int32(tg.Port), VpcId: aws.String(vpc),
				TargetType: v2types.TargetTypeEnumInstance, Tags: v2Tags(map[string]string{clusterTag(m.Cluster): tagOwned, tagServiceName: m.Service}),
			}
			setHealthCheck(tg.HealthCheck, &in.HealthCheckProtocol, &in.HealthCheckPort, &in.HealthCheckPath, &in.HealthCheckIntervalSeconds,
				&in.HealthCheckTimeoutSeconds, &in.HealthyThresholdCount, &in.UnhealthyThresholdCount, &in.Matcher)
			created, err := call(ctx, c.limits, "elbv2.CreateTargetGroup", func() (*elbv2.CreateTargetGroupOutput, error) { return c.elbv2.CreateTargetGroup(ctx, in) })
			if err != nil {
				return nil, err
			}
			arn := aws.ToString(created.TargetGroups[0].TargetGroupArn)
			arns[tg.Name] = arn
			if err := c.syncTGAttributes(ctx, arn, tg.Attributes, false); err != nil {
				return nil, err
			}
			if err := c.syncTargets(ctx, arn, tg.Port, m.Instances, nil); err != nil {
				return nil, err
			}
			continue
		}
		arn := aws.ToString(cur.TargetGroupArn)
		arns[tg.Name] = arn
		if healthCheckOf(cur) != tg.HealthCheck {
			in := &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(arn)}
			setHealthCheck(tg.HealthCheck, &in.HealthCheckProtocol, &in.HealthCheckPort, &in.HealthCheckPath, &in.HealthCheckIntervalSeconds,
				&in.HealthCheckTimeoutSeconds, &in.HealthyThresholdCount, &in.UnhealthyThresholdCount, &in.Matcher)
			if _, err := call(ctx, c.limits, "elbv2.ModifyTargetGroup", func() (*elbv2.ModifyTargetGroupOutput, error) { return c.elbv2.ModifyTargetGroup(ctx, in) }); err != nil {
				return nil, err
			}
		}
		if err := c.syncTGAttributes(ctx, arn, tg.Attributes, true); err != nil {
			return nil, err
		}
		health, err := call(ctx, c.limits, "elbv2.DescribeTargetHealth", func() (*elbv2.DescribeTargetHealthOutput, error) {
			return c.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
		})
		if err != nil {
			return nil, err
		}
		var have []string
		for _, d := range health.TargetHealthDescriptions {
			if d.TargetHealth != nil && d.TargetHealth.State == v2types.TargetHealthStateEnumDraining {
				continue
			}
			have = append(have, aws.ToString(d.Target.Id))
		}
		if err := c.syncTargets(ctx, arn, tg.Port, m.Instances, have); err != nil {
			return nil, err
		}
	}
	return arns, nil
}

// syncTGAttributes sets the wanted attributes that differ; read says whether to read them
// first (a group just created has AWS's defaults).
func (c *Cloud) syncTGAttributes(ctx context.Context, arn string, want map[string]string, read bool) error {
	if len(want) == 0 && !read {
		return nil
	}
	have := map[string]string{}
	if read {
		out, err := call(ctx, c.limits, "elbv2.DescribeTargetGroupAttributes", func() (*elbv2.DescribeTargetGroupAttributesOutput, error) {
			return c.elbv2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)})
		})
		if err != nil {
			return err
		}
		for _, a := range out.Attributes {
			have[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
	}
	var change []v2types.TargetGroupAttribute
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := have[k]; !ok || v != want[k] {
			change = append(change, v2types.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(want[k])})
		}
	}
	// A known attribute no longer wanted goes back to AWS's default.
	for _, k := range slices.Sorted(maps.Keys(tgAttributeDefaults)) {
		if _, wanted := want[k]; !wanted {
			if v, ok := have[k]; ok && v != tgAttributeDefaults[k] {
				change = append(change, v2types.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(tgAttributeDefaults[k])})
			}
		}
	}
	if len(change) == 0 {
		return nil
	}
	_, err := call(ctx, c.limits, "elbv2.ModifyTargetGroupAttributes", func() (*elbv2.ModifyTargetGroupAttributesOutput, error) {
		return c.elbv2.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn), Attributes: change})
	})
	return err
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

func healthCheckOf(tg *v2types.TargetGroup) NLBHealthCheck {
	hc := NLBHealthCheck{
		Protocol: string(tg.HealthCheckProtocol), Port: aws.ToString(tg.HealthCheckPort), Path: aws.ToString(tg.HealthCheckPath),
		Interval: aws.ToInt32(tg.HealthCheckIntervalSeconds), Timeout: aws.ToInt32(tg.HealthCheckTimeoutSeconds),
		HealthyThreshold: aws.ToInt32(tg.HealthyThresholdCount), UnhealthyThreshold: aws.ToInt32(tg.UnhealthyThresholdCount),
	}
	if isHTTP(hc.Protocol) && tg.Matcher != nil && aws.ToString(tg.Matcher.HttpCode) != defaultSuccessCodes {
		hc.SuccessCodes = aws.ToString(tg.Matcher.HttpCode)
	}
	return hc
}

// syncTargets registers the missing instances, then deregisters the extra ones.
func (c *Cloud) syncTargets(ctx context.Context, arn string, port int32, want, have []string) error {
	add, remove := setDiff(want, have)
	targets := func(ids []string) []v2types.TargetDescription {
		out := make([]v2types.TargetDescription, len(ids))
		for i, id := range ids {
			out[i] = v2types.TargetDescription{Id: aws.String(id), Port: aws.Int32(port)}
		}
		return out
	}
	if len(add) > 0 {
		if _, err := call(ctx, c.limits, "elbv2.RegisterTargets", func() (*elbv2.RegisterTargetsOutput, error) {
			return c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: targets(add)})
		}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := call(ctx, c.limits, "elbv2.DeregisterTargets", func() (*elbv2.DeregisterTargetsOutput, error) {
			return c.elbv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: targets(remove)})
		}); err != nil {
			return err
		}
	}
	return nil
}

// ensureListeners creates, modifies and deletes listeners.
func (c *Cloud) ensureListeners(ctx context.Context, m *NLBModel, lbArn string, tgArns map[string]string) error {
	out, err := call(ctx, c.limits, "elbv2.DescribeListeners", func() (*elbv2.DescribeListenersOutput, error) {
		return c.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbArn)})
	})
	if err != nil {
		return err
	}
	have := map[int32]v2types.Listener{}
	for _, l := range out.Listeners {
		have[aws.ToInt32(l.Port)] = l
	}
	for _, l := range m.Listeners {
		action := []v2types.Action{{Type: v2types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgArns[l.TargetGroup])}}
		var certs []v2types.Certificate
		if l.Certificate != "" {
			certs = []v2types.Certificate{{CertificateArn: aws.String(l.Certificate)}}
		}
		var policy *string
		if l.SSLPolicy != "" {
			policy = aws.String(l.SSLPolicy)
		}
		var alpn []string // sent on TLS listeners only, and on creation only when chosen
		if l.Protocol == "TLS" {
			alpn = []string{cmp.Or(l.ALPNPolicy, alpnNone)}
		}
		cur, ok := have[l.Port]
		delete(have, l.Port)
		if !ok {
			if _, err := call(ctx, c.limits, "elbv2.CreateListener", func() (*elbv2.CreateListenerOutput, error) {
				return c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lbArn), Port: aws.Int32(l.Port),
					Protocol: v2types.ProtocolEnum(l.Protocol), DefaultActions: action, Certificates: certs, SslPolicy: policy, AlpnPolicy: createALPN(l),
					Tags: v2Tags(map[string]string{clusterTag(m.Cluster): tagOwned, tagServiceName: m.Service})})
			}); err != nil {
				return err
			}
			continue
		}
		if listenerMatches(cur, l, tgArns[l.TargetGroup]) {
			continue
		}
		if _, err := call(ctx, c.limits, "elbv2.ModifyListener", func() (*elbv2.ModifyListenerOutput, error) {
			return c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: cur.ListenerArn, Port: aws.Int32(l.Port),
				Protocol: v2types.ProtocolEnum(l.Protocol), DefaultActions: action, Certificates: certs, SslPolicy: policy, AlpnPolicy: alpn})
		}); err != nil {
			return err
		}
	}
	for _, port := range slices.Sorted(maps.Keys(have)) {
		if _, err := call(ctx, c.limits, "elbv2.DeleteListener", func() (*elbv2.DeleteListenerOutput, error) {
			return c.elbv2.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: have[port].ListenerArn})
		}); err != nil && errorCode(err) != "ListenerNotFound" {
			return err
		}
	}
	return nil
}

func listenerMatches(cur v2types.Listener, l NLBListener, tgArn string) bool {
	if string(cur.Protocol) != l.Protocol || len(cur.DefaultActions) != 1 || aws.ToString(cur.DefaultActions[0].TargetGroupArn) != tgArn {
		return false
	}
	cert := ""
	if len(cur.Certificates) > 0 {
		cert = aws.ToString(cur.Certificates[0].CertificateArn)
	}
	// AWS fills in a default policy on TLS listeners; only a policy we asked for is compared.
	if cert != l.Certificate || l.SSLPolicy != "" && aws.ToString(cur.SslPolicy) != l.SSLPolicy {
		return false
	}
	return l.Protocol != "TLS" || alpnOf(cur) == cmp.Or(l.ALPNPolicy, alpnNone)
}

func (c *Cloud) ensureNLBAttributes(ctx context.Context, m *NLBModel, arn string) error {
	out, err := call(ctx, c.limits, "elbv2.DescribeLoadBalancerAttributes", func() (*elbv2.DescribeLoadBalancerAttributesOutput, error) {
		return c.elbv2.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn)})
	})
	if err != nil {
		return err
	}
	want := map[string]string{
		"load_balancing.cross_zone.enabled": strconv.FormatBool(m.CrossZone),
		"access_logs.s3.enabled":            strconv.FormatBool(m.AccessLog.Enabled),
	}
	if m.AccessLog.Enabled {
		want["access_logs.s3.bucket"], want["access_logs.s3.prefix"] = m.AccessLog.Bucket, m.AccessLog.Prefix
	}
	have := map[string]string{}
	for _, a := range out.Attributes {
		have[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	for k, def := range lbAttributeDefaults(m.Internal) {
		if _, ok := have[k]; ok {
			want[k] = def // a known attribute not (or no longer) asked for: AWS's default
		}
	}
	maps.Copy(want, m.Attributes)
	var change []v2types.LoadBalancerAttribute
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if have[k] != want[k] {
			change = append(change, v2types.LoadBalancerAttribute{Key: aws.String(k), Value: aws.String(want[k])})
		}
	}
	if len(change) == 0 {
		return nil
	}
	_, err = call(ctx, c.limits, "elbv2.ModifyLoadBalancerAttributes", func() (*elbv2.ModifyLoadBalancerAttributesOutput, error) {
		return c.elbv2.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn), Attributes: change})
	})
	return err
}

// deleteNLB removes the NLB's rules from the node security groups, then deletes the NLB.
// The rules go first because only the NLB's name (in their descriptions) and its tag of node
// groups lead to them; its target groups are found by their tags afterwards (see
// EnsureLoadBalancerDeleted and retireNLB). With unprotect, deletion protection (on when AWS
// refuses with OperationNotPermitted) is turned off first; without, that refusal is a user
// error.
func (c *Cloud) deleteNLB(ctx context.Context, o *nlbObserved, unprotect bool, vpc string) error {
	c.nlbs.drop(o.name)
	if err := c.revokeNLBNodeRules(ctx, o, vpc); err != nil {
		return err
	}
	return c.deleteNLBOnly(ctx, o, unprotect)
}

// retireNLB deletes an NLB the Service no longer wants (its type changed) and the target
// groups that were its own.
func (c *Cloud) retireNLB(ctx context.Context, o *nlbObserved, unprotect bool, cluster, vpc string) error {
	if err := c.deleteNLB(ctx, o, unprotect, vpc); err != nil {
		return err
	}
	tgs, err := c.ownedTargetGroups(ctx, cluster, o.tags[tagServiceName], vpc, []string{o.arn})
	if err != nil {
		return err
	}
	return c.deleteTargetGroups(ctx, tgs)
}

// dropStaleTargetGroups deletes the Service's target groups (by their tags) that the NLB's
// listeners no longer use: want holds the ARNs of the ones they use.
func (c *Cloud) dropStaleTargetGroups(ctx context.Context, m *NLBModel, vpc, lbArn string, want map[string]string) error {
	ours, err := c.ownedTargetGroups(ctx, m.Cluster, m.Service, vpc, []string{lbArn})
	if err != nil {
		return err
	}
	inUse := mapValues(want)
	stale := slices.DeleteFunc(ours, func(arn string) bool { return slices.Contains(inUse, arn) })
	return c.deleteTargetGroups(ctx, stale)
}

func v2Tags(m map[string]string) []v2types.Tag {
	out := make([]v2types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, v2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
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
