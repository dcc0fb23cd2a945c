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
	"k8s.io/klog/v2"

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

func lbKey(rg, name string) string { return strings.ToLower("lb:" + rg + "/" + name) }

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
	m, err := c.build(clusterName, svc, nodes, cfg)
	if err != nil {
		return nil, err
	}
	lbRG, lbName := m.LoadBalancer.ResourceGroup, m.LoadBalancer.Name
	unlock := c.locks.lock(lbKey(lbRG, lbName))
	ips, pipID, err := c.ensureFrontend(ctx, m)
	unlock()
	if err != nil {
		return nil, fmt.Errorf("ensuring load balancer %s for %s: %w", lbName, m.Service, err)
	}
	if m.Security != nil {
		want := resolveSecurity(m.Security, ips)
		if err := c.reconcileNSG(ctx, m.Security.ResourceGroup, m.Security.Group, m.Prefix, want); err != nil {
			return nil, fmt.Errorf("ensuring security rules for %s: %w", m.Service, err)
		}
	}
	plsID, err := c.ensurePLS(ctx, svc, m)
	if err != nil {
		return nil, fmt.Errorf("ensuring the private link service of %s: %w", m.Service, err)
	}
	if err := c.cleanupElsewhere(ctx, svc, cfg.Azure, m, pipID, plsID); err != nil {
		return nil, err
	}
	return status(ips, m.AdditionalPublicIPs), nil
}

// ensureFrontend writes the public IPs and the load balancer (the caller holds its lock) and
// returns the frontends' addresses (IPv4, then IPv6 for a dual-stack Service) and their
// public IP IDs joined with ",".
func (c *Cloud) ensureFrontend(ctx context.Context, m *Model) (ips []string, pipIDs string, err error) {
	ctx = providers.WithStep(ctx, "the Service's frontend addresses differ from the Service")
	var ip, ip6, pipID, pipID6 string
	if m.PublicIP != nil {
		if pipID, ip, err = c.ensurePublicIP(ctx, m, m.PublicIP); err != nil {
			return nil, "", err
		}
		m.Frontend.PublicIPID = pipID
	}
	if m.IPv6 != nil && m.IPv6.PublicIP != nil {
		if pipID6, ip6, err = c.ensurePublicIP(ctx, m, m.IPv6.PublicIP); err != nil {
			return nil, "", err
		}
		m.IPv6.Frontend.PublicIPID = pipID6
		pipID += "," + pipID6
	}
	lb, err := c.reconcileLB(ctx, m, m.LoadBalancer.ResourceGroup, m.LoadBalancer.Name, false)
	if err != nil {
		return nil, "", err
	}
	if m.PublicIP == nil {
		ip = frontendPrivateIP(lb, m.Frontend.Name)
	}
	if ip == "" {
		return nil, "", cloudproviderapi.NewRetryError(fmt.Sprintf("frontend %s has no address yet", m.Frontend.Name), pendingDelay)
	}
	ips = []string{ip}
	if m.IPv6 != nil {
		if m.IPv6.PublicIP == nil {
			ip6 = frontendPrivateIP(lb, m.IPv6.Frontend.Name)
		}
		if ip6 == "" {
			return nil, "", cloudproviderapi.NewRetryError(fmt.Sprintf("frontend %s has no address yet", m.IPv6.Frontend.Name), pendingDelay)
		}
		ips = append(ips, ip6)
	}
	return ips, pipID, nil
}

