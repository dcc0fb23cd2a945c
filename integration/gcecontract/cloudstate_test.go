package gcecontract_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/option"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/integration/contract"
	cloudgce "github.com/cloudlb/cloudlb/providers/gce"
)

// The suite reads the cloud through its own apiv1 clients, as a user with gcloud would.

const internal = "networking.gke.io/load-balancer-type"

// clientOpts point the suite's own apiv1 clients at the fake.
func clientOpts() []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(shared.endpoint), option.WithoutAuthentication()}
}

func firewall(t *testing.T, name string) *computepb.Firewall {
	t.Helper()
	c, err := compute.NewFirewallsRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fw, err := c.Get(t.Context(), &computepb.GetFirewallRequest{Project: project, Firewall: name})
	if err != nil {
		return nil
	}
	return fw
}

func targetPoolInstances(t *testing.T, name string) []string {
	t.Helper()
	c, err := compute.NewTargetPoolsRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tp, err := c.Get(t.Context(), &computepb.GetTargetPoolRequest{Project: project, Region: region, TargetPool: name})
	if err != nil {
		return nil
	}
	var out []string
	for _, i := range tp.GetInstances() {
		out = append(out, i[strings.LastIndexByte(i, '/')+1:])
	}
	slices.Sort(out)
	return out
}

// resources are the fake's resources of one Service (by the description naming it), as
// "kind name".
func resources(service string) map[string]string {
	out := map[string]string{}
	for _, r := range shared.fake.Resources() {
		if strings.Contains(r.Description, `"kubernetes.io/service-name":"`+service+`"`) {
			out[strings.TrimPrefix(r.Kind, "compute#")+" "+r.Name] = r.Description
		}
	}
	return out
}

func hasResource(kind, name string) bool {
	for _, r := range shared.fake.Resources() {
		if r.Kind == "compute#"+kind && r.Name == name {
			return true
		}
	}
	return false
}

// withLB replaces <lb> by the Service's load balancer name, sorted.
func withLB(svc *v1.Service, kindNames []string) []string {
	lb := cloudgce.LoadBalancerName(svc)
	var out []string
	for _, w := range kindNames {
		out = append(out, strings.ReplaceAll(w, "<lb>", lb))
	}
	slices.Sort(out)
	return out
}

// ownedExactly checks that the cloud holds exactly want ("kind name", <lb> standing for the
// load balancer name) among the objects whose description names the Service.
func ownedExactly(want []string) contract.Check {
	return func(_ *testing.T, svc *v1.Service) error {
		return contract.Want("resources of "+contract.Key(svc), fmt.Sprint(slices.Sorted(maps.Keys(resources(contract.Key(svc))))), fmt.Sprint(withLB(svc, want)))
	}
}

// ownsAtLeast checks that the objects whose description names the Service include want.
func ownsAtLeast(want ...string) contract.Check {
	return func(_ *testing.T, svc *v1.Service) error {
		res := resources(contract.Key(svc))
		for _, w := range withLB(svc, want) {
			if _, ok := res[w]; !ok {
				return fmt.Errorf("missing %s in %v", w, slices.Sorted(maps.Keys(res)))
			}
		}
		return nil
	}
}

func rule(t *testing.T, name string) *computepb.ForwardingRule {
	t.Helper()
	c, err := compute.NewForwardingRulesRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Get(t.Context(), &computepb.GetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: name})
	if err != nil {
		return nil
	}
	return r
}

func backendService(t *testing.T, name string) *computepb.BackendService {
	t.Helper()
	c, err := compute.NewRegionBackendServicesRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := c.Get(t.Context(), &computepb.GetRegionBackendServiceRequest{Project: project, Region: region, BackendService: name})
	if err != nil {
		return nil
	}
	return b
}

// reserveAddress reserves an external address the way a user would and releases it when
// the test ends; it returns the IP.
func reserveAddress(t *testing.T, name string) string {
	t.Helper()
	c, err := compute.NewAddressesRESTClient(context.Background(), clientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	op, err := c.Insert(t.Context(), &computepb.InsertAddressRequest{Project: project, Region: region,
		AddressResource: &computepb.Address{Name: &name}})
	if err == nil {
		err = op.Wait(t.Context())
	}
	if err != nil {
		t.Fatalf("reserve address %s: %v", name, err)
	}
	a, err := c.Get(t.Context(), &computepb.GetAddressRequest{Project: project, Region: region, Address: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := compute.NewAddressesRESTClient(context.Background(), clientOpts()...)
		if err != nil {
			return
		}
		defer c.Close()
		// After the test's Services are gone (cleanups run last-in first-out, and the
		// tenant was created first); the address must still be there: it is the user's.
		if op, err := c.Delete(context.Background(), &computepb.DeleteAddressRequest{Project: project, Region: region, Address: name}); err != nil {
			t.Errorf("the user's address %s was released by the provider: %v", name, err)
		} else {
			_ = op.Wait(context.Background())
		}
	})
	return a.GetAddress()
}

// waitRule waits until the Service's forwarding rule satisfies ok.
func waitRule(t *testing.T, lb string, ok func(*computepb.ForwardingRule) error) {
	t.Helper()
	waitFor(t, "forwarding rule "+lb, func() (bool, string) {
		r := rule(t, lb)
		if r == nil {
			return false, "no rule"
		}
		if err := ok(r); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// ruleIs checks the Service's forwarding rule.
func ruleIs(ok func(*computepb.ForwardingRule) error) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		r := rule(t, cloudgce.LoadBalancerName(svc))
		if r == nil {
			return fmt.Errorf("no rule")
		}
		return ok(r)
	}
}

// backendIs checks the backend service the Service's rule names.
func backendIs(ok func(*computepb.BackendService) error) contract.Check {
	return func(t *testing.T, svc *v1.Service) error {
		r := rule(t, cloudgce.LoadBalancerName(svc))
		if r == nil || r.GetBackendService() == "" {
			return fmt.Errorf("rule %v", r)
		}
		b := backendService(t, lastSegment(r.GetBackendService()))
		if b == nil {
			return fmt.Errorf("no backend service")
		}
		return ok(b)
	}
}

func lastSegment(u string) string {
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '/' {
			return u[i+1:]
		}
	}
	return u
}
