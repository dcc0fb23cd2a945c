package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// EnsureLoadBalancerDeleted deletes everything of the Service's in dependency order, so that
// a retry after any failure still finds what is left: each NLB's rules in the node security
// groups, the NLB, the Classic Load Balancer, then the target groups and the managed security
// groups found by their tags (not through a load balancer that may be gone already). Load
// balancers are looked for under the names the Service may have used (candidateNames), and
// through the tags of the region's load balancers when none is found although the status shows
// an address. It returns nil only once nothing of the Service is left. Resources without our
// cluster tag are never deleted.
func (c *Cloud) EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, svc *v1.Service) error {
	cfg, _ := annotations.Parse(svc, annotations.AWS)
	if cfg.AWS != nil && cfg.AWS.Type == annotations.AWSTypeExternal {
		return cloudprovider.ImplementedElsewhere
	}
	// Deletion protection asked for by the annotations holds; once dropped from them (a
	// Service being deleted can still be edited) it is turned off here.
	unprotect := cfg.AWS == nil || cfg.AWS.LBAttributes[attrDeletionProtection] != "true"
	isNLB := cfg.AWS != nil && cfg.AWS.Type == annotations.AWSTypeNLB
	ctx = providers.WithReason(ctx, providers.ReasonDeleting)
	cluster, service := c.cluster(clusterName), serviceName(svc)
	net, err := c.vpcAndSubnets(ctx, cluster)
	if err != nil {
		return fmt.Errorf("deleting the load balancer of %s: %w", service, err)
	}
	var nlbArns []string
	found := false
	for i, name := range candidateNames(svc, cfg.AWS) {
		arn, err := c.deleteOwnedNLB(ctx, svc, name, cluster, net.vpc, unprotect, i == 0, isNLB)
		if err != nil {
			return fmt.Errorf("deleting NLB %s: %w", name, err)
		}
		if arn != "" {
			nlbArns, found = append(nlbArns, arn), true
		}
		gone, _, err := c.deleteClassicLB(ctx, svc, name, cluster, i == 0)
		if err != nil {
			return err
		}
		found = found || gone
	}
	if !found && hasIngress(svc) {
		others, err := c.findOwned(ctx, cluster, service)
		if err != nil {
			return fmt.Errorf("looking for the load balancers of %s: %w", service, err)
		}
		for _, o := range others {
			if o.arn != "" {
				if _, err := c.deleteOwnedNLB(ctx, svc, o.name, cluster, net.vpc, unprotect, false, true); err != nil {
					return fmt.Errorf("deleting NLB %s: %w", o.name, err)
				}
				nlbArns = append(nlbArns, o.arn)
				continue
			}
			if _, _, err := c.deleteClassicLB(ctx, svc, o.name, cluster, false); err != nil {
				return err
			}
		}
	}
	if c.elbv2 != nil {
		tgs, err := c.ownedTargetGroups(ctx, cluster, service, net.vpc, nlbArns)
		if err != nil {
			return fmt.Errorf("looking for the target groups of %s: %w", service, err)
		}
		if err := c.deleteTargetGroups(ctx, tgs); err != nil {
			return err
		}
	}
	groups, err := c.ownedGroups(ctx, cluster, service, net.vpc)
	if err != nil {
		return fmt.Errorf("looking for the security groups of %s: %w", service, err)
	}
	for _, g := range groups {
		// Node groups that let it in must forget it first, or the delete never succeeds.
		if err := c.revokeAllFrom(ctx, g.ID); err != nil {
			return fmt.Errorf("deleting security group %s of %s: %w", g.ID, service, err)
		}
		if err := c.deleteGroup(ctx, g.ID); err != nil {
			return fmt.Errorf("deleting security group %s of %s: %w", g.ID, service, err)
		}
	}
	return nil
}

// deleteOwnedNLB deletes the NLB called name if it is the Service's, with its node rules, and
// returns its ARN ("" when there was none of the Service's). primary says name is the one the
// annotations give: an NLB there without our cluster tag is a user error; under the other
// candidate name it is simply not ours. isNLB says the Service is (or was) of the NLB type,
// so that rules of an NLB already gone are looked for too.
func (c *Cloud) deleteOwnedNLB(ctx context.Context, svc *v1.Service, name, cluster, vpc string, unprotect, primary, isNLB bool) (string, error) {
	if c.elbv2 == nil {
		return "", nil
	}
	o, err := c.observeNLB(ctx, name)
	if err != nil {
		return "", err
	}
	if o == nil {
		if !isNLB {
			return "", nil
		}
		// Gone already (removed by hand, or by an earlier attempt that failed after): its
		// rules in the node groups are still found by the name in their descriptions.
		return "", c.revokeNLBNodeRules(ctx, &nlbObserved{name: name}, vpc)
	}
	if !owned(o.tags, cluster) {
		if !primary {
			return "", nil
		}
		return "", providers.NewUserError(serviceName(svc), "NLB %s exists without the tag %s=%s; it is not ours and is not deleted", name, clusterTag(cluster), tagOwned)
	}
	if ownedBy(o.tags, serviceName(svc), name) != nil {
		// Another Service's NLB of that name (an NLB and a Classic Load Balancer may share
		// one): not ours to delete.
		return "", nil
	}
	if err := c.deleteNLBWithRules(ctx, o, unprotect, vpc); err != nil {
		return "", err
	}
	return o.arn, nil
}

