package fakegce

import (
	"encoding/json"
	"slices"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

var instanceGroups = register(&rtype{
	api: "InstanceGroups", collection: "instanceGroups", kind: "compute#instanceGroup", scopeKind: "zones",
	newMsg: func() proto.Message { return &computepb.InstanceGroup{} },
	check:  checkInstanceGroup,
	verbs: map[string]verb{
		"addInstances":    {run: instanceGroupMembers(true)},
		"removeInstances": {run: instanceGroupMembers(false)},
		"listInstances":   {read: true, run: listInstanceGroupMembers},
	},
})

func checkInstanceGroup(s *Server, _ *call, o, _ *object) error {
	ig := o.msg.(*computepb.InstanceGroup)
	ig.Size = proto.Int32(0)
	if ig.GetNetwork() == "" {
		return nil
	}
	n, err := s.lookup(ig.GetNetwork())
	if err != nil {
		return err
	}
	if n.typ != networks {
		return errInvalidField("resource.network", ig.GetNetwork(), "Must be a network URL.")
	}
	return nil
}

// instanceGroupMembers serves addInstances and removeInstances. Members must be instances
// of the group's zone; adding a member again is GCE's 400 memberAlreadyExists, removing
// a non-member changes nothing.
func instanceGroupMembers(add bool) func(*Server, *call, *object) ([]byte, error) {
	return func(s *Server, c *call, o *object) ([]byte, error) {
		var in computepb.InstanceGroupsAddInstancesRequest
		if err := decode(c.body, &in); err != nil {
			return nil, err
		}
		members := slices.Clone(o.members)
		for _, ref := range in.GetInstances() {
			link := canonicalLink(s.opts.Project, ref.GetInstance())
			if !add {
				members = slices.DeleteFunc(members, func(l string) bool { return l == link })
				continue
			}
			inst, err := s.lookup(link)
			if err != nil {
				return nil, err
			}
			if inst.typ != instances || inst.scope != o.scope {
				return nil, errInvalidField("instances", link, "Instances must be in the zone of the instance group.")
			}
			if ig := o.msg.(*computepb.InstanceGroup).GetNetwork(); ig != "" && ig != instanceNetwork(inst) {
				return nil, errInvalidField("instances", link, "The instance is not in the network of the instance group.")
			}
			if slices.Contains(members, link) {
				return nil, &apiError{Status: 400, Reason: "memberAlreadyExists",
					Message: "The resource '" + link + "' is already a member of '" + o.link + "'"}
			}
			members = append(members, link)
		}
		slices.Sort(members)
		o.members = members
		ig := proto.Clone(o.msg).(*computepb.InstanceGroup)
		ig.Size = proto.Int32(int32(len(members)))
		ig.Fingerprint = proto.String(s.fingerprint())
		o.msg = ig
		return nil, nil
	}
}

// listInstanceGroupMembers answers listInstances with every member, RUNNING.
func listInstanceGroupMembers(_ *Server, c *call, o *object) ([]byte, error) {
	var items []json.RawMessage
	for _, m := range o.members {
		b, err := c.encode(&computepb.InstanceWithNamedPorts{Instance: proto.String(m), Status: proto.String("RUNNING")})
		if err != nil {
			return nil, err
		}
		items = append(items, b)
	}
	page, next, err := paginate(items, c.query.Get("maxResults"), c.query.Get("pageToken"))
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"kind":  "compute#instanceGroupsListInstances",
		"id":    o.link,
		"items": page,
	}
	if next != "" {
		out["nextPageToken"] = next
	}
	return json.Marshal(out)
}

// instanceNetwork is the network of an instance's first interface.
func instanceNetwork(o *object) string {
	nis := o.msg.(*computepb.Instance).GetNetworkInterfaces()
	if len(nis) == 0 {
		return ""
	}
	return nis[0].GetNetwork()
}
