package aws_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"

	awsprovider "github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/providers"
)

// classicService is service() as a plain TCP Classic Load Balancer (no certificate).
func classicService() *v1.Service {
	svc := service()
	svc.Annotations = map[string]string{}
	return svc
}

// TestDeleteAfterRemovalByHand checks that a Service whose load balancer someone deleted in
// the console is released once everything else of it (target groups, node rules, managed
// group) is gone too: they are found by their tags, not through the missing load balancer.
func TestDeleteAfterRemovalByHand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		svc    *v1.Service
		config string
		remove func(e *env, t *testing.T)
	}{
		{"classic", classicService(), "", func(e *env, t *testing.T) {
			if _, err := e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String(lbName)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"nlb", nlbService(nil), "", removeNLB},
		{"nlb with a managed group", nlbService(nil), "NLBSecurityGroupMode = Managed", removeNLB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.config != "" {
				e.withCloudConfig(t, tt.config)
			}
			st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, tt.svc, e.nodes)
			if err != nil {
				t.Fatal(err)
			}
			tt.svc.Status.LoadBalancer = *st
			tt.remove(e, t)
			e.deleteAndCheckClean(t, tt.svc)
		})
	}
}

func removeNLB(e *env, t *testing.T) {
	t.Helper()
	if _, err := e.elbv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: e.nlb(t).LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteRetriesWhatFailed fails one step of an NLB's deletion and checks that the
// attempt reports a transient error (never a silent success that would drop the finalizer)
// and that the next attempt removes everything that is left.
func TestDeleteRetriesWhatFailed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op     awsprovider.Call
		code   string
		status int
	}{
		{awsprovider.NewCall(awsprovider.ServiceELBv2, "DeleteTargetGroup"), "ResourceInUse", 400},
		{awsprovider.NewCall(awsprovider.ServiceELBv2, "DeleteTargetGroup"), "ServiceUnavailable", 503},
		{awsprovider.NewCall(awsprovider.ServiceELBv2, "DescribeTargetGroups"), "ServiceUnavailable", 503},
		{awsprovider.NewCall(awsprovider.ServiceELBv2, "DeleteLoadBalancer"), "ServiceUnavailable", 503},
		{awsprovider.NewCall(awsprovider.ServiceEC2, "RevokeSecurityGroupIngress"), "InternalError", 500},
		{awsprovider.NewCall(awsprovider.ServiceEC2, "DescribeSecurityGroups"), "InternalError", 500},
	}
	for _, tt := range tests {
		t.Run(tt.op.Operation()+"/"+tt.code, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.withCloudConfig(t, "NLBSecurityGroupMode = Managed")
			svc := nlbService(nil)
			e.ensure(t, svc)
			e.srv.FailNext(tt.op, 1, &fakecore.APIError{Code: tt.code, Status: tt.status})
			err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc)
			var ue *providers.UserError
			if err == nil || errors.As(err, &ue) {
				t.Fatalf("first delete: err = %v, want a transient error", err)
			}
			e.deleteAndCheckClean(t, svc)
		})
	}
}

// TestStaleTargetGroupsRetried changes what names an NLB's target groups (the health-check
// protocol), fails the deletion of an old group and checks that the next sync deletes the
// old groups although no listener points at them any more.
func TestStaleTargetGroupsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := nlbService(nil)
	e.ensure(t, svc)
	before := e.srv.Inventory().TargetGroups
	svc.Annotations[prefix+"healthcheck-protocol"] = "http"
	// The first sync warms the new groups behind the old ones; the second moves the listeners.
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); !isRetry(err) {
		t.Fatalf("while the new target groups warm: err = %v, want a RetryError", err)
	}
	e.srv.FailNext(awsprovider.NewCall(awsprovider.ServiceELBv2, "DeleteTargetGroup"), 1, &fakecore.APIError{Code: "ServiceUnavailable", Status: 503})
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err == nil || isRetry(err) {
		t.Fatalf("the failed delete of an old target group was not reported: %v", err)
	}
	e.ensure(t, svc)
	after := e.srv.Inventory().TargetGroups
	if len(after) != len(before) {
		t.Fatalf("target groups before %v, after %v: want the old ones replaced", before, after)
	}
	for _, tg := range after {
		for _, old := range before {
			if tg == old {
				t.Errorf("old target group %s left", old)
			}
		}
	}
	e.deleteAndCheckClean(t, svc)
}

