package fakeaws

import (
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// backendsFixture is one Classic ELB "clb" and one NLB "nlb" whose TCP:80 listener forwards
// to target group "full"; "full" and "spare" hold both instances, "empty" none.
type backendsFixture struct {
	c                         *clients
	instances                 []string
	listener                  string
	full, spare, empty, lbARN string
}

func newBackendsFixture(t *testing.T) *backendsFixture {
	t.Helper()
	c := newFake(t)
	tp := buildTopo(t, c)
	f := &backendsFixture{c: c, instances: tp.instances}
	must[*elb.CreateLoadBalancerOutput](t)(c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("clb"),
		Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstancePort: aws.Int32(30080)}}, Subnets: []string{tp.public}}))
	must[*elb.RegisterInstancesWithLoadBalancerOutput](t)(c.elb.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: aws.String("clb"), Instances: instanceList(tp.instances...)}))
	f.lbARN = *must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("nlb"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{tp.public}})).LoadBalancers[0].LoadBalancerArn
	group := func(name string, targets []string) string {
		arn := *must[*elbv2.CreateTargetGroupOutput](t)(c.elbv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(name), Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(30080), VpcId: aws.String(tp.vpc)})).TargetGroups[0].TargetGroupArn
		if len(targets) > 0 {
			must[*elbv2.RegisterTargetsOutput](t)(c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: &arn, Targets: targetList(targets...)}))
		}
		return arn
	}
	f.full, f.spare, f.empty = group("full", tp.instances), group("spare", tp.instances), group("empty", nil)
	f.listener = *must[*elbv2.CreateListenerOutput](t)(c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: &f.lbARN,
		Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(80), DefaultActions: forwardTo(f.full)})).Listeners[0].ListenerArn
	return f
}

func instanceList(ids ...string) []elbtypes.Instance {
	var out []elbtypes.Instance
	for _, id := range ids {
		out = append(out, elbtypes.Instance{InstanceId: aws.String(id)})
	}
	return out
}

func targetList(ids ...string) []elbv2types.TargetDescription {
	var out []elbv2types.TargetDescription
	for _, id := range ids {
		out = append(out, elbv2types.TargetDescription{Id: aws.String(id)})
	}
	return out
}

func forwardTo(arn string) []elbv2types.Action {
	return []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: aws.String(arn)}}
}

// weighted forwards to the groups with the weights given.
func weighted(groups map[string]int32) []elbv2types.Action {
	fc := &elbv2types.ForwardActionConfig{}
	for _, arn := range slices.Sorted(maps.Keys(groups)) {
		fc.TargetGroups = append(fc.TargetGroups, elbv2types.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(groups[arn])})
	}
	return []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, ForwardConfig: fc}}
}

