package awscontract_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/integration/contract"
)

// The suite reads the cloud through the same public APIs on either endpoint, with its own
// SDK clients (no retries): those calls are counted by the fake too, so the tests that count
// the controller's calls read the cloud only after taking their count.

const serviceNameTag = "kubernetes.io/service-name"

// classicLB is a Classic ELB as the API returns it.
type classicLB struct {
	desc  elbtypes.LoadBalancerDescription
	attrs *elbtypes.LoadBalancerAttributes
	tags  map[string]string
}

// classicOf finds the Classic ELB tagged for ns/name by its kubernetes.io/service-name tag.
func classicOf(ctx context.Context, service string) (*classicLB, error) {
	out, err := shared.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil {
		return nil, err
	}
	for _, d := range out.LoadBalancerDescriptions {
		tg, err := shared.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: []string{aws.ToString(d.LoadBalancerName)}})
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		tags := map[string]string{}
		for _, td := range tg.TagDescriptions {
			for _, t := range td.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
		if tags[serviceNameTag] != service {
			continue
		}
		a, err := shared.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerName: d.LoadBalancerName})
		if err != nil {
			return nil, err
		}
		return &classicLB{desc: d, attrs: a.LoadBalancerAttributes, tags: tags}, nil
	}
	return nil, nil
}

// networkLB is an NLB with its listeners, target groups and their attributes and targets.
type networkLB struct {
	lb        elbv2types.LoadBalancer
	attrs     map[string]string
	tags      map[string]string
	listeners []elbv2types.Listener
	groups    []targetGroup
}

type targetGroup struct {
	tg      elbv2types.TargetGroup
	attrs   map[string]string
	targets []string // instance IDs
}

func v2Tags(ctx context.Context, arns ...string) (map[string]map[string]string, error) {
	out, err := shared.elb2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns})
	if err != nil {
		return nil, err
	}
	m := map[string]map[string]string{}
	for _, td := range out.TagDescriptions {
		tags := map[string]string{}
		for _, t := range td.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		m[aws.ToString(td.ResourceArn)] = tags
	}
	return m, nil
}

// nlbOf finds the NLB tagged for ns/name.
func nlbOf(ctx context.Context, service string) (*networkLB, error) {
	out, err := shared.elb2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		return nil, err
	}
	for _, lb := range out.LoadBalancers {
		arn := aws.ToString(lb.LoadBalancerArn)
		tags, err := v2Tags(ctx, arn)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		if tags[arn][serviceNameTag] != service {
			continue
		}
		n := &networkLB{lb: lb, tags: tags[arn], attrs: map[string]string{}}
		a, err := shared.elb2.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: &arn})
		if err != nil {
			return nil, err
		}
		for _, kv := range a.Attributes {
			n.attrs[aws.ToString(kv.Key)] = aws.ToString(kv.Value)
		}
		ls, err := shared.elb2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: &arn})
		if err != nil {
			return nil, err
		}
		n.listeners = ls.Listeners
		slices.SortFunc(n.listeners, func(a, b elbv2types.Listener) int { return int(aws.ToInt32(a.Port) - aws.ToInt32(b.Port)) })
		tgs, err := shared.elb2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: &arn})
		if err != nil {
			return nil, err
		}
		for _, tg := range tgs.TargetGroups {
			g := targetGroup{tg: tg, attrs: map[string]string{}}
			ta, err := shared.elb2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
			if err != nil {
				return nil, err
			}
			for _, kv := range ta.Attributes {
				g.attrs[aws.ToString(kv.Key)] = aws.ToString(kv.Value)
			}
			th, err := shared.elb2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
			if err != nil {
				return nil, err
			}
			for _, d := range th.TargetHealthDescriptions {
				g.targets = append(g.targets, aws.ToString(d.Target.Id))
			}
			slices.Sort(g.targets)
			n.groups = append(n.groups, g)
		}
		slices.SortFunc(n.groups, func(a, b targetGroup) int { return int(aws.ToInt32(a.tg.Port) - aws.ToInt32(b.tg.Port)) })
		return n, nil
	}
	return nil, nil
}

// classicIs checks the Classic ELB of the Service.
func classicIs(ok func(*classicLB) error) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		lb, err := classicOf(t.Context(), contract.Key(svc))
		switch {
		case err != nil:
			return err
		case lb == nil:
			return fmt.Errorf("no Classic ELB tagged %s", contract.Key(svc))
		}
		return ok(lb)
	}
}

// nlbIs checks the NLB of the Service once it has its listeners and target groups (a read
// may catch one half-created).
func nlbIs(ok func(*networkLB) error) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		lb, err := nlbOf(t.Context(), contract.Key(svc))
		switch {
		case err != nil:
			return err
		case lb == nil:
			return fmt.Errorf("no NLB tagged %s", contract.Key(svc))
		case len(lb.listeners) == 0 || len(lb.groups) == 0:
			return fmt.Errorf("%d listeners, %d target groups: not complete yet", len(lb.listeners), len(lb.groups))
		}
		return ok(lb)
	}
}

// waitNLB waits until nlbIs(ok) holds for the Service and returns the NLB.
func waitNLB(tn *contract.Tenant, svc *v1.Service, ok func(*networkLB) error) *networkLB {
	tn.T.Helper()
	var got *networkLB
	tn.WaitCheck(svc.Name, "the NLB", nlbIs(func(lb *networkLB) error { got = lb; return ok(lb) }))
	return got
}

// registered is the sorted instance IDs of a Classic ELB.
func (lb *classicLB) registered() []string {
	var ids []string
	for _, i := range lb.desc.Instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	slices.Sort(ids)
	return ids
}

// instanceIDs is the sorted IDs of the named instances of the network.
func instanceIDs(names ...string) []string {
	var ids []string
	for _, in := range shared.net.instances {
		if slices.Contains(names, in.name) {
			ids = append(ids, in.id)
		}
	}
	slices.Sort(ids)
	return ids
}
