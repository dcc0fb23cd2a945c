package fakeazure

import (
	"slices"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// relink recomputes the back references ARM maintains on referenced resources from the
// forward references: a public IP's ipConfiguration (the LB frontend using it), a
// subnet's ipConfigurations (internal frontends in it) and an NSG's subnets. A resource
// whose back references change gets a new etag, as in ARM. written was just given one.
func (s *Server) relink(written *entry) {
	es := make([]*entry, 0, len(s.res))
	for _, e := range s.res {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })

	pipRef := map[string]string{}
	subnetRefs := map[string][]string{}
	nsgRefs := map[string][]string{}
	for _, e := range es {
		switch o := e.obj.(type) {
		case *lbT:
			if o.Properties == nil {
				continue
			}
			for _, f := range o.Properties.FrontendIPConfigurations {
				if f.Properties == nil {
					continue
				}
				if f.Properties.PublicIPAddress != nil {
					pipRef[key(str(f.Properties.PublicIPAddress.ID))] = str(f.ID)
				}
				if f.Properties.Subnet != nil {
					k := key(str(f.Properties.Subnet.ID))
					subnetRefs[k] = append(subnetRefs[k], str(f.ID))
				}
			}
		case *plsT:
			if o.Properties == nil {
				continue
			}
			for _, c := range o.Properties.IPConfigurations {
				if c.Properties != nil && c.Properties.Subnet != nil {
					k := key(str(c.Properties.Subnet.ID))
					subnetRefs[k] = append(subnetRefs[k], str(c.ID))
				}
			}
		case *vnetT:
			if o.Properties == nil {
				continue
			}
			for _, sn := range o.Properties.Subnets {
				if sn.Properties != nil && sn.Properties.NetworkSecurityGroup != nil {
					k := key(str(sn.Properties.NetworkSecurityGroup.ID))
					nsgRefs[k] = append(nsgRefs[k], str(sn.ID))
				}
			}
		}
	}

	for _, e := range es {
		changed := false
		switch o := e.obj.(type) {
		case *pipT:
			changed = relinkPIP(o, pipRef[key(e.id)])
		case *vnetT:
			if o.Properties == nil {
				continue
			}
			for _, sn := range o.Properties.Subnets {
				if sn.Properties == nil {
					sn.Properties = &armnetwork.SubnetPropertiesFormat{}
				}
				want := sortedIDs(subnetRefs[key(str(sn.ID))])
				var have []string
				for _, c := range sn.Properties.IPConfigurations {
					have = append(have, str(c.ID))
				}
				if !sameIDs(have, want) {
					changed = true
					sn.Properties.IPConfigurations = nil
					for _, id := range want {
						sn.Properties.IPConfigurations = append(sn.Properties.IPConfigurations, &armnetwork.IPConfiguration{ID: ptr(id)})
					}
				}
			}
		case *nsgT:
			if o.Properties == nil {
				o.Properties = &armnetwork.SecurityGroupPropertiesFormat{}
			}
			want := sortedIDs(nsgRefs[key(e.id)])
			var have []string
			for _, sn := range o.Properties.Subnets {
				have = append(have, str(sn.ID))
			}
			if !sameIDs(have, want) {
				changed = true
				o.Properties.Subnets = nil
				for _, id := range want {
					o.Properties.Subnets = append(o.Properties.Subnets, &armnetwork.Subnet{ID: ptr(id)})
				}
			}
		}
		if changed && e != written {
			setEtag(e.obj, s.newEtag())
		}
	}
}

func relinkPIP(p *pipT, want string) bool {
	if p.Properties == nil {
		p.Properties = &armnetwork.PublicIPAddressPropertiesFormat{}
	}
	have := ""
	if p.Properties.IPConfiguration != nil {
		have = str(p.Properties.IPConfiguration.ID)
	}
	if eq(have, want) {
		return false
	}
	p.Properties.IPConfiguration = nil
	if want != "" {
		p.Properties.IPConfiguration = &armnetwork.IPConfiguration{ID: ptr(want)}
	}
	return true
}

func sortedIDs(ids []string) []string {
	out := slices.Clone(ids)
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}

func sameIDs(a, b []string) bool {
	return slices.EqualFunc(a, b, eq)
}
