package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
	cloudproviderapi "k8s.io/cloud-provider/api"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// portPendingDelay is how long to wait for the health check NodePort to be allocated.
const portPendingDelay = 5 * time.Second

// targetWarmDelay is how soon a listener kept on its old target group is checked again.
const targetWarmDelay = 15 * time.Second

// GetLoadBalancerName returns the load balancer's name: aws-load-balancer-name, else
// upstream's "a<uid>" cut to 32.
func (c *Cloud) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return parsedName(svc)
}

// GetLoadBalancer reports whether the Service's load balancer exists, with one read, or two
// when it is not of the Service's kind (one the guard keeps, loadbalancer_kind.go).
func (c *Cloud) GetLoadBalancer(ctx context.Context, _ string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	cfg, _ := annotations.Parse(svc, annotations.AWS)
	name := nameOf(svc, cfg.AWS)
	kinds := []func(context.Context, string) (*v1.LoadBalancerStatus, bool, error){c.getClassic, c.getNLB}
	if cfg.AWS != nil && cfg.AWS.Type == annotations.AWSTypeNLB {
		kinds[0], kinds[1] = kinds[1], kinds[0]
	}
	for _, get := range kinds {
		if st, ok, err := get(ctx, name); ok || err != nil {
			return st, ok, err
		}
	}
	return nil, false, nil
}

func (c *Cloud) getClassic(ctx context.Context, name string) (*v1.LoadBalancerStatus, bool, error) {
	o, err := c.describe(ctx, name)
	if err != nil || !o.Exists {
		return nil, false, err
	}
	return status(o.DNSName), true, nil
}

func (c *Cloud) getNLB(ctx context.Context, name string) (*v1.LoadBalancerStatus, bool, error) {
	if c.elbv2 == nil {
		return nil, false, nil
	}
	o, err := c.observeNLB(ctx, name)
	if err != nil || o == nil {
		return nil, false, err
	}
	return status(o.dns), true, nil
}

// describe is observe without the tags: one DescribeLoadBalancers.
func (c *Cloud) describe(ctx context.Context, name string) (*Observed, error) {
	return c.observeLB(ctx, name, false)
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
	return c.ensureNLB(ctx, clusterName, svc, nodes, cfg, update, "")
}

