package aws_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/providers"
)

// TestLoadBalancerNameAnnotation checks aws-load-balancer-name on both kinds: the load
// balancer gets the name, a later change of it is a user error (AWS cannot rename, and a
// new one would orphan the old), another Service cannot take a name in use, and deletion
// finds the load balancer even when the annotation was added after creation.
func TestLoadBalancerNameAnnotation(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"classic", "nlb"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			svc := nlbService(map[string]string{prefix + "name": "shop-web"})
			if kind == "classic" {
				delete(svc.Annotations, prefix+"type")
			}
			lbs := func() []string {
				inv := e.srv.Inventory()
				return append(inv.LoadBalancers, inv.ClassicLoadBalancers...)
			}
			st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
			if err != nil {
				t.Fatal(err)
			}
			if got := lbs(); len(got) != 1 || got[0] != "shop-web" || st.Ingress[0].Hostname != e.dnsName(t, kind, "shop-web") ||
				e.cloud.GetLoadBalancerName(ctx, cluster, svc) != "shop-web" {
				t.Fatalf("load balancers %v, status %+v", got, st)
			}
			svc.Status.LoadBalancer = *st
			e.ensure(t, svc)
			if _, exists, err := e.cloud.GetLoadBalancer(ctx, cluster, svc); err != nil || !exists {
				t.Errorf("GetLoadBalancer = %v, %v", exists, err)
			}

			var ue *providers.UserError
			svc.Annotations[prefix+"name"] = "shop-web-2"
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); !errors.As(err, &ue) || !strings.Contains(err.Error(), "aws-load-balancer-name") {
				t.Errorf("renaming: err = %v, want a user error naming the key", err)
			}
			svc.Annotations[prefix+"name"] = "shop-web"

			other := service()
			other.Annotations = maps.Clone(svc.Annotations)
			other.Name, other.UID = "other", types.UID("0a0a0a0a-0b0b-0c0c-0d0d-0e0e0e0e0e0e")
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, other, e.nodes); !errors.As(err, &ue) || !strings.Contains(err.Error(), "belongs to Service shop/web") {
				t.Errorf("same name for another Service: err = %v", err)
			}
			// Deleting the other Service leaves this one's load balancer alone.
			if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, other); err != nil {
				t.Errorf("deleting the other Service: %v", err)
			}
			if got := lbs(); len(got) != 1 || e.group(t, "k8s-elb-shop-web") == nil && kind == "classic" {
				t.Fatalf("after the other Service: %v, %+v", got, e.srv.Inventory().SecurityGroups)
			}
			e.deleteAndCheckClean(t, svc)
			svc.Status.LoadBalancer = v1.LoadBalancerStatus{}

			// Created under the default name, annotated afterwards: rejected, and the
			// deletion still finds the load balancer.
			delete(svc.Annotations, prefix+"name")
			st, err = e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
			if err != nil {
				t.Fatal(err)
			}
			svc.Status.LoadBalancer = *st
			svc.Annotations[prefix+"name"] = "late"
			if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); !errors.As(err, &ue) {
				t.Errorf("annotation added later: err = %v", err)
			}
			e.deleteAndCheckClean(t, svc)
		})
	}
}

// dnsName is the DNS name AWS reports for the load balancer of kind ("classic" or "nlb").
func (e *env) dnsName(t *testing.T, kind, name string) string {
	t.Helper()
	if kind == "classic" {
		out, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.LoadBalancerDescriptions[0].DNSName)
	}
	out, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.LoadBalancers[0].DNSName)
}
