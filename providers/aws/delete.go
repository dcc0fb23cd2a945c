package aws

import (
	"context"
	"fmt"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
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
	if err := c.deleteNLB(ctx, o, unprotect, vpc); err != nil {
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