// TestFailedCreateThenDeleted fails one step of an NLB's creation after its target groups
// exist, then deletes the Service: the unattached groups are found by their tags.
func TestFailedCreateThenDeleted(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"CreateListener", "CreateLoadBalancer", "RegisterTargets"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			svc := nlbService(nil)
			e.srv.FailNext(awsprovider.NewCall(awsprovider.ServiceELBv2, op), 1, &fakecore.APIError{Code: "ServiceUnavailable", Status: 503})
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err == nil {
				t.Fatalf("%s failed and the create did not report it", op)
			}
			e.deleteAndCheckClean(t, svc)
		})
	}
}

// TestLostAnswers performs each write of a creation but loses AWS's answer (the client sees
// a 5xx), with and without the SDK's own retries: the next attempts converge to one load
// balancer with its parts, no duplicate, and deletion leaves nothing.
func TestLostAnswers(t *testing.T) {
	t.Parallel()
	withManaged := func(e *env, t *testing.T) { e.withCloudConfig(t, "NLBSecurityGroupMode = Managed") }
	tests := []struct {
		svc   func() *v1.Service
		setup func(*env, *testing.T)
		op    awsprovider.Call
	}{
		{classicService, nil, awsprovider.NewCall(awsprovider.ServiceELB, "CreateLoadBalancer")},
		{func() *v1.Service {
			svc := service()
			svc.Annotations[prefix+"proxy-protocol"] = "*"
			return svc
		}, nil, awsprovider.NewCall(awsprovider.ServiceELB, "CreateLoadBalancerPolicy")},
		{classicService, nil, awsprovider.NewCall(awsprovider.ServiceELB, "ConfigureHealthCheck")},
		{classicService, nil, awsprovider.NewCall(awsprovider.ServiceELB, "AddTags")},
		{classicService, nil, awsprovider.NewCall(awsprovider.ServiceEC2, "CreateSecurityGroup")},
		{classicService, nil, awsprovider.NewCall(awsprovider.ServiceEC2, "AuthorizeSecurityGroupIngress")},
		{func() *v1.Service { return nlbService(nil) }, nil, awsprovider.NewCall(awsprovider.ServiceELBv2, "CreateLoadBalancer")},
		{func() *v1.Service { return nlbService(nil) }, nil, awsprovider.NewCall(awsprovider.ServiceELBv2, "CreateTargetGroup")},
		{func() *v1.Service { return nlbService(nil) }, nil, awsprovider.NewCall(awsprovider.ServiceELBv2, "CreateListener")},
		{func() *v1.Service { return nlbService(nil) }, nil, awsprovider.NewCall(awsprovider.ServiceELBv2, "RegisterTargets")},
		{func() *v1.Service { return nlbService(nil) }, nil, awsprovider.NewCall(awsprovider.ServiceELBv2, "AddTags")},
		{func() *v1.Service { return nlbService(nil) }, withManaged, awsprovider.NewCall(awsprovider.ServiceEC2, "CreateSecurityGroup")},
		{func() *v1.Service { return nlbService(nil) }, nil, awsprovider.NewCall(awsprovider.ServiceEC2, "AuthorizeSecurityGroupIngress")},
	}
	for _, tt := range tests {
		for _, attempts := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%s/attempts-%d", tt.svc().Annotations[prefix+"type"], tt.op, attempts), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, func(c *aws.Config) { c.RetryMaxAttempts = attempts })
				if tt.setup != nil {
					tt.setup(e, t)
				}
				svc := tt.svc()
				e.srv.FailNext(tt.op, 1, fakecore.ErrLost)
				_, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
				if attempts == 1 && err == nil {
					t.Fatalf("the lost answer of %s was not reported", tt.op)
				}
				e.ensure(t, svc)
				inv := e.srv.Inventory()
				if n := len(inv.ClassicLoadBalancers) + len(inv.LoadBalancers); n != 1 {
					t.Errorf("%d load balancers, want 1: %+v", n, inv)
				}
				if want := 2 * len(inv.LoadBalancers); len(inv.TargetGroups) != want || len(inv.Listeners) != want {
					t.Errorf("%d target groups and %d listeners, want %d", len(inv.TargetGroups), len(inv.Listeners), want)
				}
				managed := 0
				for _, g := range inv.SecurityGroups {
					if strings.HasPrefix(g.Name, "k8s-elb-") {
						managed++
					}
				}
				if want := len(inv.ClassicLoadBalancers); tt.setup != nil {
					want = 1
					if managed != want {
						t.Errorf("%d managed groups, want %d", managed, want)
					}
				} else if managed != want {
					t.Errorf("%d managed groups, want %d", managed, want)
				}
				e.deleteAndCheckClean(t, svc)
			})
		}
	}
}
