package aws

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// Observed is what the cloud holds for one Service.
type Observed struct {
	Exists   bool
	DNSName  string
	Internal bool
	// Listeners are sorted by port.
	Listeners        []Listener
	ListenerPolicies map[int32][]string
	BackendPolicies  map[int32][]string
	// Policies are the names of the policies defined on the load balancer.
	Policies       []string
	HealthCheck    HealthCheck
	Subnets        []string
	SecurityGroups []string
	Instances      []string
	Tags           map[string]string

	// Deep is true when Attributes and ManagedSG were read (see the package documentation).
	Deep       bool
	Attributes Attributes
	// ManagedSG is the group named k8s-elb-<name> in the VPC, nil when there is none.
	ManagedSG *ObservedGroup

	// others are the Service's load balancers under other names, read only when none exists
	// under the model's and the Service's status shows an address (see renamed).
	others []ownedLB
	// replaced is the load balancer Diff replaces because its scheme differs; the rest of
	// Observed then describes the cloud without it (see classicMustReplace).
	replaced *Observed
	// refused are the differences of a replacement the guard refused (keepClassic).
	refused []providers.FieldChange
	// groupUsers are the groups whose rules let ManagedSG in, read when the model has no
	// managed group (Diff deletes it).
	groupUsers []*ObservedGroup
	// nlb is the Service's NLB with the same name that a type change left, read with the
	// deep parts.
	nlb *retiredNLB
	// keepNLB says the Service has no Classic Load Balancer but an NLB under its name that
	// the guard keeps (loadbalancer_kind.go); nothing else is read.
	keepNLB bool
	// sameNLB is the NLB under the load balancer's name (nil: none) when sameNLBKnown says
	// the guard's look-up read it, or a first ensure knows there is none of ours:
	// observeRetiredNLB starts from it instead of reading again.
	sameNLB      *nlbObserved
	sameNLBKnown bool
}

// ObservedGroup is a security group and its CIDR ingress rules.
type ObservedGroup struct {
	ID    string
	Tags  map[string]string
	Rules []Rule
}

// observeClassic reads what Diff needs for m: the load balancer and its tags; when the
// spec-hash tag differs (needsDeep), its attributes and managed group, the groups that let a
// managed group in that Diff deletes, and an NLB a type change left under the same name.
func (c *Cloud) observeClassic(ctx context.Context, svc *v1.Service, m *Model, vpc string) (*Observed, error) {
	o, err := c.observeFirst(ctx, m.Name)
	if err != nil {
		return nil, err
	}
	if !o.Exists {
		if m.kindKept {
			return nil, keptGone(m.Name)
		}
		if !providers.FirstEnsure(ctx) {
			// An NLB under the name could be the Service's, left by a type change.
			o.keepNLB, o.sameNLB, err = c.sameNameNLB(ctx, m.Name, m.Cluster, m.Service, m.Tags[providers.ReplaceKeyTag])
			if err != nil || o.keepNLB {
				return o, err
			}
		}
		o.sameNLBKnown = true
		if o.others, err = c.othersOf(ctx, svc, m.Cluster); err != nil {
			return nil, err
		}
		if renamed(m.Service, m.Name, o.others) != nil {
			return o, nil // Diff refuses to create it: nothing else is needed
		}
	}
	if classicMustReplace(m, o) {
		if !providers.ReplaceAllowed(o.Tags[providers.ReplaceKeyTag], m.Tags[providers.ReplaceKeyTag]) {
			o.refused = []providers.FieldChange{{Field: annotations.AWSScheme.Key, Have: schemeOf(o.Internal), Want: schemeOf(m.Internal)}}
			return o, nil // the caller observes again for the model that keeps the scheme
		}
		o = &Observed{replaced: o}
	}
	if !needsDeep(m, o) {
		return o, nil
	}
	if !o.Exists && o.replaced == nil && providers.FirstEnsure(ctx) {
		// A first ensure: no managed group of ours can exist (the Service's deletion takes
		// them, found by their tags, before its finalizer goes). One of another owner under
		// the name makes CreateSecurityGroup fail, and the retry reads it.
		o.Deep = true
		return o, nil
	}
	if err := c.observeDeep(ctx, o, m.Name, vpc); err != nil {
		return nil, err
	}
	if g := o.ManagedSG; g != nil && m.ManagedSecurityGroup == nil && owned(g.Tags, m.Cluster) {
		if o.groupUsers, err = c.referencing(ctx, g.ID); err != nil {
			return nil, err
		}
	}
	if c.elbv2 != nil {
		if o.nlb, err = c.observeRetiredNLB(ctx, m, vpc, o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// observe reads the load balancer and its tags: two calls, or one when it does not exist.
func (c *Cloud) observe(ctx context.Context, name string) (*Observed, error) {
	return c.observeLB(ctx, name, true)
}

func (c *Cloud) observeLB(ctx context.Context, name string, withTags bool) (*Observed, error) {
	out, err := call(ctx, c.limits, "elb.DescribeLoadBalancers", func() (*elb.DescribeLoadBalancersOutput, error) {
		return c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}})
	})
	if errorCode(err) == "LoadBalancerNotFound" || err == nil && len(out.LoadBalancerDescriptions) == 0 {
		return &Observed{}, nil
	}
	if err != nil {
		return nil, err
	}
	o := fromDescription(out.LoadBalancerDescriptions[0])
	if !withTags {
		return o, nil
	}
	tags, err := call(ctx, c.limits, "elb.DescribeTags", func() (*elb.DescribeTagsOutput, error) {
		return c.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: []string{name}})
	})
	if err != nil {
		return nil, err
	}
	for _, d := range tags.TagDescriptions {
		maps.Copy(o.Tags, elbTagMap(d.Tags))
	}
	return o, nil
}

