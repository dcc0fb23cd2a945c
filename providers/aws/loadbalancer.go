package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
	cloudproviderapi "k8s.io/cloud-provider/api"
	"k8s.io/klog/v2"

	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// portPendingDelay is how long to wait for the health check NodePort to be allocated.
const portPendingDelay = 5 * time.Second

// GetLoadBalancerName returns the load balancer's name: aws-load-balancer-name, else
// upstream's "a<uid>" cut to 32.
func (c *Cloud) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return parsedName(svc)
}

// GetLoadBalancer reports whether the Service's load balancer exists, with one read.
func (c *Cloud) GetLoadBalancer(ctx context.Context, _ string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	cfg, _ := annotations.Parse(svc, annotations.AWS)
	name := nameOf(svc, cfg.AWS)
	if cfg.AWS != nil && cfg.AWS.Type == annotations.AWSTypeNLB && c.elbv2 != nil {
		o, err := c.observeNLB(ctx, name)
		if err != nil || o == nil {
			return nil, false, err
		}
		return status(o.dns), true, nil
	}
	o, err := c.describe(ctx, name)
	if err != nil || !o.Exists {
		return nil, false, err
	}
	return status(o.DNSName), true, nil
}

// describe is observe without the tags: one DescribeLoadBalancers.
func (c *Cloud) describe(ctx context.Context, name string) (*Observed, error) {
	return c.observeLB(ctx, name, false)
}

func (c *Cloud) deleteLB(ctx context.Context, name string) error {
	c.classic.drop(name)
	_, err := call(ctx, c.limits, "elb.DeleteLoadBalancer", func() (*elb.DeleteLoadBalancerOutput, error) {
		return c.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: &name})
	})
	return err
}

// config parses the Service's annotations for AWS, for the cloudprovider adapters and plan.
func config(svc *v1.Service) (*annotations.Config, error) {
	cfg, err := providers.Parse(svc, annotations.AWS)
	if err != nil {
		return nil, err
	}
	return cfg, servedHere(cfg)
}

// servedHere steps aside for the types served elsewhere.
func servedHere(cfg *annotations.Config) error {
	if cfg.AWS == nil {
		return fmt.Errorf("the annotations of %s were parsed for cloud %q, not for aws", cfg.Service, cfg.Cloud)
	}
	if cfg.AWS.Type == annotations.AWSTypeExternal {
		return cloudprovider.ImplementedElsewhere
	}
	return nil
}

var _ providers.Configured = (*Cloud)(nil)

// AnnotationCloud is the cloud whose annotations this provider reads (providers.Configured).
func (c *Cloud) AnnotationCloud() annotations.Cloud { return annotations.AWS }

// ensureNLBService is EnsureLoadBalancer for aws-load-balancer-type: nlb: build, observe,
// diff, apply. With update set (a node change), a change of instances alone takes the fast
// path of updateNLBTargets.
func (c *Cloud) ensureNLBService(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, update bool) (*v1.LoadBalancerStatus, error) {
	m, net, err := c.buildNLB(ctx, clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, err
	}
	if update {
		if done, err := c.updateNLBTargets(ctx, m, net.vpc); done || err != nil {
			return nil, err
		}
	}
	o, err := c.observeNLBService(ctx, svc, m, net.vpc)
	if err != nil {
		return nil, fmt.Errorf("ensuring NLB %s: %w", m.Name, err)
	}
	p, err := diffNLB(m, o)
	if err != nil {
		return nil, fmt.Errorf("ensuring NLB %s: %w", m.Name, err)
	}
	dns, err := c.applyNLB(ctx, m, p, net.vpc)
	if err != nil {
		return nil, fmt.Errorf("ensuring NLB %s: %w", m.Name, err)
	}
	return status(dns), nil
}

