package aws

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
)

// An absence read before a backend group was created (and so before forget) is not recorded:
// it could hide the new group from the deletion that must take it along.
func TestBackendAbsenceGeneration(t *testing.T) {
	var b backendAbsence
	gen, absent := b.lookup("demo/vpc-1")
	if absent {
		t.Fatal("absent before any read")
	}
	b.record("demo/vpc-1", gen)
	if _, absent := b.lookup("demo/vpc-1"); !absent {
		t.Fatal("a read's absence was not remembered")
	}
	b.forget()
	if _, absent := b.lookup("demo/vpc-1"); absent {
		t.Fatal("absence kept after forget")
	}
	stale, _ := b.lookup("demo/vpc-2") // a read begins ...
	b.forget()                         // ... a group is created meanwhile ...
	b.record("demo/vpc-2", stale)      // ... and the read's "none" comes back
	if _, absent := b.lookup("demo/vpc-2"); absent {
		t.Error("an absence read before forget was recorded")
	}
}

// TestBackendAbsenceRemembered checks, against fakeaws, that a deletion reads the backend
// group's absence once per process, not once per Service, and that the group a later NLB
// makes is still found and taken along by that NLB's deletion.
func TestBackendAbsenceRemembered(t *testing.T) {
	t.Parallel()
	c, srv, nodes := fakeEnv(t, fakeaws.Options{}, 2)
	c.cfg.Global.NLBSecurityGroupMode = nlbSecurityGroupModeManaged
	nlb := func(i int) *v1.Service {
		return &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("web-%d", i), UID: types.UID(fmt.Sprintf("%d0000000-0000-0000-0000-000000000000", i)),
			Annotations: map[string]string{annotations.AWSLoadBalancerType.Key: typeNLB}},
			Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: []v1.ServicePort{{Protocol: v1.ProtocolTCP, Port: 80, NodePort: int32(30100 + i)}}}}
	}
	deleteCalls := func(i int) int {
		t.Helper()
		srv.ResetCalls()
		if err := c.EnsureLoadBalancerDeleted(context.Background(), fakeCluster, nlb(i)); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, k := range srv.Calls() {
			n += k
		}
		return n
	}
	deleteCalls(1) // one-off reads (the network, the VPC's instances)
	remembered := deleteCalls(2)
	c.noBackend.forget()
	read := deleteCalls(3)
	if read != remembered+1 {
		t.Errorf("deleting a Service with nothing left: %d calls with the absence remembered, %d without; want one less", remembered, read)
	}
	svc := nlb(4)
	if _, err := c.EnsureLoadBalancer(context.Background(), fakeCluster, svc, nodes); err != nil {
		t.Fatal(err)
	}
	backend, err := c.findBackendGroup(context.Background(), fakeCluster, c.network.vpc)
	if err != nil || backend == nil {
		t.Fatalf("the Managed NLB made no backend group (%v)", err)
	}
	if err := c.EnsureLoadBalancerDeleted(context.Background(), fakeCluster, svc); err != nil {
		t.Fatal(err)
	}
	c.noBackend.forget()
	if g, err := c.findBackendGroup(context.Background(), fakeCluster, c.network.vpc); err != nil || g != nil {
		t.Errorf("the last NLB's deletion left the backend group: %+v (%v)", g, err)
	}
}
