package aws

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers"
)

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

// observeNLB reads the NLB called name and its tags; nil when there is none.
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
	o := fromNLB(out.LoadBalancers[0])
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

// fromNLB converts what DescribeLoadBalancers returns; the tags are read apart.
func fromNLB(lb v2types.LoadBalancer) *nlbObserved {
	o := &nlbObserved{name: aws.ToString(lb.LoadBalancerName), arn: aws.ToString(lb.LoadBalancerArn), dns: aws.ToString(lb.DNSName), internal: lb.Scheme == v2types.LoadBalancerSchemeEnumInternal,
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
	return o
}

// nlbObservation is what Observe read for an NLB Service: the NLB with the model's name and
// its tags, and, when its spec-hash tag differs from the model's hash (full), every part the
// model describes and every object a type change or an earlier model may have left.
type nlbObservation struct {
	// lb is the NLB with the model's name, nil when there is none.
	lb *nlbObserved
	// others are the Service's load balancers under other names, read only when lb is nil
	// and the Service's status shows an address (a changed aws-load-balancer-name).
	others []ownedLB
	// full says the parts below were read: lb is missing or its spec hash differs.
	full bool
	// replace says lb differs from the model in what AWS fixes at creation (nlbMustReplace)
	// and the replacement guard allows replacing it.
	replace bool
	// refused are the differences of a replacement the guard refused; nothing else is read
	// (the caller observes again for the model that keeps lb's values).
	refused []providers.FieldChange
	// group is the security group k8s-elb-<name> in the VPC with all its rules, nil when
	// there is none: the NLB's managed group, or one a Classic Load Balancer left.
	group *ObservedGroup
	// groupUsers are the groups with a rule whose source is group (read when group is the
	// cluster's).
	groupUsers []*ObservedGroup
	// targetGroups are the model's target groups that exist, by name.
	targetGroups map[string]*observedTargetGroup
	// serving are the Service's target groups the model's listeners forward to under other
	// names, by ARN (observe_nlb_adopt.go); vpc is the VPC they must be in to be adopted.
	serving map[string]*observedTargetGroup
	vpc     string
	// listeners (by port) and attributes are lb's; nil when lb is created or replaced.
	listeners  map[int32]v2types.Listener
	attributes map[string]string
	// ownedTargetGroups are the ARNs of the Service's target groups (by their tags) that no
	// other load balancer uses; read when lb exists.
	ownedTargetGroups []string
	// nodes are the node security groups; nil with DisableSecurityGroupIngress.
	nodes *nodeGroupsObserved
	// backend is the cluster's backend group, read when the model has one; nil when there is
	// none yet.
	backend *ObservedGroup
	// leaving is the cluster's backend group in the PerService mode (the model has none),
	// read when the NLB has groups; leavingLast says no other load balancer holds it, and
	// leavingUsers are the groups that let it in (observe_backend.go).
	leaving      *ObservedGroup
	leavingLast  bool
	leavingUsers []*ObservedGroup
	// classic is the Classic Load Balancer with the NLB's name (a type change leaves one).
	classic *Observed
	// keepClassic says the Service has no NLB but a Classic Load Balancer under its name
	// that the guard keeps (loadbalancer_kind.go); nothing else is read.
	keepClassic bool
}

// observedTargetGroup is one of the model's target groups as AWS holds it.
type observedTargetGroup struct {
	arn        string
	current    v2types.TargetGroup
	attributes map[string]string
	// targets are the registered instances that are not draining; healthy and initial count
	// those whose health is healthy and initial (registering, or their first checks).
	targets          []string
	healthy, initial int
}

// readTargetGroup reads a target group's attributes and targets.
func (c *Cloud) readTargetGroup(ctx context.Context, tg v2types.TargetGroup) (*observedTargetGroup, error) {
	cur := &observedTargetGroup{arn: aws.ToString(tg.TargetGroupArn), current: tg, attributes: map[string]string{}}
	attrs, err := call(ctx, c.limits, "elbv2.DescribeTargetGroupAttributes", func() (*elbv2.DescribeTargetGroupAttributesOutput, error) {
		return c.elbv2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(cur.arn)})
	})
	if err != nil {
		return nil, err
	}
	for _, a := range attrs.Attributes {
		cur.attributes[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	health, err := call(ctx, c.limits, "elbv2.DescribeTargetHealth", func() (*elbv2.DescribeTargetHealthOutput, error) {
		return c.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(cur.arn)})
	})
	if err != nil {
		return nil, err
	}
	for _, d := range health.TargetHealthDescriptions {
		var state v2types.TargetHealthStateEnum
		if d.TargetHealth != nil {
			state = d.TargetHealth.State
		}
		switch state {
		case v2types.TargetHealthStateEnumDraining:
			continue
		case v2types.TargetHealthStateEnumHealthy:
			cur.healthy++
		case v2types.TargetHealthStateEnumInitial:
			cur.initial++
		}
		cur.targets = append(cur.targets, aws.ToString(d.Target.Id))
	}
	return cur, nil
}