// fromDescription converts what DescribeLoadBalancers returns.
func fromDescription(d elbtypes.LoadBalancerDescription) *Observed {
	o := &Observed{
		Exists:           true,
		DNSName:          aws.ToString(d.DNSName),
		Internal:         aws.ToString(d.Scheme) == "internal",
		ListenerPolicies: map[int32][]string{},
		BackendPolicies:  map[int32][]string{},
		Subnets:          slices.Sorted(slices.Values(d.Subnets)),
		SecurityGroups:   slices.Clone(d.SecurityGroups),
		Instances:        []string{},
		Tags:             map[string]string{},
	}
	for _, ld := range d.ListenerDescriptions {
		l := ld.Listener
		if l == nil {
			continue
		}
		o.Listeners = append(o.Listeners, Listener{
			Protocol: strings.ToUpper(aws.ToString(l.Protocol)), Port: l.LoadBalancerPort,
			InstanceProtocol: strings.ToUpper(aws.ToString(l.InstanceProtocol)), InstancePort: aws.ToInt32(l.InstancePort),
			SSLCertificateID: aws.ToString(l.SSLCertificateId),
		})
		if len(ld.PolicyNames) > 0 {
			o.ListenerPolicies[l.LoadBalancerPort] = slices.Sorted(slices.Values(ld.PolicyNames))
		}
	}
	slices.SortFunc(o.Listeners, func(a, b Listener) int { return int(a.Port - b.Port) })
	for _, b := range d.BackendServerDescriptions {
		if len(b.PolicyNames) > 0 {
			o.BackendPolicies[aws.ToInt32(b.InstancePort)] = slices.Sorted(slices.Values(b.PolicyNames))
		}
	}
	if d.Policies != nil {
		o.Policies = slices.Clone(d.Policies.OtherPolicies)
	}
	if hc := d.HealthCheck; hc != nil {
		o.HealthCheck = HealthCheck{
			Target: aws.ToString(hc.Target), Interval: aws.ToInt32(hc.Interval), Timeout: aws.ToInt32(hc.Timeout),
			HealthyThreshold: aws.ToInt32(hc.HealthyThreshold), UnhealthyThreshold: aws.ToInt32(hc.UnhealthyThreshold),
		}
	}
	for _, i := range d.Instances {
		o.Instances = append(o.Instances, aws.ToString(i.InstanceId))
	}
	slices.Sort(o.Instances)
	return o
}

// observeDeep reads the attributes (when the load balancer exists) and the managed security
// group of name in vpc.
func (c *Cloud) observeDeep(ctx context.Context, o *Observed, name, vpc string) error {
	o.Deep = true
	if o.Exists {
		out, err := call(ctx, c.limits, "elb.DescribeLoadBalancerAttributes", func() (*elb.DescribeLoadBalancerAttributesOutput, error) {
			return c.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerName: aws.String(name)})
		})
		if err != nil {
			return err
		}
		o.Attributes = fromAttributes(out.LoadBalancerAttributes)
	}
	// Every rule counts, so one left by an NLB that had the group (prefix lists, groups)
	// is removed too.
	g, err := c.findGroupWith(ctx, securityGroupName(name), vpc, allRules)
	if err != nil {
		return err
	}
	o.ManagedSG = g
	return nil
}

