package azure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	cloudproviderapi "k8s.io/cloud-provider/api"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// pendingDelay is how long to wait for something Kubernetes or Azure has not allocated yet
// (a nodePort, a frontend address).
const pendingDelay = 5 * time.Second

// GetLoadBalancerName returns the Service's prefix "a<uid>", the name of its frontend.
func (c *Cloud) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return ServicePrefix(svc)
}

// config parses the Service's annotations for Azure and refuses what cloudlb cannot serve.
func config(svc *v1.Service) (*annotations.Config, error) {
	cfg, err := providers.Parse(svc, annotations.Azure)
	if err != nil {
		return nil, err
	}
	return cfg, servedHere(svc, cfg)
}

// servedHere refuses what cloudlb does not serve on Azure.
func servedHere(svc *v1.Service, cfg *annotations.Config) error {
	if cfg.Azure == nil {
		return fmt.Errorf("the annotations of %s were parsed for cloud %q, not for azure", cfg.Service, cfg.Cloud)
	}
	if !slices.Contains(svc.Spec.IPFamilies, v1.IPv4Protocol) && len(svc.Spec.IPFamilies) > 0 {
		return providers.NewUserError(cfg.Service, "IPv6-only Services are not supported yet by cloudlb on Azure; use IPv4 or dual-stack (which gets an IPv4 and an IPv6 frontend)")
	}
	return nil
}

var _ providers.Configured = (*Cloud)(nil)

// AnnotationCloud is the cloud whose annotations this provider reads (providers.Configured).
func (c *Cloud) AnnotationCloud() annotations.Cloud { return annotations.Azure }

// build makes the model; a port not allocated yet becomes a retry after pendingDelay.
func (c *Cloud) build(clusterName string, svc *v1.Service, nodes []*v1.Node, cfg *annotations.Config) (*Model, error) {
	m, err := Build(Input{Service: svc, Nodes: nodes, Azure: cfg.Azure, Settings: c.cfg.settings(clusterName)})
	if errors.Is(err, errPortPending) {
		return nil, cloudproviderapi.NewRetryError(err.Error(), pendingDelay)
	}
	return m, err
}

// EnsureLoadBalancer parses the annotations and calls EnsureLoadBalancerConfigured, which puts the Service on the cluster's (internal) load balancer, creating
// its public IP and NSG rules. An unchanged Service reads the public IP, the load balancer
// and the NSG, and writes nothing.
func (c *Cloud) EnsureLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	cfg, err := providers.Parse(svc, annotations.Azure)
	if err != nil {
		return nil, err
	}
	return c.EnsureLoadBalancerConfigured(ctx, clusterName, svc, cfg, nodes)
}

// EnsureLoadBalancerConfigured is EnsureLoadBalancer with the annotations parsed.
func (c *Cloud) EnsureLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	if _, ok := providers.ReasonOf(ctx); !ok {
		ctx = providers.WithReason(ctx, "the Service's load balancer parts differ from the Service")
	}
	if err := servedHere(svc, cfg); err != nil {
		return nil, err
	}
	if l := providers.ListingFrom(ctx); l != nil {
		if st, ok := c.ensureListed(ctx, l, clusterName, svc, cfg, nodes); ok {
			return st, nil
		}
	}
	m, err := c.build(clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, err
	}
	r := c.newReconcile(svc.UID, m, cfg.Azure, false)
	key := replaceKey(cfg.Core.ReplaceToken, cfg.Azure)
	d, err := r.guard(ctx, c.cfg.settings(clusterName), key)
	if err != nil {
		return nil, fmt.Errorf("reading where %s is: %w", serviceName(svc), err)
	}
	if d.kept != nil {
		kcfg := *cfg
		kcfg.Azure = d.kept
		if r.m, err = c.build(clusterName, svc, nodes, &kcfg); err != nil {
			return nil, err
		}
		r.az, r.kept = d.kept, d.kept
	}
	withReplaceKey(r.m, key)
	st, err := r.ensure(ctx)
	if err != nil || d.kept == nil {
		return st, err
	}
	return st, refusal(r.m, d, st)
}

// pipResourceGroups are where the Service's public IPs may be: the annotation's resource
// group and the cluster's. az may be nil (annotations unreadable on deletion).
func (c *Cloud) pipResourceGroups(az *annotations.AzureConfig) []string {
	rgs := []string{c.cfg.ResourceGroup}
	if az != nil && az.PIPResourceGroup != "" && !strings.EqualFold(az.PIPResourceGroup, c.cfg.ResourceGroup) {
		rgs = append([]string{az.PIPResourceGroup}, rgs...)
	}
	return rgs
}

// frontendPrivateIP is the private address of the named frontend.
func frontendPrivateIP(lb *armnetwork.LoadBalancer, name string) string {
	if f := findFrontend(lb, name); f != nil && f.Properties != nil {
		return sval(f.Properties.PrivateIPAddress)
	}
	return ""
}

