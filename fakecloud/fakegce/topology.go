package fakegce

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

var networks = register(&rtype{
	api: "Networks", collection: "networks", kind: "compute#network", scopeKind: "global",
	newMsg: func() proto.Message { return &computepb.Network{} }, readOnly: true,
})

var subnetworks = register(&rtype{
	api: "Subnetworks", collection: "subnetworks", kind: "compute#subnetwork", scopeKind: "regions",
	newMsg: func() proto.Message { return &computepb.Subnetwork{} }, readOnly: true,
})

var instances = register(&rtype{
	api: "Instances", collection: "instances", kind: "compute#instance", scopeKind: "zones",
	newMsg: func() proto.Message { return &computepb.Instance{} },
	check:  checkInstance,
	afterDelete: func(s *Server, o *object) {
		// GCE drops a deleted VM from its unmanaged instance groups.
		for _, ig := range s.inScope(o.scope, "instanceGroups") {
			if slices.Contains(ig.members, o.link) {
				ig.members = slices.DeleteFunc(slices.Clone(ig.members), func(l string) bool { return l == o.link })
				m := proto.Clone(ig.msg).(*computepb.InstanceGroup)
				m.Size = proto.Int32(int32(len(ig.members)))
				ig.msg = m
			}
		}
	},
})

// Instance is a VM seeded by a test; instances are read-only to the provider.
type Instance struct {
	// Name and Zone ("us-central1-a", default "<region>-a") place the VM.
	Name, Zone string
	// Network and Subnetwork are names or links; default "default" and the network's
	// subnetwork in the region.
	Network, Subnetwork string
	// InternalIP is the VM's address; allocated from the subnetwork when empty.
	InternalIP string
	// Tags are the network tags firewalls target.
	Tags []string
}

// AddInstance seeds (or replaces) a RUNNING VM without going through the API or its counters.
func (s *Server) AddInstance(in Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Zone == "" {
		in.Zone = s.opts.Region + "-a"
	}
	region := in.Zone[:max(strings.LastIndex(in.Zone, "-"), 0)]
	ni := &computepb.NetworkInterface{Name: proto.String("nic0")}
	if in.Network != "" {
		ni.Network = proto.String(s.resolve(in.Network, "global", "networks"))
	}
	if in.Subnetwork != "" {
		ni.Subnetwork = proto.String(s.resolve(in.Subnetwork, "regions/"+region, "subnetworks"))
	}
	if in.InternalIP != "" {
		ni.NetworkIP = proto.String(in.InternalIP)
	}
	vm := &computepb.Instance{
		Name:              proto.String(in.Name),
		NetworkInterfaces: []*computepb.NetworkInterface{ni},
		Tags:              &computepb.Tags{Items: slices.Clone(in.Tags)},
	}
	o := &object{typ: instances, scope: "zones/" + in.Zone, name: in.Name, msg: vm, link: s.linkOf("zones/"+in.Zone, "instances", in.Name)}
	delete(s.objects, o.link)
	if err := checkInstance(s, nil, o, nil); err != nil {
		// Keep what the test asked for even when the network is unknown to the fake.
		ni.NetworkIP = proto.String(in.InternalIP)
	}
	s.stamp(o, s.nextID(), now())
	s.objects[o.link] = o
}

// AddNetwork seeds (or extends) a custom-mode network and its subnetworks (name -> CIDR)
// in the server's region.
func (s *Server) AddNetwork(name string, subnets map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	link := s.linkOf("global", "networks", name)
	o, ok := s.objects[link]
	if !ok {
		o = &object{typ: networks, scope: "global", name: name, link: link,
			msg: &computepb.Network{Name: proto.String(name), AutoCreateSubnetworks: proto.Bool(false), Mtu: proto.Int32(1460)}}
		s.stamp(o, s.nextID(), now())
		s.objects[link] = o
	}
	nw := o.msg.(*computepb.Network)
	names := make([]string, 0, len(subnets))
	for n := range subnets {
		names = append(names, n)
	}
	slices.Sort(names)
	scope := "regions/" + s.opts.Region
	for _, sn := range names {
		cidr := subnets[sn]
		gw := ""
		if p, err := netip.ParsePrefix(cidr); err == nil {
			gw = p.Masked().Addr().Next().String()
		}
		so := &object{typ: subnetworks, scope: scope, name: sn, link: s.linkOf(scope, "subnetworks", sn),
			msg: &computepb.Subnetwork{Name: proto.String(sn), IpCidrRange: proto.String(cidr), Network: proto.String(link),
				GatewayAddress: proto.String(gw), StackType: proto.String("IPV4_ONLY")}}
		s.stamp(so, s.nextID(), now())
		s.objects[so.link] = so
		if !slices.Contains(nw.Subnetworks, so.link) {
			nw.Subnetworks = append(nw.Subnetworks, so.link)
		}
	}
}

