package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	// instances are a Classic Load Balancer's instances as its last Register or Deregister
	// answered; nil when the run made neither.
	instances []string
	// nodeRulesHash is the node-rules tag the run wrote.
	nodeRulesHash string
	// lbs are the names of the load balancers the run writes to (or to their target groups,
	// listeners, groups and rules): each write is recorded in the write log under each, so a
	// Listing taken before it never stands for a read of them (providers.WriteLog).
	lbs []string
}

// applySteps makes the writes of s in order, each with its reason, and stops at the first
// error. It decides nothing: it only reacts to the answers AWS gives its own writes (a
// duplicate is done, not-found is gone, a group created by an attempt whose answer was lost
// is adopted).
func (c *Cloud) applySteps(ctx context.Context, vpc string, lbs []string, s steps) (*run, error) {
	r := c.newRun(vpc, lbs)
	return r, r.apply(ctx, s)
}

// newRun starts an Apply in vpc of the writes to the load balancers lbs.
func (c *Cloud) newRun(vpc string, lbs []string) *run {
	return &run{c: c, vpc: vpc, created: map[string]string{}, lbs: lbs}
}

// apply makes the writes of s in order, resolving refs from what the run's earlier writes
// returned.
func (r *run) apply(ctx context.Context, s steps) error {
	for _, st := range s {
		wctx := ctx
		if st.reason != "" {
			wctx = providers.WithReason(ctx, st.reason)
		}
		err := st.write.apply(wctx, r)
		// Recorded whatever the answer: a write that failed may have changed the cloud.
		for _, name := range r.lbs {
			r.c.writes.Wrote(name)
		}
		if err != nil {
			if st.wrap != "" {
				err = fmt.Errorf("%s: %w", st.wrap, err)
			}
			return err
		}
		r.done++
	}
	return nil
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

// resolveTags replaces managedGroupRef in the values of tags by the ID of the managed group
// the run created.
func (r *run) resolveTags(tags map[string]string) (map[string]string, error) {
	out := maps.Clone(tags)
	for k, v := range out {
		if v != managedGroupRef {
			continue
		}
		id, err := r.resolve(toCreate(managedGroupRef))
		if err != nil {
			return nil, err
		}
		out[k] = id
	}
	return out, nil
}

// resolveRules replaces managedGroupRef and backendGroupRef in rules by the IDs of the
// groups the run created.
func (r *run) resolveRules(rules []Rule) ([]Rule, error) {
	if slices.ContainsFunc(rules, func(x Rule) bool { return x.Group == backendGroupRef }) {
		id, err := r.resolve(toCreate(backendGroupRef))
		if err != nil {
			return nil, err
		}
		rules = withGroupID(rules, backendGroupRef, id)
	}
	if !slices.ContainsFunc(rules, func(x Rule) bool { return x.Group == managedGroupRef }) {
		return rules, nil
	}
	id, err := r.resolve(toCreate(managedGroupRef))
	if err != nil {
		return nil, err
	}
	return withGroupID(rules, managedGroupRef, id), nil
}

// The writes of a Classic plan, each one Elastic Load Balancing call.

// createCLB creates the load balancer with its listeners, subnets, groups and tags.
type createCLB struct {
	m      *Model
	groups []ref
}

func (w createCLB) audit() providers.Write {
	return providers.Write{Operation: "elb.CreateLoadBalancer", Object: w.m.Name, Change: providers.ChangeCreated}
}

func (w createCLB) apply(ctx context.Context, r *run) error {
	m := w.m
	groups, err := r.resolveAll(w.groups)
	if err != nil {
		return err
	}
	in := &elb.CreateLoadBalancerInput{
		LoadBalancerName: aws.String(m.Name), Listeners: toListeners(m.Listeners), Subnets: m.Subnets,
		SecurityGroups: groups, Tags: toTags(m.Tags),
	}
	if m.Internal {
		in.Scheme = aws.String("internal")
	}
	out, err := call(ctx, r.c.limits, "elb.CreateLoadBalancer", func() (*elb.CreateLoadBalancerOutput, error) { return r.c.elb.CreateLoadBalancer(ctx, in) })
	if err != nil {
		return err
	}
	r.dns = aws.ToString(out.DNSName)
	return nil
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

// applyCLBSecurityGroups sets the load balancer's groups.
type applyCLBSecurityGroups struct {
	name   string
	groups []ref
}

func (w applyCLBSecurityGroups) audit() providers.Write {
	return providers.Write{Operation: "elb.ApplySecurityGroupsToLoadBalancer", Object: w.name}
}

func (w applyCLBSecurityGroups) apply(ctx context.Context, r *run) error {
	groups, err := r.resolveAll(w.groups)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elb.ApplySecurityGroupsToLoadBalancer", func() (*elb.ApplySecurityGroupsToLoadBalancerOutput, error) {
		return r.c.elb.ApplySecurityGroupsToLoadBalancer(ctx, &elb.ApplySecurityGroupsToLoadBalancerInput{LoadBalancerName: aws.String(w.name), SecurityGroups: groups})
	})
	return err
}

