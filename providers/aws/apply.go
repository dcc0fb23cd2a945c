package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"

	"github.com/cloudlb/cloudlb/providers"
)

// run is one Apply of a plan: the answers of its writes so far, from which it resolves the
// refs of the later ones.
type run struct {
	c   *Cloud
	vpc string
	// created holds the ID or ARN of each object the run created (or adopted), by model name.
	created map[string]string
	// dns is the DNS name of the load balancer the run created.
	dns string
	// done counts the steps that succeeded.
	done int
}

// applySteps makes the writes of s in order, each with its reason, and stops at the first
// error. It decides nothing: it only reacts to the answers AWS gives its own writes (a
// duplicate is done, not-found is gone, a group created by an attempt whose answer was lost
// is adopted).
func (c *Cloud) applySteps(ctx context.Context, vpc string, s steps) (*run, error) {
	r := &run{c: c, vpc: vpc, created: map[string]string{}}
	for _, st := range s {
		wctx := ctx
		if st.reason != "" {
			wctx = providers.WithReason(ctx, st.reason)
		}
		if err := st.apply(wctx, r); err != nil {
			if st.wrap != "" {
				err = fmt.Errorf("%s: %w", st.wrap, err)
			}
			return r, err
		}
		r.done++
	}
	return r, nil
}

// errUnresolved is a plan naming an object before the write that creates it.
var errUnresolved = errors.New("the plan names an object no earlier write created")

// resolve is the ID or ARN x names: the observed one, or what the write that created it
// returned.
func (r *run) resolve(x ref) (string, error) {
	if x.id != "" {
		return x.id, nil
	}
	if id, ok := r.created[x.name]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%s: %w", x.name, errUnresolved)
}

// resolveAll resolves refs; nil for none.
func (r *run) resolveAll(xs []ref) ([]string, error) {
	var out []string
	for _, x := range xs {
		id, err := r.resolve(x)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// resolveRules replaces managedGroupRef in rules by the ID of the managed group the run
// created.
func (r *run) resolveRules(rules []Rule) ([]Rule, error) {
	if !slices.ContainsFunc(rules, func(x Rule) bool { return x.Group == managedGroupRef }) {
		return rules, nil
	}
	id, err := r.resolve(toCreate(managedGroupRef))
	if err != nil {
		return nil, err
	}
	return withGroupID(rules, id), nil
}

// deleteCLB deletes a Classic Load Balancer.
type deleteCLB struct{ name string }

func (w deleteCLB) audit() providers.Write {
	return providers.Write{Operation: "elb.DeleteLoadBalancer", Object: w.name, Change: providers.ChangeDeleted}
}

func (w deleteCLB) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elb.DeleteLoadBalancer", func() (*elb.DeleteLoadBalancerOutput, error) {
		return r.c.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String(w.name)})
	})
	return err
}

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
