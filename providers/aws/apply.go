package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"

	"github.com/cloudlb/cloudlb/providers"
)

// apply makes the plan's writes: creates and updates first, deletes after, and the tags
// (with the spec hash) last, so a crash anywhere leaves a hash that forces a full read.
// Every step is idempotent. beforeTags, when set, runs just before the tags: work that must
// succeed before the spec hash says the model is applied. It returns the DNS name of a
// created load balancer.
func (c *Cloud) apply(ctx context.Context, m *Model, p *Plan, vpc string, beforeTags func() error) (string, error) {
	if p.CreateGroup {
		id, err := c.createGroup(ctx, m.ManagedSecurityGroup, m.Cluster, m.Service, vpc)
		if err != nil {
			return "", err
		}
		p.GroupID = id
	}
	if err := c.authorize(ctx, p.GroupID, p.Authorize); err != nil {
		return "", err
	}
	resolve := func(groups []string) []string {
		out := slices.Clone(groups)
		for i, g := range out {
			if g == managedGroupRef {
				out[i] = p.GroupID
			}
		}
		return out
	}
	name := aws.String(m.Name)
	dns := ""
	if p.Create {
		in := &elb.CreateLoadBalancerInput{
			LoadBalancerName: name, Listeners: toListeners(m.Listeners), Subnets: m.Subnets,
			SecurityGroups: resolve(wantGroups(m, managedGroupRef)), Tags: toTags(m.Tags),
		}
		if m.Internal {
			in.Scheme = aws.String("internal")
		}
		out, err := call(ctx, c.limits, "elb.CreateLoadBalancer", func() (*elb.CreateLoadBalancerOutput, error) { return c.elb.CreateLoadBalancer(ctx, in) })
		if err != nil {
			return "", err
		}
		dns = aws.ToString(out.DNSName)
	}
	if p.SecurityGroups != nil {
		if _, err := call(ctx, c.limits, "elb.ApplySecurityGroupsToLoadBalancer", func() (*elb.ApplySecurityGroupsToLoadBalancerOutput, error) {
			return c.elb.ApplySecurityGroupsToLoadBalancer(ctx, &elb.ApplySecurityGroupsToLoadBalancerInput{LoadBalancerName: name, SecurityGroups: resolve(p.SecurityGroups)})
		}); err != nil {
			return "", err
		}
	}
	if len(p.AttachSubnets) > 0 {
		if _, err := call(ctx, c.limits, "elb.AttachLoadBalancerToSubnets", func() (*elb.AttachLoadBalancerToSubnetsOutput, error) {
			return c.elb.AttachLoadBalancerToSubnets(ctx, &elb.AttachLoadBalancerToSubnetsInput{LoadBalancerName: name, Subnets: p.AttachSubnets})
		}); err != nil {
			return "", err
		}
	}
	if err := c.deleteListeners(ctx, name, p.ReplaceListener); err != nil {
		return "", err
	}
	if len(p.AddListeners) > 0 {
		if _, err := call(ctx, c.limits, "elb.CreateLoadBalancerListeners", func() (*elb.CreateLoadBalancerListenersOutput, error) {
			return c.elb.CreateLoadBalancerListeners(ctx, &elb.CreateLoadBalancerListenersInput{LoadBalancerName: name, Listeners: toListeners(p.AddListeners)})
		}); err != nil {
			return "", err
		}
	}
	if err := c.applyPolicies(ctx, m, p); err != nil {
		return "", err
	}
	if hc := p.HealthCheck; hc != nil {
		if _, err := call(ctx, c.limits, "elb.ConfigureHealthCheck", func() (*elb.ConfigureHealthCheckOutput, error) {
			return c.elb.ConfigureHealthCheck(ctx, &elb.ConfigureHealthCheckInput{LoadBalancerName: name, HealthCheck: &elbtypes.HealthCheck{
				Target: aws.String(hc.Target), Interval: aws.Int32(hc.Interval), Timeout: aws.Int32(hc.Timeout),
				HealthyThreshold: aws.Int32(hc.HealthyThreshold), UnhealthyThreshold: aws.Int32(hc.UnhealthyThreshold),
			}})
		}); err != nil {
			return "", err
		}
	}
	if a := p.Attributes; a != nil {
		if _, err := call(ctx, c.limits, "elb.ModifyLoadBalancerAttributes", func() (*elb.ModifyLoadBalancerAttributesOutput, error) {
			return c.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerName: name, LoadBalancerAttributes: toAttributes(*a)})
		}); err != nil {
			return "", err
		}
	}
	if _, err := c.registerInstances(ctx, m.Name, p.Register, p.Deregister); err != nil {
		return "", err
	}
	// Deletes.
	if err := c.deleteListeners(ctx, name, p.RemoveListeners); err != nil {
		return "", err
	}
	if len(p.DetachSubnets) > 0 {
		if _, err := call(ctx, c.limits, "elb.DetachLoadBalancerFromSubnets", func() (*elb.DetachLoadBalancerFromSubnetsOutput, error) {
			return c.elb.DetachLoadBalancerFromSubnets(ctx, &elb.DetachLoadBalancerFromSubnetsInput{LoadBalancerName: name, Subnets: p.DetachSubnets})
		}); err != nil {
			return "", err
		}
	}
	if len(p.Revoke) > 0 {
		if _, err := call(ctx, c.limits, "ec2.RevokeSecurityGroupIngress", func() (*ec2.RevokeSecurityGroupIngressOutput, error) {
			return c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(p.GroupID), IpPermissions: toPermissions(p.Revoke)})
		}); err != nil && errorCode(err) != "InvalidPermission.NotFound" {
			return "", err
		}
	}
	// beforeTags (retiring the NLB of a type change) runs before the managed group goes: an
	// NLB in the Managed mode may still use it.
	if beforeTags != nil {
		if err := beforeTags(); err != nil {
			return "", err
		}
		beforeTags = nil
	}
	if p.DeleteGroup {
		if err := c.revokeAllFrom(ctx, p.GroupID); err != nil {
			return "", err
		}
		if err := c.deleteGroup(ctx, p.GroupID); err != nil {
			return "", err
		}
	}
	if len(p.RemoveTags) > 0 {
		keys := make([]elbtypes.TagKeyOnly, len(p.RemoveTags))
		for i, k := range p.RemoveTags {
			keys[i] = elbtypes.TagKeyOnly{Key: aws.String(k)}
		}
		if _, err := call(ctx, c.limits, "elb.RemoveTags", func() (*elb.RemoveTagsOutput, error) {
			return c.elb.RemoveTags(ctx, &elb.RemoveTagsInput{LoadBalancerNames: []string{m.Name}, Tags: keys})
		}); err != nil {
			return "", err
		}
	}
	if beforeTags != nil {
		if err := beforeTags(); err != nil {
			return "", err
		}
	}
	if len(p.SetTags) > 0 {
		tags := maps.Clone(p.SetTags)
		for k, v := range tags {
			if v == managedGroupRef {
				tags[k] = p.GroupID
			}
		}
		if _, err := call(ctx, c.limits, "elb.AddTags", func() (*elb.AddTagsOutput, error) {
			return c.elb.AddTags(ctx, &elb.AddTagsInput{LoadBalancerNames: []string{m.Name}, Tags: toTags(tags)})
		}); err != nil {
			return "", err
		}
	}
	return dns, nil
}

