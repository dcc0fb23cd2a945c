package aws

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/cloudlb/cloudlb/annotations"
)

// Target groups the NLB's listeners use under other names than the model's: those
// cloud-provider-aws made (k8s-<ns>-<name>-<hash> over other fields than cloudlb's), and
// cloudlb's own after a change of what its name hashes. A compatible one is adopted in place
// (nlbDiff.adopt); an incompatible one keeps serving until its successor's targets are
// healthy (nlbDiff.listeners). Only the Service's own target groups, by their tags
// (ownedTargetGroups), are read: another's is never taken over.

// observeServingGroups reads the Service's target groups that the model's listeners forward
// to, other than those the model names, with their attributes and targets.
func (c *Cloud) observeServingGroups(ctx context.Context, o *nlbObservation, m *NLBModel) error {
	byName := map[string]bool{}
	for _, tg := range o.targetGroups {
		byName[tg.arn] = true
	}
	var arns []string
	for _, l := range m.Listeners {
		cur, ok := o.listeners[l.Port]
		if !ok {
			continue
		}
		for _, arn := range forwardARNs(cur) {
			if !byName[arn] && slices.Contains(o.ownedTargetGroups, arn) && !slices.Contains(arns, arn) {
				arns = append(arns, arn)
			}
		}
	}
	if len(arns) == 0 {
		return nil
	}
	out, err := call(ctx, c.limits, "elbv2.DescribeTargetGroups", func() (*elbv2.DescribeTargetGroupsOutput, error) {
		return c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: arns})
	})
	if errorCode(err) == "TargetGroupNotFound" {
		return nil // deleted meanwhile: the next reconcile sees the listener without it
	}
	if err != nil {
		return err
	}
	o.serving = map[string]*observedTargetGroup{}
	for _, tg := range out.TargetGroups {
		cur, err := c.readTargetGroup(ctx, tg)
		if err != nil {
			return err
		}
		o.serving[cur.arn] = cur
	}
	return nil
}

// forwardARNs are the target groups a listener's default actions forward to, in order.
func forwardARNs(l v2types.Listener) []string {
	var out []string
	for _, a := range l.DefaultActions {
		if arn := aws.ToString(a.TargetGroupArn); arn != "" {
			out = append(out, arn)
		}
		if a.ForwardConfig != nil {
			for _, t := range a.ForwardConfig.TargetGroups {
				if arn := aws.ToString(t.TargetGroupArn); arn != "" && !slices.Contains(out, arn) {
					out = append(out, arn)
				}
			}
		}
	}
	return out
}

// compatible reports whether an existing target group can serve as the model's tg in place:
// what AWS fixes at creation (protocol, port, target type, VPC, IP address type) is the
// same, and so is the health check protocol of a TCP group, which AWS does not let change.
// Its name, health check and attributes may differ: those are repaired in place.
func compatible(have v2types.TargetGroup, tg TargetGroup, vpc string) bool {
	ipType := have.IpAddressType
	return string(have.Protocol) == tg.Protocol && aws.ToInt32(have.Port) == tg.Port &&
		have.TargetType == v2types.TargetTypeEnumInstance && (vpc == "" || aws.ToString(have.VpcId) == vpc) &&
		(ipType == "" || ipType == v2types.TargetGroupIpAddressTypeEnumIpv4) &&
		(have.Protocol != v2types.ProtocolEnumTcp || string(have.HealthCheckProtocol) == tg.HealthCheck.Protocol)
}

// adoptableGroup is the group of lb that serves as its managed group when k8s-elb-<name>
// does not exist: cloud-provider-aws's managed NLB group (k8s-<ns8>-<name8>-<hash>, which
// carries kubernetes.io/cluster/<cluster>=owned and no service-name tag). What makes it ours
// is its tags, never its name: the first of lb's groups (by ID) that is the cluster's, names
// no other Service and is not one the Service lists as its own. nil when there is none.
func (c *Cloud) adoptableGroup(ctx context.Context, m *NLBModel, lb *nlbObserved) (*ObservedGroup, error) {
	var ids []string
	for _, id := range lb.groups {
		if !slices.Contains(m.SecurityGroups, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	groups, err := c.describeGroups(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		// The cluster's backend group (role tag) is every NLB's, never one Service's.
		if g := groups[id]; g != nil && owned(g.Tags, m.Cluster) && g.Tags[tagRole] == "" && ownedBy(g.Tags, m.Service, m.Name) == nil {
			return g, nil
		}
	}
	return nil, nil
}

// observeAdoptedGroups adds to a deletion the groups cloud-provider-aws made for the
// Service's load balancers, which cloudlb adopted and which carry the cluster's tag but no
// service-name tag (so ownedGroups does not find them): those attached to the Service's load
// balancers, as upstream finds them, except the groups the Service lists as its own and the
// cloud config's shared ElbSecurityGroup. Like upstream's, they are found through the load
// balancer: a retry after the load balancer is gone no longer finds them.
func (c *Cloud) observeAdoptedGroups(ctx context.Context, o *deletionObservation, cfg *annotations.AWSConfig) error {
	skip := map[string]bool{c.cfg.Global.ElbSecurityGroup: true}
	for _, g := range o.groups {
		skip[g.ID] = true
	}
	if cfg != nil {
		for _, id := range append(slices.Clone(cfg.SecurityGroups), cfg.ExtraSecurityGroups...) {
			skip[id] = true
		}
	}
	var ids []string
	for _, cand := range o.all() {
		var attached []string
		if o.nlbOurs(cand) {
			attached = cand.nlb.groups
		}
		if cl := cand.classic; cl != nil && cl.Exists && owned(cl.Tags, o.cluster) && ownedBy(cl.Tags, o.service, cand.name) == nil {
			attached = append(attached, cl.SecurityGroups...)
		}
		for _, id := range attached {
			if !skip[id] && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	groups, err := c.describeGroups(ctx, ids)
	if err != nil {
		return fmt.Errorf("looking for the security groups of %s: %w", o.service, err)
	}
	for _, id := range ids {
		g := groups[id]
		if g == nil || !owned(g.Tags, o.cluster) {
			continue
		}
		if _, named := g.Tags[tagServiceName]; named {
			continue // ownedGroups found it if it is the Service's
		}
		if g.Tags[tagRole] != "" {
			continue // the cluster's backend group: observeBackendDeletion decides
		}
		if o.users[id], err = c.referencing(ctx, id); err != nil {
			return fmt.Errorf("deleting security group %s of %s: %w", id, o.service, err)
		}
		o.groups = append(o.groups, g)
	}
	return nil
}