// attachCLBSubnets and detachCLBSubnets change the load balancer's subnets.
type attachCLBSubnets struct {
	name    string
	subnets []string
}

type detachCLBSubnets attachCLBSubnets

func (w attachCLBSubnets) audit() providers.Write {
	return providers.Write{Operation: "elb.AttachLoadBalancerToSubnets", Object: w.name}
}

func (w attachCLBSubnets) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elb.AttachLoadBalancerToSubnets", func() (*elb.AttachLoadBalancerToSubnetsOutput, error) {
		return r.c.elb.AttachLoadBalancerToSubnets(ctx, &elb.AttachLoadBalancerToSubnetsInput{LoadBalancerName: aws.String(w.name), Subnets: w.subnets})
	})
	return err
}

func (w detachCLBSubnets) audit() providers.Write {
	return providers.Write{Operation: "elb.DetachLoadBalancerFromSubnets", Object: w.name}
}

func (w detachCLBSubnets) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elb.DetachLoadBalancerFromSubnets", func() (*elb.DetachLoadBalancerFromSubnetsOutput, error) {
		return r.c.elb.DetachLoadBalancerFromSubnets(ctx, &elb.DetachLoadBalancerFromSubnetsInput{LoadBalancerName: aws.String(w.name), Subnets: w.subnets})
	})
	return err
}

// createCLBListeners and deleteCLBListeners change the listeners; CLB listeners cannot be
// modified, so a changed one is deleted and created again.
type createCLBListeners struct {
	name      string
	listeners []Listener
}

func (w createCLBListeners) audit() providers.Write {
	return providers.Write{Operation: "elb.CreateLoadBalancerListeners", Object: w.name}
}

func (w createCLBListeners) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elb.CreateLoadBalancerListeners", func() (*elb.CreateLoadBalancerListenersOutput, error) {
		return r.c.elb.CreateLoadBalancerListeners(ctx, &elb.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String(w.name), Listeners: toListeners(w.listeners)})
	})
	return err
}

type deleteCLBListeners struct {
	name  string
	ports []int32
}

func (w deleteCLBListeners) audit() providers.Write {
	return providers.Write{Operation: "elb.DeleteLoadBalancerListeners", Object: w.name}
}

func (w deleteCLBListeners) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elb.DeleteLoadBalancerListeners", func() (*elb.DeleteLoadBalancerListenersOutput, error) {
		return r.c.elb.DeleteLoadBalancerListeners(ctx, &elb.DeleteLoadBalancerListenersInput{LoadBalancerName: aws.String(w.name), LoadBalancerPorts: w.ports})
	})
	return err
}

// createCLBPolicy creates the proxy-protocol policy or the SSL negotiation policy; one
// already there (an answer lost) counts as created.
type createCLBPolicy struct {
	name, policy string
	// sslPolicy is the predefined policy an SSL negotiation policy refers to.
	sslPolicy string
}