// nodeGroupsObserved are the instances' security groups that hold, or must hold, an NLB's
// node rules.
type nodeGroupsObserved struct {
	// want are the groups of the model's instances (nodeGroups).
	want map[string]bool
	// vpc are the groups of the VPC's instances, read only when the NLB is replaced (its
	// rules are removed from every group that may hold them).
	vpc map[string]bool
	// groups are those of want, vpc and the NLB's node-groups tag that exist, with their
	// rules.
	groups map[string]*ObservedGroup
}

// observeNLBService reads what Diff needs for m: two reads when the NLB's spec hash equals
// the model's, every part otherwise.
func (c *Cloud) observeNLBService(ctx context.Context, svc *v1.Service, m *NLBModel, vpc string) (*nlbObservation, error) {
	lb, err := c.observeNLBFirst(ctx, m.Name)
	if err != nil {
		return nil, err
	}
	o := &nlbObservation{lb: lb}
	if lb == nil {
		if m.kindKept {
			return nil, keptGone(m.Name)
		}
		if providers.FirstEnsure(ctx) {
			// A first ensure: a Classic Load Balancer under the name cannot be the Service's
			// (providers.WithFirstEnsure), and one of another owner is never touched.
			o.classic = &Observed{}
		} else if o.classic, err = c.observe(ctx, m.Name); err != nil {
			return nil, err
		}
		if o.classic.Exists && keepsKind(o.classic.Tags, m.Cluster, m.Service, m.Name, m.Tags[providers.ReplaceKeyTag]) {
			o.keepClassic = true
			return o, nil
		}
		if o.others, err = c.othersOf(ctx, svc, m.Cluster); err != nil {
			return nil, err
		}
		if renamed(m.Service, m.Name, o.others) != nil {
			return o, nil // Diff refuses to create it: nothing else is needed
		}
	}
	if lb != nil && (!owned(lb.tags, m.Cluster) || ownedBy(lb.tags, m.Service, m.Name) != nil || lb.tags[tagSpecHash] == m.Hash()) {
		return o, nil // not ours (Diff refuses it), or applied as the model says
	}
	o.full = true
	if lb != nil && nlbMustReplace(m, lb) {
		if !providers.ReplaceAllowed(lb.tags[providers.ReplaceKeyTag], m.Tags[providers.ReplaceKeyTag]) {
			o.refused = nlbChanges(m, lb)
			return o, nil
		}
		o.replace = true
	}
	if err := c.observeNLBGroup(ctx, o, m, vpc); err != nil {
		return nil, err
	}
	if o.targetGroups, err = c.observeTargetGroups(ctx, m); err != nil {
		return nil, err
	}
	if lb != nil && !o.replace {
		if o.listeners, err = c.observeListeners(ctx, lb.arn); err != nil {
			return nil, err
		}
		if o.attributes, err = c.observeNLBAttributes(ctx, lb.arn); err != nil {
			return nil, err
		}
	}
	if lb != nil {
		if o.ownedTargetGroups, err = c.ownedTargetGroups(ctx, m.Cluster, m.Service, vpc, []string{lb.arn}); err != nil {
			return nil, err
		}
		o.vpc = vpc
		if err := c.observeServingGroups(ctx, o, m); err != nil {
			return nil, err
		}
	}
	if o.nodes, err = c.observeNodeGroups(ctx, m, lb, o.replace, vpc); err != nil {
		return nil, err
	}
	if m.BackendGroup != nil && o.nodes != nil {
		if o.backend, err = c.findBackendGroup(ctx, m.Cluster, vpc); err != nil {
			return nil, err
		}
	}
	if err := c.observeBackendLeaving(ctx, o, m, vpc); err != nil {
		return nil, err
	}
	if o.classic == nil {
		if o.classic, err = c.observe(ctx, m.Name); err != nil {
			return nil, fmt.Errorf("deleting load balancer %s: %w", m.Name, err)
		}
	}
	return o, nil
}