// ensureNLB is ensureNLBService; a key keeps the NLB of a Classic Service (ensureKept) and is
// the replacement key it records.
func (c *Cloud) ensureNLB(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, update bool, key string) (*v1.LoadBalancerStatus, error) {
	m, net, err := c.buildNLB(ctx, clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, err
	}
	if key != "" {
		m.Tags[providers.ReplaceKeyTag], m.kindKept = key, true
	} else if st, ok := c.listedNLB(ctx, clusterName, svc, nodes, cfg, m, net.vpc); ok {
		return st, nil // a restart's first sync, and the listed NLB is as the model says
	}
	if update {
		if done, err := c.updateNLBTargets(ctx, m, net.vpc); done || err != nil {
			return nil, err
		}
	}
	m, o, rr, err := c.observeNLBGuarded(ctx, clusterName, svc, nodes, cfg, m, net.vpc)
	if err != nil {
		return nil, fmt.Errorf("ensuring NLB %s: %w", m.Name, err)
	}
	if o.keepClassic {
		return c.ensureKept(ctx, clusterName, svc, nodes, cfg, annotations.AWSTypeCLB, m.Tags[providers.ReplaceKeyTag], update)
	}
	p, err := diffNLB(m, o)
	if err != nil {
		return nil, fmt.Errorf("ensuring NLB %s: %w", m.Name, err)
	}
	dns, err := c.applyNLB(ctx, m, p, net.vpc)
	if err != nil {
		return nil, fmt.Errorf("ensuring NLB %s: %w", m.Name, err)
	}
	if len(p.waiting) > 0 {
		// Checked again soon, not waited for here: a worker is not held for the minutes AWS
		// may take to register and check targets.
		return status(dns), cloudproviderapi.NewRetryError(fmt.Sprintf("NLB %s: %s keep their target groups until the new ones' targets are healthy",
			m.Name, strings.Join(p.waiting, ", ")), targetWarmDelay)
	}
	if rr != nil {
		rr.Status = status(dns)
		return rr.Status, rr
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
	r, err := c.applySteps(ctx, vpc, []string{m.Name}, p.steps)
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
	if _, err := c.applySteps(ctx, vpc, []string{m.Name}, s); err != nil {
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
// An unchanged Service costs DescribeLoadBalancers + DescribeTags and no write; no call at
// all in a restart's first pass, when ctx carries a Listing that shows it unchanged
// (listing.go).
func (c *Cloud) EnsureLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	if err := servedHere(cfg); err != nil {
		return nil, err
	}
	if cfg.AWS.Type == annotations.AWSTypeNLB {
		return c.ensureNLBService(ctx, clusterName, svc, nodes, cfg, false)
	}
	return c.ensureClassic(ctx, clusterName, svc, nodes, cfg, "")
}

// ensureClassic is EnsureLoadBalancerConfigured for a Classic Load Balancer Service; a key
// keeps the Classic Load Balancer of an NLB Service (ensureKept) and is the replacement key
// it records.
func (c *Cloud) ensureClassic(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, key string) (*v1.LoadBalancerStatus, error) {
	m, net, err := c.build(ctx, clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, err
	}
	if key != "" {
		m.Tags[providers.ReplaceKeyTag], m.kindKept = key, true
	} else if st, ok := c.listedClassic(ctx, clusterName, svc, nodes, cfg, m, net.vpc); ok {
		return st, nil // a restart's first sync, and the listed load balancer needs no write
	}
	m, p, rr, err := c.planClassicGuarded(ctx, clusterName, svc, nodes, cfg, m, net.vpc)
	if err != nil {
		return nil, err
	}
	if p.keepNLB {
		return c.ensureKept(ctx, clusterName, svc, nodes, cfg, annotations.AWSTypeNLB, m.Tags[providers.ReplaceKeyTag], false)
	}
	dns, err := c.applyClassic(ctx, m, p, net.vpc)
	if err != nil {
		return nil, err
	}
	if rr != nil {
		rr.Status = status(dns)
		return rr.Status, rr
	}
	return status(dns), nil
}

var _ providers.Planner = (*Cloud)(nil)

// PlanLoadBalancer returns what EnsureLoadBalancerConfigured would write for the Service,
// without writing (providers.Planner): build, observe (reads only), diff. Each write names
// its SDK operation and the step of the plan as the audit trail of the apply would; a write
// to an object the plan creates first names it by its model name. The caches of what the
// last apply left are neither used nor changed.
func (c *Cloud) PlanLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*providers.Plan, error) {
	if err := servedHere(cfg); err != nil {
		return nil, err
	}
	if cfg.AWS.Type == annotations.AWSTypeNLB {
		return c.planNLB(ctx, clusterName, svc, nodes, cfg, "")
	}
	return c.planClassicLB(ctx, clusterName, svc, nodes, cfg, "")
}

// planNLB is PlanLoadBalancer for an NLB Service; key is ensureNLB's.
func (c *Cloud) planNLB(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, key string) (*providers.Plan, error) {
	m, net, err := c.buildNLB(ctx, clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, err
	}
	if key != "" {
		m.Tags[providers.ReplaceKeyTag], m.kindKept = key, true
	}
	m, o, _, err := c.observeNLBGuarded(ctx, clusterName, svc, nodes, cfg, m, net.vpc)
	if err != nil {
		return nil, fmt.Errorf("ensuring NLB %s: %w", m.Name, err)
	}
	if o.keepClassic {
		return c.planKept(ctx, clusterName, svc, nodes, annotations.AWSTypeCLB, m.Tags[providers.ReplaceKeyTag])
	}
	p, err := diffNLB(m, o)
	if err != nil {
		return nil, fmt.Errorf("ensuring NLB %s: %w", m.Name, err)
	}
	return p.steps.plan(m.Service), nil
}

// planClassicLB is PlanLoadBalancer for a Classic Load Balancer Service; key is ensureClassic's.
func (c *Cloud) planClassicLB(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config, key string) (*providers.Plan, error) {
	m, net, err := c.build(ctx, clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, err
	}
	if key != "" {
		m.Tags[providers.ReplaceKeyTag], m.kindKept = key, true
	}
	m, p, _, err := c.planClassicGuarded(ctx, clusterName, svc, nodes, cfg, m, net.vpc)
	if err != nil {
		return nil, err
	}
	if p.keepNLB {
		return c.planKept(ctx, clusterName, svc, nodes, annotations.AWSTypeNLB, m.Tags[providers.ReplaceKeyTag])
	}
	return append(slices.Clone(p.steps), p.nodeSteps...).plan(m.Service), nil
}

// planClassic observes and diffs a Classic Load Balancer Service: the load balancer, then
// its node rules as the load balancer's writes leave the security groups.
func (c *Cloud) planClassic(ctx context.Context, svc *v1.Service, m *Model, cfg *annotations.Config, vpc string) (*classicPlan, error) {
	o, err := c.observeClassic(ctx, svc, m, vpc)
	if err != nil {
		return nil, fmt.Errorf("ensuring load balancer %s: %w", m.Name, err)
	}
	if o.keepNLB {
		return &classicPlan{Plan: &Plan{}, keepNLB: true}, nil
	}
	p, err := diffClassic(m, o)
	if err != nil || p.refused != nil {
		return p, err
	}
	n, err := c.observeClassicNodes(ctx, m.Cluster, vpc, p.source, ruleInstances(cfg.AWS, m.Instances), p.tags)
	if err != nil {
		return nil, fmt.Errorf("ensuring node security group rules for %s: %w", m.Name, err)
	}
	p.diffClassicNodes(m.Name, n, "", fmt.Sprintf("ensuring node security group rules for %s", m.Name))
	p.mergeTagWrites()
	return p, nil
}

// applyClassic applies a Classic plan: the load balancer's writes, then its node rules; the
// cache keeps what each left, for the node-change fast path. It returns the DNS name.
func (c *Cloud) applyClassic(ctx context.Context, m *Model, p *classicPlan, vpc string) (string, error) {
	if p.replaces {
		klog.FromContext(ctx).Info("Replacing AWS load balancer to change its scheme", "service", m.Service, "name", m.Name, "internal", m.Internal)
	}
	if len(p.steps) > 0 {
		c.classic.drop(m.Name) // until apply has succeeded, the cache would be a guess
	}
	if p.retiresNLB {
		c.nlbs.drop(m.Name)
	}
	r := c.newRun(vpc, []string{m.Name})
	if err := r.apply(ctx, p.steps); err != nil {
		return "", err
	}
	tags, err := r.resolveTags(p.tags)
	if err != nil {
		return "", err
	}
	if !p.tagsWithNodes {
		c.classic.put(m.Name, p.instances, tags)
	}
	if err := r.apply(ctx, p.nodeSteps); err != nil {
		return "", err
	}
	if p.tagsWithNodes {
		c.classic.put(m.Name, p.instances, tags) // the spec hash is written now
	}
	if r.nodeRulesHash != "" {
		c.classic.update(m.Name, func(s *classicState) { s.tags[tagNodeRules] = r.nodeRulesHash })
	}
	if len(p.steps) > 0 {
		klog.FromContext(ctx).V(2).Info("Ensured AWS load balancer", "service", m.Service, "name", m.Name, "created", p.Create)
	}
	return cmp.Or(r.dns, p.dns), nil
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
	return c.updateClassic(ctx, clusterName, svc, cfg, nodes, false)
}

// updateClassic is UpdateLoadBalancerConfigured for a Classic Load Balancer Service; kept
// says the Service is an NLB Service whose Classic Load Balancer is kept (ensureKept), else
// the targets of its NLB kept by the guard are updated when it has no Classic one.
func (c *Cloud) updateClassic(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node, kept bool) error {
	t := buildClassicTargets(svc, cfg, nodes, c.settings(clusterName))
	st, cached := c.classic.get(t.Name)
	if !cached {
		o, err := c.observe(ctx, t.Name)
		if err != nil {
			return fmt.Errorf("updating load balancer %s: %w", t.Name, err)
		}
		if !o.Exists && !kept {
			key := classicReplaceKey(cfg.Core.ReplaceToken, cfg.AWS.Internal)
			if keep, err := c.keptNLB(ctx, t.Name, t.Cluster, t.Service, key); keep || err != nil {
				if err == nil {
					_, err = c.ensureKept(ctx, clusterName, svc, nodes, cfg, annotations.AWSTypeNLB, key, true)
				}
				return err
			}
		}
		if err := classicTargetsOwner(t, o); err != nil {
			return err
		}
		c.classic.put(t.Name, o.Instances, o.Tags)
		st = classicState{instances: o.Instances, tags: o.Tags}
	}
	net, err := c.vpcAndSubnets(ctx, t.Cluster)
	if err != nil {
		return fmt.Errorf("updating load balancer %s: %w", t.Name, err)
	}
	n, err := c.observeClassicNodes(ctx, t.Cluster, net.vpc, t.source(st.tags), t.RuleInstances, st.tags)
	if err != nil {
		return fmt.Errorf("updating node security group rules for %s: %w", t.Name, err)
	}
	if err := c.applyRegistration(ctx, t, st.instances, net.vpc); err != nil {
		return err
	}
	var s steps
	s.add(whyNodesChanged, fmt.Sprintf("updating node security group rules for %s", t.Name), classicNodeRuleWrites(groupView{}, t.Name, n)...)
	r, err := c.applySteps(ctx, net.vpc, []string{t.Name}, s)
	if err != nil {
		return err
	}
	if r.nodeRulesHash != "" {
		c.classic.update(t.Name, func(s *classicState) { s.tags[tagNodeRules] = r.nodeRulesHash })
	}
	return nil
}

// applyRegistration makes the load balancer's instances t's, starting from have (cached):
// two rounds at most, the second correcting a stale cache with what the first answered.
func (c *Cloud) applyRegistration(ctx context.Context, t *classicTargets, have []string, vpc string) error {
	for range 2 {
		s := diffRegistration(t.Name, t.Instances, have)
		if len(s) == 0 {
			return nil
		}
		r, err := c.applySteps(ctx, vpc, []string{t.Name}, s)
		if err != nil {
			c.classic.drop(t.Name)
			return err
		}
		c.classic.update(t.Name, func(s *classicState) { s.instances = r.instances })
		have = r.instances
	}
	return nil
}

// status is the Service's ingress: the load balancer's DNS name.
func status(dns string) *v1.LoadBalancerStatus {
	return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{Hostname: dns}}}
}