func fromAttributes(a *elbtypes.LoadBalancerAttributes) Attributes {
	var out Attributes
	if a == nil {
		return out
	}
	if l := a.AccessLog; l != nil {
		out.AccessLog = AccessLog{Enabled: l.Enabled, EmitInterval: aws.ToInt32(l.EmitInterval), Bucket: aws.ToString(l.S3BucketName), Prefix: aws.ToString(l.S3BucketPrefix)}
	}
	if d := a.ConnectionDraining; d != nil {
		out.ConnectionDraining = ConnectionDraining{Enabled: d.Enabled, Timeout: aws.ToInt32(d.Timeout)}
	}
	if s := a.ConnectionSettings; s != nil {
		out.IdleTimeout = aws.ToInt32(s.IdleTimeout)
	}
	if z := a.CrossZoneLoadBalancing; z != nil {
		out.CrossZone = z.Enabled
	}
	return out.normalize()
}

// findGroup reads the security group called name in vpc, with its CIDR rules; nil when there
// is none.
func (c *Cloud) findGroup(ctx context.Context, name, vpc string) (*ObservedGroup, error) {
	return c.findGroupWith(ctx, name, vpc, groupRules)
}

// findGroupWith is findGroup with the rules rules reads.
func (c *Cloud) findGroupWith(ctx context.Context, name, vpc string, rules func(ec2types.SecurityGroup) []Rule) (*ObservedGroup, error) {
	out, err := call(ctx, c.limits, "ec2.DescribeSecurityGroups", func() (*ec2.DescribeSecurityGroupsOutput, error) {
		return c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("group-name"), Values: []string{name}},
			{Name: aws.String("vpc-id"), Values: []string{vpc}},
		}})
	})
	if err != nil {
		return nil, err
	}
	if len(out.SecurityGroups) == 0 {
		return nil, nil
	}
	sg := out.SecurityGroups[0]
	g := &ObservedGroup{ID: aws.ToString(sg.GroupId), Tags: ec2TagMap(sg.Tags), Rules: rules(sg)}
	slices.SortFunc(g.Rules, func(a, b Rule) int { return strings.Compare(a.key(), b.key()) })
	return g, nil
}

// groupRules are the CIDR ingress rules of sg, one per source.
func groupRules(sg ec2types.SecurityGroup) []Rule {
	var rules []Rule
	for _, p := range sg.IpPermissions {
		base := Rule{Protocol: strings.ToLower(aws.ToString(p.IpProtocol)), FromPort: aws.ToInt32(p.FromPort), ToPort: aws.ToInt32(p.ToPort)}
		for _, r := range p.IpRanges {
			x := base
			x.CIDR, x.Description = aws.ToString(r.CidrIp), aws.ToString(r.Description)
			rules = append(rules, x)
		}
		for _, r := range p.Ipv6Ranges {
			x := base
			x.CIDR, x.Description = aws.ToString(r.CidrIpv6), aws.ToString(r.Description)
			rules = append(rules, x)
		}
	}
	return rules
}

// allRules are groupRules plus the rules whose source is a security group or a prefix list:
// the NLB path manages those too.
func allRules(sg ec2types.SecurityGroup) []Rule {
	rules := groupRules(sg)
	for _, p := range sg.IpPermissions {
		base := Rule{Protocol: strings.ToLower(aws.ToString(p.IpProtocol)), FromPort: aws.ToInt32(p.FromPort), ToPort: aws.ToInt32(p.ToPort)}
		for _, r := range p.UserIdGroupPairs {
			x := base
			x.Group, x.Description = aws.ToString(r.GroupId), aws.ToString(r.Description)
			rules = append(rules, x)
		}
		for _, r := range p.PrefixListIds {
			x := base
			x.PrefixList, x.Description = aws.ToString(r.PrefixListId), aws.ToString(r.Description)
			rules = append(rules, x)
		}
	}
	slices.SortFunc(rules, func(a, b Rule) int { return strings.Compare(a.key(), b.key()) })
	return rules
}