func (w createCLBPolicy) audit() providers.Write {
	return providers.Write{Operation: "elb.CreateLoadBalancerPolicy", Object: w.name}
}

func (w createCLBPolicy) apply(ctx context.Context, r *run) error {
	in := &elb.CreateLoadBalancerPolicyInput{LoadBalancerName: aws.String(w.name), PolicyName: aws.String(w.policy)}
	if w.policy == proxyProtocolPolicy {
		in.PolicyTypeName = aws.String("ProxyProtocolPolicyType")
		in.PolicyAttributes = []elbtypes.PolicyAttribute{{AttributeName: aws.String("ProxyProtocol"), AttributeValue: aws.String("true")}}
	} else {
		in.PolicyTypeName = aws.String("SSLNegotiationPolicyType")
		in.PolicyAttributes = []elbtypes.PolicyAttribute{{AttributeName: aws.String("Reference-Security-Policy"), AttributeValue: aws.String(w.sslPolicy)}}
	}
	_, err := call(ctx, r.c.limits, "elb.CreateLoadBalancerPolicy", func() (*elb.CreateLoadBalancerPolicyOutput, error) {
		return r.c.elb.CreateLoadBalancerPolicy(ctx, in)
	})
	if errorCode(err) == "DuplicatePolicyName" {
		return nil
	}
	return err
}

// setCLBBackendPolicies and setCLBListenerPolicies set the policy list of a backend port or
// of a listener.
type setCLBBackendPolicies struct {
	name     string
	port     int32
	policies []string
}

type setCLBListenerPolicies setCLBBackendPolicies

func (w setCLBBackendPolicies) audit() providers.Write {
	return providers.Write{Operation: "elb.SetLoadBalancerPoliciesForBackendServer", Object: w.name}
}

func (w setCLBBackendPolicies) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elb.SetLoadBalancerPoliciesForBackendServer", func() (*elb.SetLoadBalancerPoliciesForBackendServerOutput, error) {
		return r.c.elb.SetLoadBalancerPoliciesForBackendServer(ctx, &elb.SetLoadBalancerPoliciesForBackendServerInput{
			LoadBalancerName: aws.String(w.name), InstancePort: aws.Int32(w.port), PolicyNames: w.policies})
	})
	return err
}

func (w setCLBListenerPolicies) audit() providers.Write {
	return providers.Write{Operation: "elb.SetLoadBalancerPoliciesOfListener", Object: w.name}
}

func (w setCLBListenerPolicies) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elb.SetLoadBalancerPoliciesOfListener", func() (*elb.SetLoadBalancerPoliciesOfListenerOutput, error) {
		return r.c.elb.SetLoadBalancerPoliciesOfListener(ctx, &elb.SetLoadBalancerPoliciesOfListenerInput{
			LoadBalancerName: aws.String(w.name), LoadBalancerPort: w.port, PolicyNames: w.policies})
	})
	return err
}

// configureHealthCheck sets the health check.
type configureHealthCheck struct {
	name        string
	healthCheck HealthCheck
}

func (w configureHealthCheck) audit() providers.Write {
	return providers.Write{Operation: "elb.ConfigureHealthCheck", Object: w.name}
}

func (w configureHealthCheck) apply(ctx context.Context, r *run) error {
	hc := w.healthCheck
	_, err := call(ctx, r.c.limits, "elb.ConfigureHealthCheck", func() (*elb.ConfigureHealthCheckOutput, error) {
		return r.c.elb.ConfigureHealthCheck(ctx, &elb.ConfigureHealthCheckInput{LoadBalancerName: aws.String(w.name), HealthCheck: &elbtypes.HealthCheck{
			Target: aws.String(hc.Target), Interval: aws.Int32(hc.Interval), Timeout: aws.Int32(hc.Timeout),
			HealthyThreshold: aws.Int32(hc.HealthyThreshold), UnhealthyThreshold: aws.Int32(hc.UnhealthyThreshold),
		}})
	})
	return err
}