// buildNLB resolves the network (cached per cluster) and builds the NLB model.
func (c *Cloud) buildNLB(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config) (*NLBModel, *network, error) {
	if c.elbv2 == nil {
		return nil, nil, providers.NewUserError(cfg.Service, "NLB Services need the Elastic Load Balancing v2 client, which this provider was built without")
	}
	settings := c.settings(clusterName)
	net, err := c.vpcAndSubnets(ctx, settings.Cluster)
	if err != nil {
		return nil, nil, err
	}
	m, err := BuildNLB(Input{Service: svc, Nodes: nodes, AWS: cfg.AWS, Core: cfg.Core, Settings: settings, Subnets: net.subnets})
	if errors.Is(err, errPortPending) {
		return nil, nil, cloudproviderapi.NewRetryError(err.Error(), portPendingDelay)
	}
	return m, net, err
}

// applyNLB applies an NLB plan and keeps what it left for the node-change fast path; it
// returns the NLB's DNS name.
func (c *Cloud) applyNLB(ctx context.Context, m *NLBModel, p *nlbPlan, vpc string) (string, error) {
	if p.upToDate {
		c.nlbs.put(m.Name, nlbState{arn: p.lb.id, dns: p.dns, tags: p.tags, instances: m.Instances})
		return p.dns, nil
	}
	for _, id := range p.left {
		klog.FromContext(ctx).Info("Leaving a security group that is not ours", "service", m.Service, "group", id)
	}
	c.nlbs.drop(m.Name) // until the whole plan is applied
	if p.retiresClassic {
		c.classic.drop(m.Name)
	}
	r, err := c.applySteps(ctx, vpc, p.steps)
	if err != nil {
		return "", err
	}
	st := nlbState{dns: cmp.Or(p.dns, r.dns), tags: p.tags, instances: m.Instances, targetGroups: map[string]string{}}
	if st.arn, err = r.resolve(p.lb); err != nil {
		return "", err
	}
	for name, tg := range p.targetGroups {
		if st.targetGroups[name], err = r.resolve(tg); err != nil {
			return "", err
		}
	}
	c.nlbs.put(m.Name, st)
	return st.dns, nil
}

// updateNLBTargets is UpdateLoadBalancer's fast path for an NLB: when the state the last
// apply left (the cache) can stand for the cloud (nlbTargetsUsable) and the instances'
// security groups are the ones holding the NLB's node rules, it registers and deregisters
// targets in each target group and writes the new spec hash: one call per target group and
// change, plus the tag (diffNLBTargets). It returns false, having written nothing, when the
// full reconcile is needed.
func (c *Cloud) updateNLBTargets(ctx context.Context, m *NLBModel, vpc string) (bool, error) {
	st, ok := c.nlbs.get(m.Name)
	if !ok || !nlbTargetsUsable(m, st) {
		return false, nil
	}
	o, err := c.observeNLBTargets(ctx, m, st, vpc)
	if err != nil {
		return true, fmt.Errorf("updating NLB %s targets: %w", m.Name, err)
	}
	s, ok := diffNLBTargets(m, o)
	if !ok || len(s) == 0 {
		return ok, nil
	}
	c.nlbs.drop(m.Name) // until every write has succeeded
	if _, err := c.applySteps(ctx, vpc, s); err != nil {
		return true, err
	}
	st.tags[tagSpecHash], st.instances = m.Hash(), slices.Clone(m.Instances)
	c.nlbs.put(m.Name, st)
	return true, nil
}

// EnsureLoadBalancer parses the Service's annotations and calls EnsureLoadBalancerConfigured.
func (c *Cloud) EnsureLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	cfg, err := providers.Parse(svc, annotations.AWS)
	if err != nil {
		return nil, err
	}
	return c.EnsureLoadBalancerConfigured(ctx, clusterName, svc, cfg, nodes)
}