// observeNLBGroup reads the group k8s-elb-<name> and, when it is the cluster's, the groups
// whose rules let it in. A new NLB that wants no managed group, under a name no Classic Load
// Balancer holds, skips the read: such a group could only be one a Classic Load Balancer
// left behind by hand (or a crash) before this Service was an NLB, and the Service's deletion
// finds it by its tags (ownedGroups); a create costs one read less.
func (c *Cloud) observeNLBGroup(ctx context.Context, o *nlbObservation, m *NLBModel, vpc string) error {
	if o.lb == nil && o.classic != nil && !o.classic.Exists && m.ManagedSecurityGroup == nil {
		return nil
	}
	g, err := c.findGroupWith(ctx, securityGroupName(m.Name), vpc, allRules)
	if err == nil && g == nil && m.ManagedSecurityGroup != nil && o.lb != nil {
		g, err = c.adoptableGroup(ctx, m, o.lb)
	}
	if err != nil || g == nil || !owned(g.Tags, m.Cluster) {
		o.group = g
		return err
	}
	o.group = g
	o.groupUsers, err = c.referencing(ctx, g.ID)
	return err
}

// observeTargetGroups reads each of the model's target groups by name, with its attributes
// and targets; one that does not exist is left out.
func (c *Cloud) observeTargetGroups(ctx context.Context, m *NLBModel) (map[string]*observedTargetGroup, error) {
	out := map[string]*observedTargetGroup{}
	for _, tg := range m.TargetGroups {
		res, err := call(ctx, c.limits, "elbv2.DescribeTargetGroups", func() (*elbv2.DescribeTargetGroupsOutput, error) {
			return c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{tg.Name}})
		})
		if err != nil && errorCode(err) != "TargetGroupNotFound" {
			return nil, err
		}
		if err != nil || len(res.TargetGroups) == 0 {
			continue
		}
		cur, err := c.readTargetGroup(ctx, res.TargetGroups[0])
		if err != nil {
			return nil, err
		}
		out[tg.Name] = cur
	}
	return out, nil
}

// observeListeners reads the NLB's listeners, by port.
func (c *Cloud) observeListeners(ctx context.Context, lbArn string) (map[int32]v2types.Listener, error) {
	out, err := call(ctx, c.limits, "elbv2.DescribeListeners", func() (*elbv2.DescribeListenersOutput, error) {
		return c.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbArn)})
	})
	if err != nil {
		return nil, err
	}
	have := map[int32]v2types.Listener{}
	for _, l := range out.Listeners {
		have[aws.ToInt32(l.Port)] = l
	}
	return have, nil
}

