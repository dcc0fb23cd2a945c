package aws

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// EnsureLoadBalancerDeleted deletes everything of the Service's: observe what it owns,
// diff against nothing (diffDeletion), apply. Load balancers are looked for under the names
// the Service may have used (candidateNames), and through the tags of the region's load
// balancers when none is found although the status shows an address; target groups and
// managed security groups by their tags (not through a load balancer that may be gone
// already). It returns nil only once nothing of the Service is left. Resources without our
// cluster tag are never deleted.
func (c *Cloud) EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, svc *v1.Service) error {
	cfg, _ := annotations.Parse(svc, annotations.AWS)
	if cfg.AWS != nil && cfg.AWS.Type == annotations.AWSTypeExternal {
		return cloudprovider.ImplementedElsewhere
	}
	ctx = providers.WithReason(ctx, providers.ReasonDeleting)
	cluster, service := c.cluster(clusterName), serviceName(svc)
	net, err := c.vpcAndSubnets(ctx, cluster)
	if err != nil {
		return fmt.Errorf("deleting the load balancer of %s: %w", service, err)
	}
	o, err := c.observeDeletion(ctx, svc, cfg.AWS, cluster, net.vpc)
	if err != nil {
		return err
	}
	s, err := diffDeletion(o)
	if err != nil {
		return err
	}
	var names []string
	for _, cand := range o.all() {
		c.nlbs.drop(cand.name)
		c.classic.drop(cand.name)
		names = append(names, cand.name)
	}
	_, err = c.applySteps(ctx, net.vpc, names, s)
	return err
}