func TestEmptiedBackends(t *testing.T) {
	t.Parallel()
	const (
		classicEmptied  = "classic load balancer clb: no backend after DeregisterInstancesFromLoadBalancer (had 2)"
		listenerDrained = "listener TCP:80 of load balancer nlb: no backend after DeregisterTargets (had 2)"
		listenerMoved   = "listener TCP:80 of load balancer nlb: no backend after ModifyListener (had 2)"
	)
	tests := []struct {
		name string
		do   func(t *testing.T, f *backendsFixture)
		want []string
	}{
		{name: "nothing changed"},
		{name: "classic: one of two instances deregistered", do: func(t *testing.T, f *backendsFixture) {
			must[*elb.DeregisterInstancesFromLoadBalancerOutput](t)(f.c.elb.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{
				LoadBalancerName: aws.String("clb"), Instances: instanceList(f.instances[0])}))
		}},
		{name: "classic: both instances deregistered at once", do: func(t *testing.T, f *backendsFixture) {
			must[*elb.DeregisterInstancesFromLoadBalancerOutput](t)(f.c.elb.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{
				LoadBalancerName: aws.String("clb"), Instances: instanceList(f.instances...)}))
		}, want: []string{classicEmptied}},
		{name: "classic: deregistered one by one, then registered again", do: func(t *testing.T, f *backendsFixture) {
			for _, id := range f.instances {
				must[*elb.DeregisterInstancesFromLoadBalancerOutput](t)(f.c.elb.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{
					LoadBalancerName: aws.String("clb"), Instances: instanceList(id)}))
			}
			must[*elb.RegisterInstancesWithLoadBalancerOutput](t)(f.c.elb.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{
				LoadBalancerName: aws.String("clb"), Instances: instanceList(f.instances...)}))
		}, want: []string{"classic load balancer clb: no backend after DeregisterInstancesFromLoadBalancer (had 1)"}},
		{name: "classic: deleted with its instances", do: func(t *testing.T, f *backendsFixture) {
			must[*elb.DeleteLoadBalancerOutput](t)(f.c.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String("clb")}))
		}},
		{name: "listener's group drained", do: func(t *testing.T, f *backendsFixture) {
			must[*elbv2.DeregisterTargetsOutput](t)(f.c.elbv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: &f.full, Targets: targetList(f.instances...)}))
		}, want: []string{listenerDrained}},
		{name: "group no listener forwards to drained", do: func(t *testing.T, f *backendsFixture) {
			must[*elbv2.DeregisterTargetsOutput](t)(f.c.elbv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: &f.spare, Targets: targetList(f.instances...)}))
		}},
		{name: "listener moved to an empty group", do: func(t *testing.T, f *backendsFixture) {
			must[*elbv2.ModifyListenerOutput](t)(f.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &f.listener, DefaultActions: forwardTo(f.empty)}))
		}, want: []string{listenerMoved}},
		{name: "listener moved to a group with targets", do: func(t *testing.T, f *backendsFixture) {
			must[*elbv2.ModifyListenerOutput](t)(f.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &f.listener, DefaultActions: forwardTo(f.spare)}))
		}},
		{name: "weight moved from the full group to an empty one", do: func(t *testing.T, f *backendsFixture) {
			must[*elbv2.ModifyListenerOutput](t)(f.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &f.listener, DefaultActions: weighted(map[string]int32{f.full: 1, f.empty: 0})}))
			must[*elbv2.ModifyListenerOutput](t)(f.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &f.listener, DefaultActions: weighted(map[string]int32{f.full: 0, f.empty: 1})}))
		}, want: []string{listenerMoved}},
		{name: "weight moved from the full group to another full one", do: func(t *testing.T, f *backendsFixture) {
			must[*elbv2.ModifyListenerOutput](t)(f.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &f.listener, DefaultActions: weighted(map[string]int32{f.full: 1, f.spare: 0})}))
			must[*elbv2.ModifyListenerOutput](t)(f.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &f.listener, DefaultActions: weighted(map[string]int32{f.full: 0, f.spare: 1})}))
			must[*elbv2.ModifyListenerOutput](t)(f.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &f.listener, DefaultActions: forwardTo(f.spare)}))
		}},
		{name: "refused listener move records nothing", do: func(t *testing.T, f *backendsFixture) {
			_, err := f.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &f.listener, DefaultActions: forwardTo(f.empty + "0")})
			wantCode(t, err, "TargetGroupNotFound")
		}},
		{name: "listener deleted, then its group drained", do: func(t *testing.T, f *backendsFixture) {
			must[*elbv2.DeleteListenerOutput](t)(f.c.elbv2.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: &f.listener}))
			must[*elbv2.DeregisterTargetsOutput](t)(f.c.elbv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: &f.full, Targets: targetList(f.instances...)}))
		}},
		{name: "both kinds, in order", do: func(t *testing.T, f *backendsFixture) {
			must[*elbv2.ModifyListenerOutput](t)(f.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &f.listener, DefaultActions: forwardTo(f.empty)}))
			must[*elb.DeregisterInstancesFromLoadBalancerOutput](t)(f.c.elb.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{
				LoadBalancerName: aws.String("clb"), Instances: instanceList(f.instances...)}))
		}, want: []string{listenerMoved, classicEmptied}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newBackendsFixture(t)
			if got := f.c.srv.EmptiedBackends(); len(got) != 0 {
				t.Fatalf("EmptiedBackends after setup = %q, want none", got)
			}
			if tt.do != nil {
				tt.do(t, f)
			}
			if got := f.c.srv.EmptiedBackends(); !slices.Equal(got, tt.want) {
				t.Errorf("EmptiedBackends = %q, want %q", got, tt.want)
			}
		})
	}
}