// createGroup creates the managed security group sg of service, or adopts it when a
// previous attempt created it (only if it carries cluster's tag).
func (c *Cloud) createGroup(ctx context.Context, sg *SecurityGroup, cluster, service, vpc string) (string, error) {
	tags := make([]ec2types.Tag, 0, len(sg.Tags))
	for _, k := range slices.Sorted(maps.Keys(sg.Tags)) {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(sg.Tags[k])})
	}
	out, err := call(ctx, c.limits, "ec2.CreateSecurityGroup", func() (*ec2.CreateSecurityGroupOutput, error) {
		return c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(sg.Name), Description: aws.String(sg.Description), VpcId: aws.String(vpc),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: tags}},
		})
	})
	if errorCode(err) == "InvalidGroup.Duplicate" {
		g, ferr := c.findGroup(ctx, sg.Name, vpc)
		if ferr != nil {
			return "", ferr
		}
		if g == nil || !owned(g.Tags, cluster) {
			return "", providers.NewUserError(service, "security group %s already exists and is not ours; it is left untouched", sg.Name)
		}
		return g.ID, nil
	}
	if err != nil {
		return "", err
	}
	return aws.ToString(out.GroupId), nil
}

// authorize adds rules; when some are present already (InvalidPermission.Duplicate: left by
// a crash, or the same rule under another description, which AWS counts as the same) it
// adds them one by one, skipping those present.
func (c *Cloud) authorize(ctx context.Context, group string, rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	one := func(rs []Rule) error {
		_, err := call(ctx, c.limits, "ec2.AuthorizeSecurityGroupIngress", func() (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
			return c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: toPermissions(rs)})
		})
		return err
	}
	err := one(rules)
	if errorCode(err) != "InvalidPermission.Duplicate" || len(rules) == 1 {
		return ignoreDuplicate(err)
	}
	for _, r := range rules {
		if err := ignoreDuplicate(one([]Rule{r})); err != nil {
			return err
		}
	}
	return nil
}