// resolve turns a name into a link of collection in scope; links pass through.
func (s *Server) resolve(nameOrLink, scope, collection string) string {
	if strings.Contains(nameOrLink, "/") {
		return canonicalLink(s.opts.Project, nameOrLink)
	}
	return s.linkOf(scope, collection, nameOrLink)
}

// checkInstance fills an instance's interfaces (network, subnetwork, IP) and status.
func checkInstance(s *Server, _ *call, o, _ *object) error {
	vm := o.msg.(*computepb.Instance)
	zone := strings.TrimPrefix(o.scope, "zones/")
	region := "regions/" + zone[:max(strings.LastIndex(zone, "-"), 0)]
	if len(vm.NetworkInterfaces) == 0 {
		vm.NetworkInterfaces = []*computepb.NetworkInterface{{}}
	}
	for i, ni := range vm.NetworkInterfaces {
		if ni.Name == nil {
			ni.Name = proto.String(fmt.Sprintf("nic%d", i))
		}
		if err := s.defaultSubnet(region, &ni.Network, &ni.Subnetwork); err != nil {
			return err
		}
		if ni.GetNetworkIP() == "" {
			ip, err := s.allocInternal(ni.GetSubnetwork())
			if err != nil {
				return err
			}
			ni.NetworkIP = proto.String(ip)
			continue
		}
		ip, err := netip.ParseAddr(ni.GetNetworkIP())
		if err != nil {
			return errInvalidField(fmt.Sprintf("resource.networkInterfaces[%d].networkIP", i), ni.GetNetworkIP(), "Must be an IPv4 address.")
		}
		cidr, err := s.subnetCIDR(ni.GetSubnetwork())
		if err != nil {
			return err
		}
		if !cidr.Contains(ip) {
			return errInvalidField(fmt.Sprintf("resource.networkInterfaces[%d].networkIP", i), ni.GetNetworkIP(), "Not within the subnetwork's range.")
		}
		if user := s.usedIPs()[ip.String()]; user != "" && user != o.link {
			return opIPInUse(ip.String(), user)
		}
	}
	if vm.MachineType == nil {
		vm.MachineType = proto.String("projects/" + s.opts.Project + "/" + o.scope + "/machineTypes/e2-medium")
	}
	vm.Status = proto.String("RUNNING")
	if vm.Tags == nil {
		vm.Tags = &computepb.Tags{}
	}
	vm.Tags.Fingerprint = proto.String("42WmSpB8rSM=")
	return nil
}

// zones are the region's zones plus any zone a seeded instance sits in.
func (s *Server) zones() []string {
	set := map[string]bool{}
	for _, z := range []string{"a", "b", "c", "f"} {
		set[s.opts.Region+"-"+z] = true
	}
	for _, o := range s.objects {
		if o.typ == instances {
			set[strings.TrimPrefix(o.scope, "zones/")] = true
		}
	}
	out := make([]string, 0, len(set))
	for z := range set {
		out = append(out, z)
	}
	slices.Sort(out)
	return out
}

// serveLocations answers Zones.Get/List and Regions.Get/List.
func (s *Server) serveLocations(c *call) ([]byte, error) {
	zoneMsg := func(z string) *computepb.Zone {
		return &computepb.Zone{
			Kind: proto.String("compute#zone"), Name: proto.String(z), Status: proto.String("UP"),
			Region:   proto.String("projects/" + s.opts.Project + "/regions/" + z[:max(strings.LastIndex(z, "-"), 0)]),
			SelfLink: proto.String("projects/" + s.opts.Project + "/zones/" + z),
		}
	}
	var items []proto.Message
	switch c.collection {
	case "zones":
		for _, z := range s.zones() {
			items = append(items, zoneMsg(z))
		}
	case "regions":
		var zl []string
		for _, z := range s.zones() {
			zl = append(zl, "projects/"+s.opts.Project+"/zones/"+z)
		}
		items = append(items, &computepb.Region{Kind: proto.String("compute#region"), Name: proto.String(s.opts.Region),
			Status: proto.String("UP"), Zones: zl, SelfLink: proto.String("projects/" + s.opts.Project + "/regions/" + s.opts.Region)})
	}
	var raw []json.RawMessage
	for _, it := range items {
		if c.name != "" && getString(it, "name") != c.name {
			continue
		}
		b, err := c.encode(it)
		if err != nil {
			return nil, err
		}
		if c.name != "" {
			return b, nil
		}
		raw = append(raw, b)
	}
	if c.name != "" {
		return nil, errNotFound("projects/" + s.opts.Project + "/" + c.collection + "/" + c.name)
	}
	return json.Marshal(map[string]any{"kind": "compute#" + strings.TrimSuffix(c.collection, "s") + "List", "items": raw})
}
