package fakeazure

import (
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// The stored models are the SDK's own, so the JSON the fake answers has exactly the
// shape the clients decode.
type (
	lbT   = armnetwork.LoadBalancer
	pipT  = armnetwork.PublicIPAddress
	nsgT  = armnetwork.SecurityGroup
	vnetT = armnetwork.VirtualNetwork
	plsT  = armnetwork.PrivateLinkService
)

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func succeeded() *armnetwork.ProvisioningState { return ptr(armnetwork.ProvisioningStateSucceeded) }

func etagOf(obj any) string {
	switch o := obj.(type) {
	case *lbT:
		return str(o.Etag)
	case *pipT:
		return str(o.Etag)
	case *nsgT:
		return str(o.Etag)
	case *vnetT:
		return str(o.Etag)
	case *plsT:
		return str(o.Etag)
	}
	return ""
}

// setEtag gives a resource and its nested resources the new etag: the network resource
// provider versions a parent and its children together.
func setEtag(obj any, etag string) {
	switch o := obj.(type) {
	case *lbT:
		o.Etag = ptr(etag)
		if p := o.Properties; p != nil {
			for _, c := range p.FrontendIPConfigurations {
				c.Etag = ptr(etag)
			}
			for _, c := range p.BackendAddressPools {
				c.Etag = ptr(etag)
			}
			for _, c := range p.Probes {
				c.Etag = ptr(etag)
			}
			for _, c := range p.LoadBalancingRules {
				c.Etag = ptr(etag)
			}
		}
	case *pipT:
		o.Etag = ptr(etag)
	case *nsgT:
		o.Etag = ptr(etag)
		if p := o.Properties; p != nil {
			for _, c := range p.SecurityRules {
				c.Etag = ptr(etag)
			}
			for _, c := range p.DefaultSecurityRules {
				c.Etag = ptr(etag)
			}
		}
	case *vnetT:
		o.Etag = ptr(etag)
		if p := o.Properties; p != nil {
			for _, c := range p.Subnets {
				c.Etag = ptr(etag)
			}
		}
	case *plsT:
		o.Etag = ptr(etag)
		if p := o.Properties; p != nil {
			for _, c := range p.IPConfigurations {
				c.Etag = ptr(etag)
			}
		}
	}
}

func tagsOf(obj any) map[string]*string {
	switch o := obj.(type) {
	case *lbT:
		return o.Tags
	case *pipT:
		return o.Tags
	case *nsgT:
		return o.Tags
	case *vnetT:
		return o.Tags
	case *plsT:
		return o.Tags
	}
	return nil
}

func setTags(obj any, tags map[string]*string) {
	switch o := obj.(type) {
	case *lbT:
		o.Tags = tags
	case *pipT:
		o.Tags = tags
	case *nsgT:
		o.Tags = tags
	case *vnetT:
		o.Tags = tags
	case *plsT:
		o.Tags = tags
	}
}

// lookup returns the stored top-level resource with this ID if it has the kind.
func (s *Server) lookup(k *kind, id string) *entry {
	e := s.res[key(id)]
	if e == nil || e.kind != k {
		return nil
	}
	return e
}

// lookupSubnet resolves a subnet ID to the subnet and its virtual network.
func (s *Server) lookupSubnet(id string) (*armnetwork.Subnet, *vnetT) {
	rt, ok := parseID(id)
	if !ok || rt.kind != kindVNet || rt.child == nil || rt.child.coll != "subnets" || !eq(rt.sub, s.opts.SubscriptionID) {
		return nil, nil
	}
	e := s.lookup(kindVNet, rt.topID())
	if e == nil {
		return nil, nil
	}
	vn := e.obj.(*vnetT)
	if vn.Properties == nil {
		return nil, nil
	}
	for _, sn := range vn.Properties.Subnets {
		if eq(str(sn.Name), rt.childName) {
			return sn, vn
		}
	}
	return nil, nil
}

// checkNames rejects invalid and duplicate names among a resource's children.
func checkNames(names []string, coll, parent string) *armError {
	seen := map[string]bool{}
	for _, n := range names {
		if !validName(n) {
			return errInvalidName(n)
		}
		if seen[key(n)] {
			return badRequest("InvalidRequestFormat", "Cannot parse the request: %s of %s has two items named %s.", coll, parent, n)
		}
		seen[key(n)] = true
	}
	return nil
}

func requireLocation(loc *string) *armError {
	if str(loc) == "" {
		return badRequest("LocationRequired", "The location property is required for this definition.")
	}
	return nil
}