// cleanupElsewhere removes the Service from the opposite load balancer and releases public
// IPs it no longer uses, when its placement changed or is not known (first reconcile since
// start): the new frontend is in place before the old one goes.
func (c *Cloud) cleanupElsewhere(ctx context.Context, svc *v1.Service, az *annotations.AzureConfig, m *Model, pipID, plsID string) error {
	prev, known := c.placement(svc.UID)
	if !known || prev.internal != m.Internal {
		other := m.LoadBalancer.Name + internalSuffix
		if m.Internal {
			other = strings.TrimSuffix(m.LoadBalancer.Name, internalSuffix)
		}
		rg := m.LoadBalancer.ResourceGroup
		unlock := c.locks.lock(lbKey(rg, other))
		_, err := c.reconcileLB(ctx, m, rg, other, true)
		unlock()
		if err != nil {
			return fmt.Errorf("removing %s from load balancer %s: %w", m.Service, other, err)
		}
	}
	if !known || !idEqual(prev.pipID, pipID) {
		if err := c.releasePublicIPs(ctx, m.Service, m.Cluster, c.pipResourceGroups(az), pipID); err != nil {
			return fmt.Errorf("releasing public IPs of %s: %w", m.Service, err)
		}
	}
	c.setPlacement(svc.UID, &placement{internal: m.Internal, pipID: pipID, plsID: plsID})
	return nil
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

// lbOwned reports whether the load balancer carries cluster's tag.
func lbOwned(lb *armnetwork.LoadBalancer, cluster string) bool {
	v, ok := tagValue(lb.Tags, tagCluster, legacyTagCluster)
	return ok && v == cluster
}

// reconcileLB makes the load balancer rg/name hold the Service's parts (none when remove),
// with one conditional write, re-reading and retrying when another writer won the race. A
// load balancer left without frontends is deleted. It returns the load balancer as written
// (or read, when nothing changed).
func (c *Cloud) reconcileLB(ctx context.Context, m *Model, rg, name string, remove bool) (*armnetwork.LoadBalancer, error) {
	step := "the load balancer's frontends, rules, probes or pools for the Service differ from it"
	if remove {
		step = "the Service's frontends, rules and probes are no longer wanted on this load balancer"
	}
	ctx = providers.WithStep(ctx, step)
	lbID := ids{c.cfg.SubscriptionID}.loadBalancer(rg, name)
	log := klog.FromContext(ctx)
	for range maxConflictRetries {
		obs, err := c.api.getLB(ctx, rg, name)
		if err != nil {
			return nil, err
		}
		if obs != nil && !lbOwned(obs, m.Cluster) {
			if remove {
				log.V(2).Info("Leaving a load balancer that is not ours", "service", m.Service, "loadBalancer", name)
				return obs, nil
			}
			return nil, providers.NewUserError(m.Service, "load balancer %s exists without the tag %s=%s; it is not ours and is left untouched", name, tagCluster, m.Cluster)
		}
		out, changes, err := DiffLoadBalancer(obs, m, lbID, remove)
		if err != nil {
			return nil, err
		}
		if len(changes) == 0 {
			return obs, nil
		}
		if len(out.Properties.FrontendIPConfigurations) == 0 {
			if obs == nil {
				return nil, nil
			}
			err = c.api.deleteLB(ctx, rg, name, sval(obs.Etag))
			if isConflict(err) {
				continue
			}
			if pls := blockingPLS(err); pls != "" {
				if err := c.deleteOwnedPLS(ctx, m.Service, m.Cluster, pls); err != nil {
					return nil, err
				}
				continue
			}
			if err == nil {
				log.Info("Deleted Azure load balancer without frontends", "service", m.Service, "loadBalancer", name)
			}
			return nil, err
		}
		res, err := c.api.putLB(ctx, rg, name, out)
		if isConflict(err) {
			log.V(2).Info("Load balancer changed concurrently, retrying", "service", m.Service, "loadBalancer", name)
			continue
		}
		if pls := blockingPLS(err); pls != "" {
			// The Service's old frontend still carries its Private Link Service (the
			// frontend moves, or the Service goes): it goes first, as upstream.
			if err := c.deleteOwnedPLS(ctx, m.Service, m.Cluster, pls); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		log.V(2).Info("Wrote Azure load balancer", "service", m.Service, "loadBalancer", name, "changes", changes)
		return res, nil
	}
	return nil, fmt.Errorf("load balancer %s: still changing under us after %d attempts", name, maxConflictRetries)
}

// reconcileNSG makes the NSG hold want among the rules named with prefix, with one
// conditional write and bounded retries on 412.
func (c *Cloud) reconcileNSG(ctx context.Context, rg, name, prefix string, want []SecurityRule) error {
	ctx = providers.WithStep(ctx, "the security rules differ from the Service's ports and source ranges")
	defer c.locks.lock(strings.ToLower("nsg:" + rg + "/" + name))()
	for range maxConflictRetries {
		obs, err := c.api.getNSG(ctx, rg, name)
		if err != nil {
			return err
		}
		if obs == nil {
			if len(want) == 0 {
				return nil
			}
			return fmt.Errorf("network security group %s in resource group %s (securityGroupName in the cloud config) does not exist", name, rg)
		}
		out, changes, err := DiffSecurityGroup(obs, prefix, want)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		_, err = c.api.putNSG(ctx, rg, name, out)
		if isConflict(err) {
			continue
		}
		if err == nil {
			klog.FromContext(ctx).V(2).Info("Wrote Azure network security group", "prefix", prefix, "nsg", name, "changes", changes)
		}
		return err
	}
	return fmt.Errorf("network security group %s: still changing under us after %d attempts", name, maxConflictRetries)
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
	m, err := c.build(clusterName, svc, nodes, cfg)
	if err != nil {
		return err
	}
	rg, name := m.LoadBalancer.ResourceGroup, m.LoadBalancer.Name
	if err := c.updatePool(ctx, m, rg, name); err != nil {
		return fmt.Errorf("updating the pool of load balancer %s for %s: %w", name, m.Service, err)
	}
	if m.Security != nil && cfg.Azure.DisableFloatingIP {
		if err := c.reconcileNSG(ctx, m.Security.ResourceGroup, m.Security.Group, m.Prefix, resolveSecurity(m.Security, nil)); err != nil {
			return fmt.Errorf("updating security rules for %s: %w", m.Service, err)
		}
	}
	return nil
}

func (c *Cloud) updatePool(ctx context.Context, m *Model, rg, name string) error {
	ctx = providers.WithStep(ctx, "the backend pool differs from the Service's nodes")
	defer c.locks.lock(lbKey(rg, name))()
	for range maxConflictRetries {
		obs, err := c.api.getLB(ctx, rg, name)
		if err != nil {
			return err
		}
		if obs == nil {
			return fmt.Errorf("load balancer %s not found (EnsureLoadBalancer creates it)", name)
		}
		if !lbOwned(obs, m.Cluster) {
			return providers.NewUserError(m.Service, "load balancer %s exists without the tag %s=%s; it is not ours and is left untouched", name, tagCluster, m.Cluster)
		}
		out := &armnetwork.LoadBalancer{}
		if err := deepCopy(obs, out); err != nil {
			return err
		}
		if out.Properties == nil {
			out.Properties = &armnetwork.LoadBalancerPropertiesFormat{}
		}
		changes := syncPool(out.Properties, m.Pool)
		if m.IPv6 != nil {
			changes = append(changes, syncPool(out.Properties, m.IPv6.Pool)...)
		}
		if len(changes) == 0 {
			return nil
		}
		_, err = c.api.putLB(ctx, rg, name, out)
		if isConflict(err) {
			continue
		}
		if err == nil {
			klog.FromContext(ctx).V(2).Info("Updated Azure backend pool", "service", m.Service, "loadBalancer", name, "changes", changes)
		}
		return err
	}
	return fmt.Errorf("load balancer %s: still changing under us after %d attempts", name, maxConflictRetries)
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
	if err := c.deleteKnownPLS(ctx, svc, cfg.Azure, m); err != nil {
		return fmt.Errorf("deleting the private link service of %s: %w", m.Service, err)
	}
	if s.SecurityGroupName != "" {
		if err := c.reconcileNSG(ctx, s.SecurityGroupResourceGroup, s.SecurityGroupName, m.Prefix, nil); err != nil {
			return fmt.Errorf("deleting security rules of %s: %w", m.Service, err)
		}
	}
	for _, internal := range []bool{false, true} {
		name := loadBalancerName(s.LoadBalancerName, internal)
		unlock := c.locks.lock(lbKey(s.LoadBalancerResourceGroup, name))
		_, err := c.reconcileLB(ctx, m, s.LoadBalancerResourceGroup, name, true)
		unlock()
		if err != nil {
			return fmt.Errorf("removing %s from load balancer %s: %w", m.Service, name, err)
		}
	}
	if err := c.releasePublicIPs(ctx, m.Service, m.Cluster, c.pipResourceGroups(cfg.Azure), ""); err != nil {
		return fmt.Errorf("deleting public IPs of %s: %w", m.Service, err)
	}
	c.setPlacement(svc.UID, nil)
	return nil
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