// observeNLBAttributes reads the NLB's attributes.
func (c *Cloud) observeNLBAttributes(ctx context.Context, lbArn string) (map[string]string, error) {
	out, err := call(ctx, c.limits, "elbv2.DescribeLoadBalancerAttributes", func() (*elbv2.DescribeLoadBalancerAttributesOutput, error) {
		return c.elbv2.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lbArn)})
	})
	if err != nil {
		return nil, err
	}
	have := map[string]string{}
	for _, a := range out.Attributes {
		have[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	return have, nil
}

// observeNodeGroups reads the groups of the model's instances and the rules of those, of the
// groups lb's node-groups tag lists and, when lb is replaced, of the VPC's instances' groups.
func (c *Cloud) observeNodeGroups(ctx context.Context, m *NLBModel, lb *nlbObserved, replace bool, vpc string) (*nodeGroupsObserved, error) {
	if c.cfg.Global.DisableSecurityGroupIngress {
		return nil, nil
	}
	n := &nodeGroupsObserved{}
	var err error
	if n.want, err = c.nodeGroups(ctx, m.Cluster, vpc, m.Instances); err != nil {
		return nil, err
	}
	ids := maps.Clone(n.want)
	if lb != nil {
		maps.Copy(ids, taggedGroups(lb.tags))
	}
	if replace {
		if n.vpc, err = c.vpcInstanceGroups(ctx, vpc); err != nil {
			return nil, err
		}
		maps.Copy(ids, n.vpc)
	}
	n.groups, err = c.describeGroups(ctx, slices.Sorted(maps.Keys(ids)))
	return n, err
}

// nlbTargetsObservation is what the node-change fast path starts from: the state the last
// apply of the NLB left (cache.go), and the node-groups tag value the model's instances
// give (nil with DisableSecurityGroupIngress).
type nlbTargetsObservation struct {
	last       nlbState
	nodeGroups *string
}

// observeNLBTargets reads the groups of the model's instances (through the instance cache)
// for the fast path, whose cached state st Diff accepted (nlbTargetsUsable).
func (c *Cloud) observeNLBTargets(ctx context.Context, m *NLBModel, st nlbState, vpc string) (*nlbTargetsObservation, error) {
	o := &nlbTargetsObservation{last: st}
	if c.cfg.Global.DisableSecurityGroupIngress {
		return o, nil
	}
	groups, err := c.nodeGroups(ctx, m.Cluster, vpc, m.Instances)
	if err != nil {
		return nil, err
	}
	v := strings.Join(slices.Sorted(maps.Keys(groups)), ",")
	o.nodeGroups = &v
	return o, nil
}

// othersOf are the Service's load balancers (by their tags) when its status shows an address:
// a load balancer under another name means aws-load-balancer-name changed (see renamed).
func (c *Cloud) othersOf(ctx context.Context, svc *v1.Service, cluster string) ([]ownedLB, error) {
	if !hasIngress(svc) {
		return nil, nil
	}
	found, err := c.findOwned(ctx, cluster, serviceName(svc))
	if err != nil {
		return nil, fmt.Errorf("looking for the load balancers of %s: %w", serviceName(svc), err)
	}
	return found, nil
}

// retiredNLB is the Service's NLB that a type change to a Classic Load Balancer left under
// the same name, with the node groups that may hold its rules and its target groups.
type retiredNLB struct {
	lb *nlbObserved
	// ids are the groups its tag lists and those of the VPC's instances; groups are those
	// of them that exist, with their rules (both nil with DisableSecurityGroupIngress).
	ids    map[string]bool
	groups map[string]*ObservedGroup
	// targetGroups are the ARNs of its target groups and of the Service's unattached ones.
	targetGroups []string
}

// observeRetiredNLB reads the NLB called m.Name if it is the Service's; o.sameNLB stands for
// that read when it is known (sameNLBKnown).
func (c *Cloud) observeRetiredNLB(ctx context.Context, m *Model, vpc string, o *Observed) (*retiredNLB, error) {
	lb, err := o.sameNLB, error(nil)
	if !o.sameNLBKnown {
		lb, err = c.observeNLB(ctx, m.Name)
	}
	if err != nil || lb == nil || !owned(lb.tags, m.Cluster) || ownedBy(lb.tags, m.Service, m.Name) != nil {
		return nil, err
	}
	r := &retiredNLB{lb: lb}
	if !c.cfg.Global.DisableSecurityGroupIngress {
		r.ids = taggedGroups(lb.tags)
		vpcGroups, err := c.vpcInstanceGroups(ctx, vpc)
		if err != nil {
			return nil, err
		}
		maps.Copy(r.ids, vpcGroups)
		if r.groups, err = c.describeGroups(ctx, slices.Sorted(maps.Keys(r.ids))); err != nil {
			return nil, err
		}
	}
	if r.targetGroups, err = c.ownedTargetGroups(ctx, m.Cluster, lb.tags[tagServiceName], vpc, []string{lb.arn}); err != nil {
		return nil, err
	}
	return r, nil
}
