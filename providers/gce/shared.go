package gce

import (
	"context"
	"errors"
	"fmt"
	"strings"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
)

// applyDeletes removes what the Service no longer uses: rules first (they reference the
// rest), then target pool, backend services, health checks (a shared one still used by
// another Service answers "in use" and stays, with its firewall), firewalls, address.
func (c *Cloud) applyDeletes(ctx context.Context, m *Model, p *Plan, o *Observed) error {
	for _, name := range p.DeleteRules {
		if err := c.deleteRule(ctx, m, name); err != nil {
			return err
		}
	}
	if p.DeleteTargetPool {
		if err := c.deleteTargetPool(ctx, m); err != nil {
			return err
		}
	}
	for _, name := range p.DeleteBackendServices {
		b := o.BackendServices[name]
		if err := c.deleteBackendService(ctx, m, b.BackendSvc); err != nil {
			return err
		}
	}
	for _, hc := range p.DeleteHealthChecks {
		if err := c.deleteHealthCheck(ctx, m, hc); err != nil {
			return err
		}
	}
	for _, name := range p.DeleteFirewalls {
		if err := c.deleteFirewall(ctx, m, name); err != nil {
			return err
		}
	}
	for _, g := range p.DeleteGroups {
		if err := c.deleteGroupIfUnused(ctx, m, g); err != nil {
			return err
		}
	}
	if p.DeleteAddress {
		return c.deleteAddress(ctx, m)
	}
	return nil
}

// deleteBackendService deletes a backend service (a shared one only when no other Service
// uses it), then tries the instance groups it used.
func (c *Cloud) deleteBackendService(ctx context.Context, m *Model, b BackendSvc) error {
	del := func() error {
		if b.Shared {
			c.shared.Lock()
			defer c.shared.Unlock()
		}
		return c.remove(ctx, m, "RegionBackendServices.Delete", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.BackendServices.Delete(ctx, &computepb.DeleteRegionBackendServiceRequest{Project: m.Project, Region: m.Region, BackendService: b.Name})
		})
	}
	err := del()
	if isInUse(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, g := range b.Backends {
		if err := c.deleteGroupIfUnused(ctx, m, g); err != nil {
			return err
		}
	}
	return nil
}

// deleteGroupIfUnused deletes a shared instance group; "in use" (another backend service
// still points at it) leaves it.
func (c *Cloud) deleteGroupIfUnused(ctx context.Context, m *Model, groupURL string) error {
	zone, name := zoneOf(groupURL), lastSegment(groupURL)
	if zone == "" {
		return nil
	}
	c.shared.Lock()
	defer c.shared.Unlock()
	err := c.remove(ctx, m, "InstanceGroups.Delete", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.InstanceGroups.Delete(ctx, &computepb.DeleteInstanceGroupRequest{Project: m.Project, Zone: zone, InstanceGroup: name})
	})
	if isInUse(err) {
		return nil
	}
	if err == nil {
		c.mu.Lock()
		delete(c.groups, m.Project+"/"+zone+"/"+name)
		c.mu.Unlock()
	}
	return err
}

// deleteHealthCheck deletes a health check. A shared one is deleted only when nothing
// references it (GCE answers "in use" otherwise), and then its firewall goes too.
func (c *Cloud) deleteHealthCheck(ctx context.Context, m *Model, hc HealthCheck) error {
	if hc.Shared {
		c.shared.Lock()
		defer c.shared.Unlock()
	}
	var err error
	if hc.Kind == HealthCheckLegacyHTTP {
		err = c.remove(ctx, m, "HttpHealthChecks.Delete", func(ctx context.Context) (*compute.Operation, error) {
			return nil, c.api.HTTPHealthChecks.Delete(ctx, m.Project, hc.Name)
		})
	} else if hc.Kind == HealthCheckGlobal {
		err = c.remove(ctx, m, "HealthChecks.Delete", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.HealthChecks.Delete(ctx, &computepb.DeleteHealthCheckRequest{Project: m.Project, HealthCheck: hc.Name})
		})
	} else {
		err = c.remove(ctx, m, "RegionHealthChecks.Delete", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.RegionHealthChecks.Delete(ctx, &computepb.DeleteRegionHealthCheckRequest{Project: m.Project, Region: m.Region, HealthCheck: hc.Name})
		})
	}
	if isInUse(err) {
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	global := c.globalNodeCheck
	c.mu.Unlock()
	if hc.Shared && (hc.Kind == HealthCheckGlobal || hc.Kind == HealthCheckRegional && global) {
		// Upstream's global node health check and cloudlb's regional one share the firewall
		// k8s-<id>-node-hc: it goes with the last of them.
		other := HealthCheckRegional
		if hc.Kind == HealthCheckRegional {
			other = HealthCheckGlobal
		}
		if h, err := c.getHealthCheck(ctx, m.Project, m.Region, other, hc.Name); err != nil || h != nil {
			return err
		}
	}
	fw := hcFirewallName(m.Name, m.ClusterID, hc.Shared, hc.Kind == HealthCheckLegacyHTTP)
	return c.deleteFirewall(ctx, m, fw)
}

