package fakegce

import (
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

func TestEmptied(t *testing.T) {
	t.Parallel()
	refs := func(e *env, names ...string) []*computepb.InstanceReference {
		var out []*computepb.InstanceReference
		for _, n := range names {
			out = append(out, &computepb.InstanceReference{Instance: proto.String(e.link(zonal("instances", n)))})
		}
		return out
	}
	pool := func(e *env, t *testing.T, members ...string) {
		var links []string
		for _, r := range refs(e, members...) {
			links = append(links, r.GetInstance())
		}
		ok(t, "insert pool", e.wait(e.tp.Insert(e.ctx, &computepb.InsertTargetPoolRequest{Project: project, Region: region,
			TargetPoolResource: &computepb.TargetPool{Name: proto.String("lb"), Instances: links}})))
	}
	group := func(e *env, t *testing.T, members ...string) {
		ok(t, "insert group", e.wait(e.ig.Insert(e.ctx, &computepb.InsertInstanceGroupRequest{Project: project, Zone: zone,
			InstanceGroupResource: &computepb.InstanceGroup{Name: proto.String("ig")}})))
		if len(members) > 0 {
			ok(t, "add members", e.wait(e.ig.AddInstances(e.ctx, &computepb.AddInstancesInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "ig",
				InstanceGroupsAddInstancesRequestResource: &computepb.InstanceGroupsAddInstancesRequest{Instances: refs(e, members...)}})))
		}
	}
	tests := []struct {
		name string
		run  func(e *env, t *testing.T)
		want []Emptying
	}{
		{"a pool keeps a member", func(e *env, t *testing.T) {
			pool(e, t, "n1", "n2")
			ok(t, "remove", e.wait(e.tp.RemoveInstance(e.ctx, &computepb.RemoveInstanceTargetPoolRequest{Project: project, Region: region, TargetPool: "lb",
				TargetPoolsRemoveInstanceRequestResource: &computepb.TargetPoolsRemoveInstanceRequest{Instances: refs(e, "n1")}})))
		}, nil},
		{"a pool loses its last member", func(e *env, t *testing.T) {
			pool(e, t, "n1")
			ok(t, "remove", e.wait(e.tp.RemoveInstance(e.ctx, &computepb.RemoveInstanceTargetPoolRequest{Project: project, Region: region, TargetPool: "lb",
				TargetPoolsRemoveInstanceRequestResource: &computepb.TargetPoolsRemoveInstanceRequest{Instances: refs(e, "n1")}})))
		}, []Emptying{{Kind: "targetPool", Name: "lb", Call: "TargetPools.RemoveInstance", Before: 1}}},
		{"a pool with members is deleted", func(e *env, t *testing.T) {
			pool(e, t, "n1", "n2")
			ok(t, "delete", e.wait(e.tp.Delete(e.ctx, &computepb.DeleteTargetPoolRequest{Project: project, Region: region, TargetPool: "lb"})))
		}, []Emptying{{Kind: "targetPool", Name: "lb", Call: "TargetPools.Delete", Before: 2}}},
		{"an empty group created and filled is not an emptying", func(e *env, t *testing.T) {
			group(e, t, "n1")
		}, nil},
		{"a group loses its members", func(e *env, t *testing.T) {
			group(e, t, "n1", "n2")
			ok(t, "remove", e.wait(e.ig.RemoveInstances(e.ctx, &computepb.RemoveInstancesInstanceGroupRequest{Project: project, Zone: zone, InstanceGroup: "ig",
				InstanceGroupsRemoveInstancesRequestResource: &computepb.InstanceGroupsRemoveInstancesRequest{Instances: refs(e, "n1", "n2")}})))
		}, []Emptying{{Kind: "instanceGroup", Name: "ig", Call: "InstanceGroups.RemoveInstances", Before: 2}}},
		{"a backend service loses its backends", func(e *env, t *testing.T) {
			group(e, t)
			ok(t, "insert bs", e.wait(e.bs.Insert(e.ctx, &computepb.InsertRegionBackendServiceRequest{Project: project, Region: region,
				BackendServiceResource: &computepb.BackendService{Name: proto.String("bs"), LoadBalancingScheme: proto.String("INTERNAL"), Protocol: proto.String("TCP"),
					Backends: []*computepb.Backend{{Group: proto.String(e.link(zonal("instanceGroups", "ig")))}}}})))
			bs, err := e.bs.Get(e.ctx, &computepb.GetRegionBackendServiceRequest{Project: project, Region: region, BackendService: "bs"})
			ok(t, "get bs", err)
			bs.Backends = nil // a patch cannot clear a list (an empty one is not sent); an update can
			ok(t, "update bs", e.wait(e.bs.Update(e.ctx, &computepb.UpdateRegionBackendServiceRequest{Project: project, Region: region, BackendService: "bs",
				BackendServiceResource: bs})))
		}, []Emptying{{Kind: "backendService", Name: "bs", Call: "RegionBackendServices.Update", Before: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for _, n := range []string{"n1", "n2"} {
				e.srv.AddInstance(Instance{Name: n, Zone: zone})
			}
			tt.run(e, t)
			got := e.srv.Emptied()
			if len(got) != len(tt.want) {
				t.Fatalf("Emptied() = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Emptied()[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