// EnsureLoadBalancerConfigured creates or updates the Service's Classic Load Balancer or NLB.
// An unchanged Service costs DescribeLoadBalancers + DescribeTags and no write.
func (c *Cloud) EnsureLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	if err := servedHere(cfg); err != nil {
		return nil, err
	}
	if cfg.AWS.Type == annotations.AWSTypeNLB {
		return c.ensureNLBService(ctx, clusterName, svc, nodes, cfg, false)
	}
	m, net, err := c.build(ctx, clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, err
	}
	o, err := c.observe(ctx, m.Name)
	if err != nil {
		return nil, fmt.Errorf("ensuring load balancer %s: %w", m.Name, err)
	}
	if !o.Exists {
		if err := c.checkRenamed(ctx, svc, m.Cluster, m.Name); err != nil {
			return nil, err
		}
	}
	if o.Exists && owned(o.Tags, m.Cluster) && ownedBy(o.Tags, m.Service, m.Name) == nil && o.Internal != m.Internal {
		// The scheme cannot change in place, and the name is fixed by the Service UID, so
		// the replacement is delete then create: the Service has no load balancer in between.
		// The managed security group is kept and reused.
		klog.FromContext(ctx).Info("Replacing AWS load balancer to change its scheme", "service", m.Service, "name", m.Name, "internal", m.Internal)
		if err := c.deleteLB(providers.WithReason(ctx, "replacing the load balancer: its scheme (internal or internet-facing) is fixed at creation"), m.Name); err != nil {
			return nil, fmt.Errorf("replacing load balancer %s: %w", m.Name, err)
		}
		o = &Observed{}
	}
	if needsDeep(m, o) {
		if err := c.observeDeep(ctx, o, m.Name, net.vpc); err != nil {
			return nil, fmt.Errorf("ensuring load balancer %s: %w", m.Name, err)
		}
	}
	p, err := Diff(m, o)
	if err != nil {
		return nil, err
	}
	source := sourceGroup(m.SecurityGroups)
	if m.ManagedSecurityGroup != nil {
		source = p.GroupID // known unless the group is created below
	}
	if !p.Writes() {
		c.classic.put(m.Name, o.Instances, o.Tags)
		if err := c.ensureNodeRules(ctx, m.Name, m.Cluster, net.vpc, source, ruleInstances(cfg.AWS, m.Instances), o.Tags); err != nil {
			return nil, fmt.Errorf("ensuring node security group rules for %s: %w", m.Name, err)
		}
		return status(o.DNSName), nil
	}
	var retireNLB func() error
	if o.Deep && c.elbv2 != nil {
		// A type change from NLB: once the Classic Load Balancer is in place the NLB goes,
		// before the spec hash is written, so a failure here is retried.
		retireNLB = func() error {
			old, err := c.observeNLB(ctx, m.Name)
			if err != nil || old == nil || !owned(old.tags, m.Cluster) || ownedBy(old.tags, m.Service, m.Name) != nil {
				return err
			}
			// The Classic annotations cannot ask for deletion protection.
			return c.retireNLB(providers.WithReason(ctx, "the Service's load balancer type changed to Classic"), old, false, m.Cluster, net.vpc)
		}
	}
	c.classic.drop(m.Name) // until apply has succeeded, the cache would be a guess
	why := "the load balancer differs from the Service"
	if p.Create {
		why = "the Service has no load balancer yet"
	}
	dns, err := c.apply(providers.WithReason(ctx, why), m, p, net.vpc, retireNLB)
	if err != nil {
		return nil, fmt.Errorf("ensuring load balancer %s: %w", m.Name, err)
	}
	if m.ManagedSecurityGroup != nil {
		source = p.GroupID
	}
	tags := appliedTags(o.Tags, m, p)
	c.classic.put(m.Name, m.Instances, tags)
	if err := c.ensureNodeRules(ctx, m.Name, m.Cluster, net.vpc, source, ruleInstances(cfg.AWS, m.Instances), tags); err != nil {
		return nil, fmt.Errorf("ensuring node security group rules for %s: %w", m.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Ensured AWS load balancer", "service", m.Service, "name", m.Name, "created", p.Create)
	if dns == "" {
		dns = o.DNSName
	}
	return status(dns), nil
}

// build resolves the network (cached per cluster) and builds the model.
func (c *Cloud) build(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config) (*Model, *network, error) {
	in := Input{Service: svc, Nodes: nodes, AWS: cfg.AWS, Core: cfg.Core, Settings: c.settings(clusterName)}
	// The VPC is needed for the managed group anyway; the subnets come with it from the cache.
	net, err := c.vpcAndSubnets(ctx, in.Settings.Cluster)
	if err != nil {
		return nil, nil, err
	}
	in.Subnets = net.subnets
	m, err := Build(in)
	if errors.Is(err, errPortPending) {
		return nil, nil, cloudproviderapi.NewRetryError(err.Error(), portPendingDelay)
	}
	return m, net, err
}

// UpdateLoadBalancer parses the Service's annotations and calls UpdateLoadBalancerConfigured.
func (c *Cloud) UpdateLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) error {
	cfg, err := providers.Parse(svc, annotations.AWS)
	if err != nil {
		return err
	}
	return c.UpdateLoadBalancerConfigured(ctx, clusterName, svc, cfg, nodes)
}