func ignoreDuplicate(err error) error {
	if errorCode(err) == "InvalidPermission.Duplicate" {
		return nil
	}
	return err
}

// errGroupInUse is the transient error of a group still referenced while the load
// balancer's network interfaces drain.
var errGroupInUse = errors.New("security group still in use, retrying")

func (c *Cloud) deleteGroup(ctx context.Context, id string) error {
	_, err := call(ctx, c.limits, "ec2.DeleteSecurityGroup", func() (*ec2.DeleteSecurityGroupOutput, error) {
		return c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	})
	switch errorCode(err) {
	case "InvalidGroup.NotFound":
		return nil
	case "DependencyViolation":
		return fmt.Errorf("deleting %s: %w: %w", id, errGroupInUse, err)
	}
	return err
}

func (c *Cloud) deleteListeners(ctx context.Context, name *string, ports []int32) error {
	if len(ports) == 0 {
		return nil
	}
	_, err := call(ctx, c.limits, "elb.DeleteLoadBalancerListeners", func() (*elb.DeleteLoadBalancerListenersOutput, error) {
		return c.elb.DeleteLoadBalancerListeners(ctx, &elb.DeleteLoadBalancerListenersInput{LoadBalancerName: name, LoadBalancerPorts: ports})
	})
	return err
}

func (c *Cloud) applyPolicies(ctx context.Context, m *Model, p *Plan) error {
	name := aws.String(m.Name)
	for _, pol := range p.CreatePolicies {
		in := &elb.CreateLoadBalancerPolicyInput{LoadBalancerName: name, PolicyName: aws.String(pol)}
		if pol == proxyProtocolPolicy {
			in.PolicyTypeName = aws.String("ProxyProtocolPolicyType")
			in.PolicyAttributes = []elbtypes.PolicyAttribute{{AttributeName: aws.String("ProxyProtocol"), AttributeValue: aws.String("true")}}
		} else {
			in.PolicyTypeName = aws.String("SSLNegotiationPolicyType")
			in.PolicyAttributes = []elbtypes.PolicyAttribute{{AttributeName: aws.String("Reference-Security-Policy"), AttributeValue: aws.String(m.SSLNegotiationPolicy)}}
		}
		if _, err := call(ctx, c.limits, "elb.CreateLoadBalancerPolicy", func() (*elb.CreateLoadBalancerPolicyOutput, error) {
			return c.elb.CreateLoadBalancerPolicy(ctx, in)
		}); err != nil && errorCode(err) != "DuplicatePolicyName" {
			return err
		}
	}
	for _, port := range slices.Sorted(maps.Keys(p.BackendPolicies)) {
		if _, err := call(ctx, c.limits, "elb.SetLoadBalancerPoliciesForBackendServer", func() (*elb.SetLoadBalancerPoliciesForBackendServerOutput, error) {
			return c.elb.SetLoadBalancerPoliciesForBackendServer(ctx, &elb.SetLoadBalancerPoliciesForBackendServerInput{
				LoadBalancerName: name, InstancePort: aws.Int32(port), PolicyNames: p.BackendPolicies[port]})
		}); err != nil {
			return err
		}
	}
	for _, port := range slices.Sorted(maps.Keys(p.ListenerPolicies)) {
		if _, err := call(ctx, c.limits, "elb.SetLoadBalancerPoliciesOfListener", func() (*elb.SetLoadBalancerPoliciesOfListenerOutput, error) {
			return c.elb.SetLoadBalancerPoliciesOfListener(ctx, &elb.SetLoadBalancerPoliciesOfListenerInput{
				LoadBalancerName: name, LoadBalancerPort: port, PolicyNames: p.ListenerPolicies[port]})
		}); err != nil {
			return err
		}
	}
	return nil
}

