package fakegce

import (
	"net/http"
	"slices"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"
)

func TestInstancesNetworksZones(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddNetwork("vpc", map[string]string{"nodes": "10.1.0.0/24"})
	e.srv.AddInstance(Instance{Name: "node-a", Network: "vpc", Subnetwork: "nodes", InternalIP: "10.1.0.10", Tags: []string{"k8s-node"}})
	e.srv.AddInstance(Instance{Name: "node-b", Zone: "us-central1-b"})

	vm, err := e.inst.Get(e.ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "node-a"})
	ok(t, "get instance", err)
	ni := vm.GetNetworkInterfaces()[0]
	if ni.GetNetworkIP() != "10.1.0.10" || ni.GetNetwork() != e.link("global/networks/vpc") || ni.GetSubnetwork() != e.link(regional("subnetworks", "nodes")) ||
		!slices.Equal(vm.GetTags().GetItems(), []string{"k8s-node"}) || vm.GetStatus() != "RUNNING" {
		t.Errorf("instance = %v", vm)
	}

	ok(t, "insert instance", e.wait(e.inst.Insert(e.ctx, &computepb.InsertInstanceRequest{Project: project, Zone: zone,
		InstanceResource: &computepb.Instance{Name: proto.String("node-c"), Tags: &computepb.Tags{Items: []string{"k8s-node"}}}})))
	vm, err = e.inst.Get(e.ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "node-c"})
	ok(t, "get inserted", err)
	if ip := vm.GetNetworkInterfaces()[0].GetNetworkIP(); ip != "10.128.0.3" {
		t.Errorf("allocated IP %s, want 10.128.0.3 (node-b holds .2 of the default subnetwork)", ip)
	}

	var names []string
	it := e.inst.List(e.ctx, &computepb.ListInstancesRequest{Project: project, Zone: zone, Filter: proto.String(`name = "node-*"`)})
	for {
		vm, err := it.Next()
		if err == iterator.Done {
			break
		}
		ok(t, "list", err)
		names = append(names, vm.GetName())
	}
	if !slices.Equal(names, []string{"node-a", "node-c"}) {
		t.Errorf("list zone a = %v", names)
	}
	names = nil
	agg := e.inst.AggregatedList(e.ctx, &computepb.AggregatedListInstancesRequest{Project: project})
	for {
		pair, err := agg.Next()
		if err == iterator.Done {
			break
		}
		ok(t, "aggregated", err)
		for _, vm := range pair.Value.GetInstances() {
			names = append(names, pair.Key+"/"+vm.GetName())
		}
	}
	slices.Sort(names)
	if want := []string{"zones/us-central1-a/node-a", "zones/us-central1-a/node-c", "zones/us-central1-b/node-b"}; !slices.Equal(names, want) {
		t.Errorf("aggregated = %v, want %v", names, want)
	}

	sub, err := e.sub.Get(e.ctx, &computepb.GetSubnetworkRequest{Project: project, Region: region, Subnetwork: "nodes"})
	ok(t, "get subnetwork", err)
	if sub.GetIpCidrRange() != "10.1.0.0/24" || sub.GetNetwork() != e.link("global/networks/vpc") {
		t.Errorf("subnetwork = %v", sub)
	}
	nw, err := e.net.Get(e.ctx, &computepb.GetNetworkRequest{Project: project, Network: "vpc"})
	ok(t, "get network", err)
	if !slices.Equal(nw.GetSubnetworks(), []string{e.link(regional("subnetworks", "nodes"))}) {
		t.Errorf("network = %v", nw)
	}
	_, err = e.net.Get(e.ctx, &computepb.GetNetworkRequest{Project: project, Network: "nope"})
	wantCode(t, "missing network", err, http.StatusNotFound, "notFound")

	var zones []string
	zit := e.zones.List(e.ctx, &computepb.ListZonesRequest{Project: project})
	for {
		z, err := zit.Next()
		if err == iterator.Done {
			break
		}
		ok(t, "zones", err)
		zones = append(zones, z.GetName())
	}
	if !slices.Contains(zones, "us-central1-a") || !slices.Contains(zones, "us-central1-f") {
		t.Errorf("zones = %v", zones)
	}
	if r := e.srv.Resources(); len(r) != 0 {
		t.Errorf("instances and networks must not be listed in Resources: %v", r)
	}
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		ok(t, "insert "+n, e.wait(e.addr.Insert(e.ctx, &computepb.InsertAddressRequest{Project: project, Region: region,
			AddressResource: &computepb.Address{Name: proto.String(n)}})))
	}
	it := e.addr.List(e.ctx, &computepb.ListAddressesRequest{Project: project, Region: region, MaxResults: proto.Uint32(2)})
	var names []string
	for {
		a, err := it.Next()
		if err == iterator.Done {
			break
		}
		ok(t, "list", err)
		names = append(names, a.GetName())
	}
	if !slices.Equal(names, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("paged list = %v", names)
	}
	if got := e.srv.Calls()["Addresses.List"]; got != 3 {
		t.Errorf("Addresses.List calls = %d, want 3 pages of 2", got)
	}
}