// deleteClassicLB deletes the Classic Load Balancer called name if it is the Service's and
// says whether it did; other says one exists that is another Service's (possible with
// aws-load-balancer-name). One of that name without our cluster tag is a user error when
// primary (the name the annotations give), else left alone.
func (c *Cloud) deleteClassicLB(ctx context.Context, svc *v1.Service, name, cluster string, primary bool) (deleted, other bool, err error) {
	o, err := c.observe(ctx, name)
	if err != nil {
		return false, false, fmt.Errorf("deleting load balancer %s: %w", name, err)
	}
	if !o.Exists {
		return false, false, nil
	}
	if ownedBy(o.Tags, serviceName(svc), name) != nil {
		return false, true, nil
	}
	if !owned(o.Tags, cluster) {
		if !primary {
			return false, false, nil
		}
		return false, false, providers.NewUserError(serviceName(svc), "load balancer %s exists without the tag %s=%s; it is not ours and is not deleted", name, clusterTag(cluster), tagOwned)
	}
	if err := c.deleteLB(ctx, name); err != nil {
		return false, false, fmt.Errorf("deleting load balancer %s: %w", name, err)
	}
	return true, false, nil
}

// deleteNLBWithRules removes the NLB's rules from the node security groups, then deletes the NLB.
// The rules go first because only the NLB's name (in their descriptions) and its tag of node
// groups lead to them; its target groups are found by their tags afterwards (see
// EnsureLoadBalancerDeleted and retireNLB). With unprotect, deletion protection (on when AWS
// refuses with OperationNotPermitted) is turned off first; without, that refusal is a user
// error.
func (c *Cloud) deleteNLBWithRules(ctx context.Context, o *nlbObserved, unprotect bool, vpc string) error {
	c.nlbs.drop(o.name)
	if err := c.revokeNLBNodeRules(ctx, o, vpc); err != nil {
		return err
	}
	return c.deleteNLBOnly(ctx, o, unprotect)
}

// revokeAllFrom removes every ingress rule, whatever its protocol and ports, that lets
// source in, before source is deleted.
func (c *Cloud) revokeAllFrom(ctx context.Context, source string) error {
	out, err := call(ctx, c.limits, "ec2.DescribeSecurityGroups", func() (*ec2.DescribeSecurityGroupsOutput, error) {
		return c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("ip-permission.group-id"), Values: []string{source}},
		}})
	})
	if err != nil {
		return err
	}
	for _, g := range out.SecurityGroups {
		var perms []ec2types.IpPermission
		for _, p := range g.IpPermissions {
			if slices.ContainsFunc(p.UserIdGroupPairs, func(u ec2types.UserIdGroupPair) bool { return aws.ToString(u.GroupId) == source }) {
				perms = append(perms, ec2types.IpPermission{IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort,
					UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(source)}}})
			}
		}
		if len(perms) == 0 {
			continue
		}
		_, err := call(ctx, c.limits, "ec2.RevokeSecurityGroupIngress", func() (*ec2.RevokeSecurityGroupIngressOutput, error) {
			return c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: perms})
		})
		if err != nil && errorCode(err) != "InvalidPermission.NotFound" {
			return err
		}
	}
	return nil
}

// revokeNLBNodeRules removes the NLB's client and health rules from the groups its tag
// lists and from the groups of the VPC's instances: the tag alone misses a group after a
// failure between a rule write and the tag write, or when the tag overflowed.
func (c *Cloud) revokeNLBNodeRules(ctx context.Context, o *nlbObserved, vpc string) error {
	if c.cfg.Global.DisableSecurityGroupIngress {
		return nil
	}
	all := taggedGroups(o.tags)
	vpcGroups, err := c.vpcInstanceGroups(ctx, vpc)
	if err != nil {
		return err
	}
	maps.Copy(all, vpcGroups)
	return c.planNodeRules(ctx, all, o.name, func(string) []Rule { return nil })
}

// planNodeRules reads the groups ids (those that still exist) and makes name's rules in each
// equal to want(id), with the shared MTU rules following (nodeRulePlan).
func (c *Cloud) planNodeRules(ctx context.Context, ids map[string]bool, name string, want func(id string) []Rule) error {
	if len(ids) == 0 {
		return nil
	}
	groups, err := c.describeGroups(ctx, slices.Sorted(maps.Keys(ids)))
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(groups)) {
		add, remove := nodeRulePlan(groups[id].Rules, want(id), name)
		if err := c.authorize(ctx, id, add); err != nil {
			return err
		}
		if err := c.revoke(ctx, id, remove); err != nil {
			return err
		}
	}
	return nil
}
