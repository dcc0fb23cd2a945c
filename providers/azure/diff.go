package azure

import (
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// Plan is what Apply writes for one part of a Service's reconcile (see part), in this
// order. Diff makes it from the model and what Observe read, without any call; an empty
// plan means the part already matches the model.
type Plan struct {
	Writes []Write
	// Note says, in the log, why the plan leaves something alone ("" for nothing to say).
	Note string
}

// ARM resource types, as in resource IDs and in the audit trail's operations.
const (
	typeLoadBalancers  = "loadBalancers"
	typePublicIPs      = "publicIPAddresses"
	typeSecurityGroups = "networkSecurityGroups"
	typePLS            = "privateLinkServices"
)

// Write is one ARM write: a PUT of a whole resource, or a DELETE. Diff computes a PUT's Body
// from the observed resource (a copy: every part of other Services and of other tools stays
// as read) and it carries the etag read, so Apply's write is conditional on it (If-Match;
// If-None-Match: * for a create) and a concurrent writer's change is never overwritten.
type Write struct {
	// Method is http.MethodPut or http.MethodDelete.
	Method        string
	Type          string
	ResourceGroup string
	Name          string
	// ID is the resource's ARM ID, the object the audit trail names.
	ID string
	// Create says the PUT makes a resource that does not exist.
	Create bool
	// Body is what a PUT sends: *armnetwork.LoadBalancer, *armnetwork.PublicIPAddress,
	// *armnetwork.SecurityGroup or *armnetwork.PrivateLinkService.
	Body any
	// Etag is the If-Match of a DELETE; "" deletes unconditionally.
	Etag string
	// Changes say, for a person, what the write changes ("add rule a<uid>-TCP-80").
	Changes []string
	// Step is why: the step of the reconcile the write carries out (providers.WithStep).
	Step string
}

// The steps of a reconcile, the reasons its writes are audited with.
const (
	stepPublicIP        = "the Service's public IP differs from the Service"
	stepLoadBalancer    = "the load balancer's frontends, rules, probes or pools for the Service differ from it"
	stepLeaveLB         = "the Service's frontends, rules and probes are no longer wanted on this load balancer"
	stepPool            = "the backend pool differs from the Service's nodes"
	stepSecurity        = "the security rules differ from the Service's ports and source ranges"
	stepPLS             = "the private link service differs from the Service"
	stepDropPLS         = "the Service no longer wants the private link service"
	stepReleasePublicIP = "the Service no longer uses the public IP"
)

// put is the PUT of body to rg/name, a create when etag (the one read) is empty.
func put(x ids, typ, rg, name string, body any, etag *string, changes []string, step string) Write {
	return Write{Method: http.MethodPut, Type: typ, ResourceGroup: rg, Name: name, ID: x.resource(rg, typ, name),
		Create: sval(etag) == "", Body: body, Changes: changes, Step: step}
}

// del is the DELETE of rg/name, conditional on etag when it is known.
func del(x ids, typ, rg, name, etag, step string) Write {
	return Write{Method: http.MethodDelete, Type: typ, ResourceGroup: rg, Name: name, ID: x.resource(rg, typ, name),
		Etag: etag, Changes: []string{"delete"}, Step: step}
}

// diffServiceLB plans the Service's load balancer: its frontends (on the public IPs
// observed), rules, probes and the cluster pool, with one PUT; an untagged load balancer
// upstream made for the cluster is adopted in the same PUT (adopt.go).
func diffServiceLB(m *Model, o *Observed, x ids) (*Plan, error) {
	rg, name := m.LoadBalancer.ResourceGroup, m.LoadBalancer.Name
	obs := o.LoadBalancers[key(rg, name)]
	why, err := checkOwnership(obs, m, o)
	if err != nil {
		return nil, err
	}
	p, err := lbPlan(obs, withPools(withPublicIPIDs(m, o), obs), x, rg, name, false)
	if p != nil && why != "" && len(p.Writes) > 0 {
		p.Note = "adopting load balancer " + name + " from the upstream provider: " + why
	}
	return p, err
}

// diffLeaveLB plans removing the Service's frontends, rules and probes from load balancer
// rg/name, deleting it when no frontend is left; one that is not ours is left alone.
func diffLeaveLB(m *Model, o *Observed, x ids, rg, name string) (*Plan, error) {
	obs := o.LoadBalancers[key(rg, name)]
	if _, err := checkOwnership(obs, m, o); err != nil {
		return &Plan{Note: fmt.Sprintf("load balancer %s of %s is not ours: left untouched", name, m.Service)}, nil
	}
	return lbPlan(obs, m, x, rg, name, true)
}

// lbPlan is the write that makes obs hold the Service's parts (none when remove): a PUT of
// DiffLoadBalancer's result with the tags adoptTags keeps, or a DELETE when it has no
// frontend left.
func lbPlan(obs *armnetwork.LoadBalancer, m *Model, x ids, rg, name string, remove bool) (*Plan, error) {
	out, changes, err := diffLB(obs, m, x.loadBalancer(rg, name), remove, true)
	if err != nil || len(changes) == 0 {
		return &Plan{}, err
	}
	step := stepLoadBalancer
	if remove {
		step = stepLeaveLB
	}
	if len(out.Properties.FrontendIPConfigurations) == 0 {
		if obs == nil {
			return &Plan{}, nil
		}
		return &Plan{Writes: []Write{del(x, typeLoadBalancers, rg, name, sval(obs.Etag), step)}}, nil
	}
	return &Plan{Writes: []Write{put(x, typeLoadBalancers, rg, name, out, out.Etag, changes, step)}}, nil
}

// diffPool plans UpdateLoadBalancer's write: the cluster pools of the Service's load
// balancer hold the model's nodes; nothing else changes (but the tag of an adoption).
func diffPool(m *Model, o *Observed, x ids) (*Plan, error) {
	rg, name := m.LoadBalancer.ResourceGroup, m.LoadBalancer.Name
	obs := o.LoadBalancers[key(rg, name)]
	if obs == nil {
		return nil, fmt.Errorf("load balancer %s not found (EnsureLoadBalancer creates it)", name)
	}
	if _, err := checkOwnership(obs, m, o); err != nil {
		return nil, err
	}
	m = withPools(m, obs)
	// The pools are compared before the load balancer, which holds every Service's parts, is
	// copied: only the first Service of a node change writes (copyOnChange).
	out, changes, err := copyOnChange(obs, lbView, func(lb *armnetwork.LoadBalancer) ([]string, error) {
		if lb.Properties == nil {
			lb.Properties = &armnetwork.LoadBalancerPropertiesFormat{}
		}
		changes := syncPool(lb.Properties, m.Pool)
		if m.IPv6 != nil {
			changes = append(changes, syncPool(lb.Properties, m.IPv6.Pool)...)
		}
		if _, tagged := tagValue(lb.Tags, tagCluster, legacyTagCluster); !tagged && len(changes) > 0 {
			if lb.Tags == nil {
				lb.Tags = map[string]*string{}
			}
			lb.Tags[tagCluster] = to.Ptr(m.Cluster)
			changes = append(changes, fmt.Sprintf("adopt: tag %s=%s", tagCluster, m.Cluster))
		}
		return changes, nil
	})
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return &Plan{}, nil
	}
	return &Plan{Writes: []Write{put(x, typeLoadBalancers, rg, name, out, out.Etag, changes, stepPool)}}, nil
}

// withPublicIPIDs is m with its frontends on the public IPs observed: the one holding a
// wanted address, or the named one as ARM spells its ID. A public IP not created yet keeps
// the ID Build derived from its name.
func withPublicIPIDs(m *Model, o *Observed) *Model {
	out := *m
	if p := o.publicIP(m.PublicIP); p != nil && sval(p.ID) != "" {
		out.Frontend.PublicIPID = sval(p.ID)
	}
	if m.IPv6 != nil {
		v6 := *m.IPv6
		if p := o.publicIP(v6.PublicIP); p != nil && sval(p.ID) != "" {
			v6.Frontend.PublicIPID = sval(p.ID)
		}
		out.IPv6 = &v6
	}
	return &out
}