func findFrontend(lb *armnetwork.LoadBalancer, name string) *armnetwork.FrontendIPConfiguration {
	if lb == nil || lb.Properties == nil {
		return nil
	}
	for _, f := range lb.Properties.FrontendIPConfigurations {
		if strings.EqualFold(sval(f.Name), name) {
			return f
		}
	}
	return nil
}

// status is the Service's ingress: the frontends' addresses, then the additional public IPs.
func status(ips []string, additional []string) *v1.LoadBalancerStatus {
	st := &v1.LoadBalancerStatus{}
	for _, ip := range ips {
		st.Ingress = append(st.Ingress, v1.LoadBalancerIngress{IP: ip})
	}
	for _, a := range additional {
		if !slices.Contains(ips, a) {
			st.Ingress = append(st.Ingress, v1.LoadBalancerIngress{IP: a})
		}
	}
	return st
}

// UpdateLoadBalancer parses the annotations and calls UpdateLoadBalancerConfigured, which brings the cluster pool of the Service's load balancer to the node
// set: one read, and one write only if no other Service's update did it already. NSG rules
// that list node addresses (floating IP disabled) follow.
func (c *Cloud) UpdateLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) error {
	cfg, err := providers.Parse(svc, annotations.Azure)
	if err != nil {
		return err
	}
	return c.UpdateLoadBalancerConfigured(ctx, clusterName, svc, cfg, nodes)
}

// UpdateLoadBalancerConfigured is UpdateLoadBalancer with the annotations parsed.
func (c *Cloud) UpdateLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) error {
	ctx = providers.WithReason(ctx, "the Service's eligible nodes changed")
	if err := servedHere(svc, cfg); err != nil {
		return err
	}
	if p, ok := c.placement(svc.UID); ok && p.kept != nil {
		kcfg := *cfg
		kcfg.Azure = p.kept
		cfg = &kcfg
	}
	m, err := c.build(clusterName, svc, nodes, cfg)
	if err != nil {
		return err
	}
	return c.newReconcile(svc.UID, m, cfg.Azure, false).updateNodes(ctx)
}

// EnsureLoadBalancerDeleted removes the Service's NSG rules, its parts of both load
// balancers (deleting a load balancer left without frontends) and then its managed public
// IPs. Nothing of other Services or of the user is touched; a second call only reads.
func (c *Cloud) EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, svc *v1.Service) error {
	ctx = providers.WithReason(ctx, providers.ReasonDeleting)
	s := c.cfg.settings(clusterName)
	m := &Model{Service: serviceName(svc), Prefix: ServicePrefix(svc), Cluster: s.Cluster}
	// Parsed once, leniently: a Service being deleted is deleted whatever its annotations say.
	cfg, _ := annotations.Parse(svc, annotations.Azure)
	return c.newReconcile(svc.UID, m, cfg.Azure, false).delete(ctx, s)
}

// GetLoadBalancer reports whether the Service has a frontend, or still a managed public IP
// (so a leaked address is cleaned up by EnsureLoadBalancerDeleted).
func (c *Cloud) GetLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	s := c.cfg.settings(clusterName)
	cfg, _ := annotations.Parse(svc, annotations.Azure)
	az := cfg.Azure
	if az == nil {
		az = &annotations.AzureConfig{}
	}
	prefix := ServicePrefix(svc)
	var additional []string
	for _, a := range az.AdditionalPublicIPs {
		additional = append(additional, a.String())
	}
	lb, err := c.api.getLB(ctx, s.LoadBalancerResourceGroup, loadBalancerName(s.LoadBalancerName, az.Internal))
	if err != nil {
		return nil, false, err
	}
	if f := findFrontend(lb, frontendName(prefix, az.InternalSubnet)); f != nil && f.Properties != nil {
		if az.Internal {
			return status([]string{sval(f.Properties.PrivateIPAddress)}, additional), true, nil
		}
		if f.Properties.PublicIPAddress != nil {
			rg, name := resourceGroupAndName(sval(f.Properties.PublicIPAddress.ID))
			p, err := c.api.getPIP(ctx, rg, name)
			if err != nil {
				return nil, false, err
			}
			return status([]string{pipAddress(p)}, additional), true, nil
		}
		return &v1.LoadBalancerStatus{}, true, nil
	}
	if az.Internal {
		return nil, false, nil
	}
	rg := az.PIPResourceGroup
	if rg == "" {
		rg = s.ResourceGroup
	}
	p, err := c.api.getPIP(ctx, rg, managedPIPName(s.Cluster, prefix, az.PIPPrefixID))
	if err != nil || p == nil || !pipOwnedBy(p, serviceName(svc), s.Cluster) {
		return nil, false, err
	}
	return status([]string{pipAddress(p)}, additional), true, nil
}

// resourceGroupAndName splits an ARM ID into its resource group and last name.
func resourceGroupAndName(id string) (rg, name string) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			rg = parts[i+1]
		}
	}
	return rg, lastSegment(id)
}