// modifyCLBAttributes sets the attributes.
type modifyCLBAttributes struct {
	name       string
	attributes Attributes
}

func (w modifyCLBAttributes) audit() providers.Write {
	return providers.Write{Operation: "elb.ModifyLoadBalancerAttributes", Object: w.name}
}

func (w modifyCLBAttributes) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elb.ModifyLoadBalancerAttributes", func() (*elb.ModifyLoadBalancerAttributesOutput, error) {
		return r.c.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerName: aws.String(w.name), LoadBalancerAttributes: toAttributes(w.attributes)})
	})
	return err
}

// registerInstances and deregisterInstances change the load balancer's instances; both
// answer with every instance registered afterwards, which the run keeps (run.instances).
type registerInstances struct {
	name string
	ids  []string
}

type deregisterInstances registerInstances

func (w registerInstances) audit() providers.Write {
	return providers.Write{Operation: "elb.RegisterInstancesWithLoadBalancer", Object: w.name}
}

func (w registerInstances) apply(ctx context.Context, r *run) error {
	out, err := call(ctx, r.c.limits, "elb.RegisterInstancesWithLoadBalancer", func() (*elb.RegisterInstancesWithLoadBalancerOutput, error) {
		return r.c.elb.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String(w.name), Instances: toInstances(w.ids)})
	})
	if err != nil {
		return err
	}
	r.instances = instanceIDs(out.Instances)
	return nil
}

func (w deregisterInstances) audit() providers.Write {
	return providers.Write{Operation: "elb.DeregisterInstancesFromLoadBalancer", Object: w.name}
}

func (w deregisterInstances) apply(ctx context.Context, r *run) error {
	out, err := call(ctx, r.c.limits, "elb.DeregisterInstancesFromLoadBalancer", func() (*elb.DeregisterInstancesFromLoadBalancerOutput, error) {
		return r.c.elb.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{LoadBalancerName: aws.String(w.name), Instances: toInstances(w.ids)})
	})
	if err != nil {
		return err
	}
	r.instances = instanceIDs(out.Instances)
	return nil
}

// instanceIDs are the IDs of instances, sorted.
func instanceIDs(instances []elbtypes.Instance) []string {
	ids := make([]string, 0, len(instances))
	for _, i := range instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	slices.Sort(ids)
	return ids
}

// removeCLBTags and addCLBTags write the load balancer's tags; managedGroupRef in a value
// stands for the managed group the run created.
type removeCLBTags struct {
	name string
	keys []string
}

func (w removeCLBTags) audit() providers.Write {
	return providers.Write{Operation: "elb.RemoveTags", Object: w.name}
}

func (w removeCLBTags) apply(ctx context.Context, r *run) error {
	keys := make([]elbtypes.TagKeyOnly, len(w.keys))
	for i, k := range w.keys {
		keys[i] = elbtypes.TagKeyOnly{Key: aws.String(k)}
	}
	_, err := call(ctx, r.c.limits, "elb.RemoveTags", func() (*elb.RemoveTagsOutput, error) {
		return r.c.elb.RemoveTags(ctx, &elb.RemoveTagsInput{LoadBalancerNames: []string{w.name}, Tags: keys})
	})
	return err
}

type addCLBTags struct {
	name string
	tags map[string]string
}

func (w addCLBTags) audit() providers.Write {
	return providers.Write{Operation: "elb.AddTags", Object: w.name}
}

func (w addCLBTags) apply(ctx context.Context, r *run) error {
	tags, err := r.resolveTags(w.tags)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elb.AddTags", func() (*elb.AddTagsOutput, error) {
		return r.c.elb.AddTags(ctx, &elb.AddTagsInput{LoadBalancerNames: []string{w.name}, Tags: toTags(tags)})
	})
	return err
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