// registerInstances registers and deregisters instances and records, in the cache, the
// instances the load balancer reports afterwards; it returns that list (sorted), or nil when
// it made no call.
func (c *Cloud) registerInstances(ctx context.Context, name string, register, deregister []string) ([]string, error) {
	var now []elbtypes.Instance
	called := false
	if len(register) > 0 {
		out, err := call(ctx, c.limits, "elb.RegisterInstancesWithLoadBalancer", func() (*elb.RegisterInstancesWithLoadBalancerOutput, error) {
			return c.elb.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String(name), Instances: toInstances(register)})
		})
		if err != nil {
			c.classic.drop(name)
			return nil, err
		}
		now, called = out.Instances, true
	}
	if len(deregister) > 0 {
		out, err := call(ctx, c.limits, "elb.DeregisterInstancesFromLoadBalancer", func() (*elb.DeregisterInstancesFromLoadBalancerOutput, error) {
			return c.elb.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{LoadBalancerName: aws.String(name), Instances: toInstances(deregister)})
		})
		if err != nil {
			c.classic.drop(name)
			return nil, err
		}
		now, called = out.Instances, true
	}
	if !called {
		return nil, nil
	}
	ids := make([]string, 0, len(now))
	for _, i := range now {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	slices.Sort(ids)
	c.classic.update(name, func(s *classicState) { s.instances = ids })
	return ids, nil
}

func toListeners(ls []Listener) []elbtypes.Listener {
	out := make([]elbtypes.Listener, len(ls))
	for i, l := range ls {
		out[i] = elbtypes.Listener{Protocol: aws.String(l.Protocol), LoadBalancerPort: l.Port,
			InstanceProtocol: aws.String(l.InstanceProtocol), InstancePort: aws.Int32(l.InstancePort)}
		if l.SSLCertificateID != "" {
			out[i].SSLCertificateId = aws.String(l.SSLCertificateID)
		}
	}
	return out
}

func toTags(m map[string]string) []elbtypes.Tag {
	out := make([]elbtypes.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, elbtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func toInstances(ids []string) []elbtypes.Instance {
	out := make([]elbtypes.Instance, len(ids))
	for i, id := range ids {
		out[i] = elbtypes.Instance{InstanceId: aws.String(id)}
	}
	return out
}

func toAttributes(a Attributes) *elbtypes.LoadBalancerAttributes {
	out := &elbtypes.LoadBalancerAttributes{
		AccessLog:              &elbtypes.AccessLog{Enabled: a.AccessLog.Enabled},
		ConnectionDraining:     &elbtypes.ConnectionDraining{Enabled: a.ConnectionDraining.Enabled},
		ConnectionSettings:     &elbtypes.ConnectionSettings{IdleTimeout: aws.Int32(a.IdleTimeout)},
		CrossZoneLoadBalancing: &elbtypes.CrossZoneLoadBalancing{Enabled: a.CrossZone},
	}
	if a.AccessLog.Enabled {
		out.AccessLog.EmitInterval = aws.Int32(a.AccessLog.EmitInterval)
		out.AccessLog.S3BucketName = aws.String(a.AccessLog.Bucket)
		out.AccessLog.S3BucketPrefix = aws.String(a.AccessLog.Prefix)
	}
	if a.ConnectionDraining.Enabled {
		out.ConnectionDraining.Timeout = aws.Int32(a.ConnectionDraining.Timeout)
	}
	return out
}

// toPermissions groups rules into one permission per protocol and port range.
func toPermissions(rules []Rule) []ec2types.IpPermission {
	var out []ec2types.IpPermission
	index := map[string]int{}
	for _, r := range rules {
		k := fmt.Sprintf("%s/%d/%d", r.Protocol, r.FromPort, r.ToPort)
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, ec2types.IpPermission{IpProtocol: aws.String(r.Protocol), FromPort: aws.Int32(r.FromPort), ToPort: aws.Int32(r.ToPort)})
		}
		desc := aws.String(r.Description)
		if r.Description == "" {
			desc = nil
		}
		switch {
		case r.Group != "":
			out[i].UserIdGroupPairs = append(out[i].UserIdGroupPairs, ec2types.UserIdGroupPair{GroupId: aws.String(r.Group), Description: desc})
		case r.PrefixList != "":
			out[i].PrefixListIds = append(out[i].PrefixListIds, ec2types.PrefixListId{PrefixListId: aws.String(r.PrefixList), Description: desc})
		case isIPv6(r.CIDR):
			out[i].Ipv6Ranges = append(out[i].Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: aws.String(r.CIDR), Description: desc})
		default:
			out[i].IpRanges = append(out[i].IpRanges, ec2types.IpRange{CidrIp: aws.String(r.CIDR), Description: desc})
		}
	}
	return out
}

func isIPv6(cidr string) bool { return slices.Contains([]byte(cidr), ':') }