// UpdateLoadBalancerConfigured registers and deregisters instances only. It starts from what the last
// sync of this load balancer left (cached), so a node change costs one Register or
// Deregister call per Service plus shared lookups; without a cached state it reads the load
// balancer and its tags first. RegisterInstancesWithLoadBalancer answers with every instance
// registered, so a cache gone stale is corrected by a second call.
func (c *Cloud) UpdateLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) error {
	if err := servedHere(cfg); err != nil {
		return err
	}
	if cfg.AWS.Type == annotations.AWSTypeNLB {
		// Targets are part of the NLB's spec hash: a full Ensure updates exactly them.
		_, err := c.ensureNLBService(ctx, clusterName, svc, nodes, cfg, true)
		return err
	}
	name, cluster := nameOf(svc, cfg.AWS), c.cluster(clusterName)
	st, ok := c.classic.get(name)
	if !ok {
		o, err := c.observe(ctx, name)
		if err != nil {
			return fmt.Errorf("updating load balancer %s: %w", name, err)
		}
		if !o.Exists {
			return fmt.Errorf("updating load balancer %s: not found (EnsureLoadBalancer creates it)", name)
		}
		if !owned(o.Tags, cluster) {
			return providers.NewUserError(cfg.Service, "load balancer %s exists without the tag %s=%s; it is not ours and is left untouched", name, clusterTag(cluster), tagOwned)
		}
		if err := ownedBy(o.Tags, cfg.Service, name); err != nil {
			return err
		}
		c.classic.put(name, o.Instances, o.Tags)
		st = classicState{instances: o.Instances, tags: o.Tags}
	}
	ctx = providers.WithReason(ctx, "the Service's eligible nodes changed")
	instances := buildInstances(nodes, cfg.AWS.TargetNodeLabels)
	add, remove := setDiff(instances, st.instances)
	// Two rounds at most: the second corrects a stale cache with what the first reported.
	for range 2 {
		now, err := c.registerInstances(ctx, name, add, remove)
		if err != nil {
			return fmt.Errorf("updating load balancer %s: %w", name, err)
		}
		if now == nil {
			break
		}
		if add, remove = setDiff(instances, now); len(add)+len(remove) == 0 {
			break
		}
	}
	source := st.tags[tagSecurityGroup]
	if len(cfg.AWS.SecurityGroups) > 0 {
		source = sourceGroup(cfg.AWS.SecurityGroups)
	} else if c.cfg.Global.ElbSecurityGroup != "" {
		source = c.cfg.Global.ElbSecurityGroup
	}
	net, err := c.vpcAndSubnets(ctx, cluster)
	if err != nil {
		return fmt.Errorf("updating load balancer %s: %w", name, err)
	}
	if err := c.ensureNodeRules(ctx, name, cluster, net.vpc, source, ruleInstances(cfg.AWS, instances), st.tags); err != nil {
		return fmt.Errorf("updating node security group rules for %s: %w", name, err)
	}
	return nil
}

// status is the Service's ingress: the load balancer's DNS name.
func status(dns string) *v1.LoadBalancerStatus {
	return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{Hostname: dns}}}
}