func (c *Cloud) deleteFirewall(ctx context.Context, m *Model, name string) error {
	return c.remove(ctx, m, "Firewalls.Delete", func(ctx context.Context) (*compute.Operation, error) {
		return c.api.Firewalls.Delete(ctx, &computepb.DeleteFirewallRequest{Project: m.Project, Firewall: name})
	})
}

// forgetGroups drops the cached members of the model's instance groups so the next
// reconcile reads them. After a failed write the cache may be stale: another controller (a
// previous leader during a handover) or a person may have changed or deleted a group, and a
// backend service naming a deleted group fails until the group is read and created again.
func (c *Cloud) forgetGroups(m *Model) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range m.InstanceGroups {
		delete(c.groups, m.Project+"/"+g.Zone+"/"+g.Name)
	}
}

// applyGroups creates the zones' instance groups and changes their members, under the
// shared lock: they serve every internal Service. A change planned from members another
// Service has applied since is planned again from what that Service applied, so concurrent
// reconciles of many Services do not repeat the same writes.
func (c *Cloud) applyGroups(ctx context.Context, m *Model, changes []GroupChange) error {
	c.shared.Lock()
	defer c.shared.Unlock()
	var errs []error
	for _, g := range changes {
		c.mu.Lock()
		cg, ok := c.groups[m.Project+"/"+g.Group.Zone+"/"+g.Group.Name]
		c.mu.Unlock()
		if ok && c.now().Sub(cg.at) < cacheTTL {
			g.Create = false
			g.Add, g.Remove = setDiff(g.Group.Instances, cg.instances)
			if len(g.Add) == 0 && len(g.Remove) == 0 {
				continue
			}
		}
		if err := c.applyGroup(ctx, m, g); err != nil {
			errs = append(errs, fmt.Errorf("instance group %s in %s: %w", g.Group.Name, g.Group.Zone, err))
			continue
		}
		c.mu.Lock()
		c.groups[m.Project+"/"+g.Group.Zone+"/"+g.Group.Name] = cachedGroup{instances: g.Group.Instances, at: c.now()}
		c.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (c *Cloud) applyGroup(ctx context.Context, m *Model, g GroupChange) error {
	zone, name := g.Group.Zone, g.Group.Name
	urls := func(names []string) []*computepb.InstanceReference {
		out := make([]*computepb.InstanceReference, 0, len(names))
		for _, n := range names {
			out = append(out, &computepb.InstanceReference{Instance: ptr("projects/" + m.Project + "/zones/" + zone + "/instances/" + n)})
		}
		return out
	}
	if g.Create {
		res := &computepb.InstanceGroup{Name: ptr(name), Description: ptr(describe("", m.ClusterID)), Zone: ptr(zone)}
		if g.Group.Network != "" {
			res.Network = ptr(g.Group.Network)
		}
		if err := c.insert(ctx, m, "InstanceGroups.Insert", g.Group.Name, func(ctx context.Context) (*compute.Operation, error) {
			return c.api.InstanceGroups.Insert(ctx, &computepb.InsertInstanceGroupRequest{Project: m.Project, Zone: zone, InstanceGroupResource: res})
		}); err != nil {
			return err
		}
	}
	add := func(names []string) error {
		return c.write(ctx, m, "InstanceGroups.AddInstances", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.InstanceGroups.AddInstances(ctx, &computepb.AddInstancesInstanceGroupRequest{Project: m.Project, Zone: zone, InstanceGroup: name,
				InstanceGroupsAddInstancesRequestResource: &computepb.InstanceGroupsAddInstancesRequest{Instances: urls(names)}})
		})
	}
	if len(g.Add) > 0 {
		err := add(g.Add)
		if isMemberExists(err) {
			// Someone (another controller, or a plan made before another Service's write)
			// added some of them already; GCE refuses the whole request: add the rest.
			c.mu.Lock()
			delete(c.groups, m.Project+"/"+zone+"/"+name)
			c.mu.Unlock()
			og, oerr := c.observeGroup(ctx, m, g.Group)
			if oerr != nil {
				return oerr
			}
			err = nil
			if missing, _ := setDiff(g.Add, og.Instances); len(missing) > 0 {
				err = add(missing)
			}
		}
		if err != nil && !isConflict(err) {
			return err
		}
	}
	if len(g.Remove) > 0 {
		if err := c.write(ctx, m, "InstanceGroups.RemoveInstances", func(ctx context.Context) (*compute.Operation, error) {
			return c.api.InstanceGroups.RemoveInstances(ctx, &computepb.RemoveInstancesInstanceGroupRequest{Project: m.Project, Zone: zone, InstanceGroup: name,
				InstanceGroupsRemoveInstancesRequestResource: &computepb.InstanceGroupsRemoveInstancesRequest{Instances: urls(g.Remove)}})
		}); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

// zoneOf is the zone of a zonal URL (".../zones/<zone>/...").
func zoneOf(u string) string {
	_, rest, ok := strings.Cut(u, "zones/")
	if !ok {
		return ""
	}
	zone, _, _ := strings.Cut(rest, "/")
	return zone
}
