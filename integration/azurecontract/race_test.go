package azurecontract_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/cloudlb/cloudlb/integration/contract"
)

// raceRule is the NSG rule another writer adds while the controller writes the NSG.
const raceRule = "racer-allow-monitoring"

// TestConcurrentWriterRaces lets another ARM writer change the load balancer, then the NSG,
// between the controller's read and its conditional write: the controller's write gets 412
// PreconditionFailed, it reads again and writes on top of the other writer's change, which
// survives.
func TestConcurrentWriterRaces(t *testing.T) {
	tn := contract.NewTenant(t, shared.tenants)
	first := tn.Create(newService("first", nil))
	tn.WaitCheck(first.Name, "the first Service", has(public(1)))
	contract.WaitSettled(t, shared.fake, 0)
	ctx := context.Background()

	t.Run("load balancer", func(t *testing.T) {
		before := shared.wire.answers(http.StatusPreconditionFailed)
		raced := make(chan error, 1)
		shared.wire.race("/loadBalancers/"+publicLB, func() { raced <- tagLB(ctx, "racer", "was-here") })
		svc := tn.Create(newService("second", nil))
		if err := <-raced; err != nil {
			t.Fatalf("the other writer: %v", err)
		}
		tn.WaitCheck(svc.Name, "the second Service", all(has(public(1)), internetTo()))
		if err := contract.FirstErr(ownedIs(first, public(1)), contract.Want("the other writer's tag", deref(readLB(publicLB).Tags["racer"]), "was-here")); err != nil {
			t.Error(err)
		}
		if n := shared.wire.answers(http.StatusPreconditionFailed) - before; n == 0 {
			t.Error("no 412: the race did not happen")
		}
	})

	t.Run("network security group", func(t *testing.T) {
		before := shared.wire.answers(http.StatusPreconditionFailed)
		raced := make(chan error, 1)
		shared.wire.race("/networkSecurityGroups/"+nsgName, func() { raced <- addNSGRule(ctx) })
		t.Cleanup(func() {
			if err := removeNSGRule(context.Background()); err != nil {
				t.Errorf("removing %s: %v", raceRule, err)
			}
		})
		svc := tn.Create(newService("third", nil))
		if err := <-raced; err != nil {
			t.Fatalf("the other writer: %v", err)
		}
		tn.WaitCheck(svc.Name, "the third Service", all(has(public(1)), internetTo()))
		rules := nsgRules()
		if rules[raceRule] == nil || rules[userRule] == nil {
			t.Errorf("the other writers' rules are gone: %v", keys(rules))
		}
		if err := priorityClash(rules); err != nil {
			t.Error(err)
		}
		if n := shared.wire.answers(http.StatusPreconditionFailed) - before; n == 0 {
			t.Error("no 412: the race did not happen")
		}
	})
}

// tagLB adds a tag to the public load balancer, unconditionally, as another tool would.
func tagLB(ctx context.Context, k, v string) error {
	c := shared.f.NewLoadBalancersClient()
	got, err := c.Get(ctx, rg, publicLB, nil)
	if err != nil {
		return err
	}
	lb := got.LoadBalancer
	if lb.Tags == nil {
		lb.Tags = map[string]*string{}
	}
	lb.Tags[k] = to.Ptr(v)
	p, err := c.BeginCreateOrUpdate(ctx, rg, publicLB, lb, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, poll)
	}
	return err
}

// addNSGRule adds an inbound rule at the lowest free priority from 500, the one cloudlb
// was about to take.
func addNSGRule(ctx context.Context) error {
	return editNSG(ctx, func(nsg *armnetwork.SecurityGroup) {
		used := map[int32]bool{}
		for _, r := range nsg.Properties.SecurityRules {
			used[deref(r.Properties.Priority)] = true
		}
		prio := int32(500)
		for used[prio] {
			prio++
		}
		nsg.Properties.SecurityRules = append(nsg.Properties.SecurityRules, &armnetwork.SecurityRule{
			Name: to.Ptr(raceRule),
			Properties: &armnetwork.SecurityRulePropertiesFormat{
				Access: to.Ptr(armnetwork.SecurityRuleAccessAllow), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound),
				Priority: to.Ptr(prio), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP),
				SourceAddressPrefix: to.Ptr("192.0.2.10/32"), SourcePortRange: to.Ptr("*"),
				DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("9100"),
			},
		})
	})
}

func removeNSGRule(ctx context.Context) error {
	return editNSG(ctx, func(nsg *armnetwork.SecurityGroup) {
		var keep []*armnetwork.SecurityRule
		for _, r := range nsg.Properties.SecurityRules {
			if *r.Name != raceRule {
				keep = append(keep, r)
			}
		}
		nsg.Properties.SecurityRules = keep
	})
}

func editNSG(ctx context.Context, edit func(*armnetwork.SecurityGroup)) error {
	c := shared.f.NewSecurityGroupsClient()
	got, err := c.Get(ctx, rg, nsgName, nil)
	if err != nil {
		return err
	}
	nsg := got.SecurityGroup
	edit(&nsg)
	p, err := c.BeginCreateOrUpdate(ctx, rg, nsgName, nsg, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, poll)
	}
	return err
}

// priorityClash reports two inbound rules with one priority.
func priorityClash(rules map[string]*armnetwork.SecurityRulePropertiesFormat) error {
	seen := map[int32]string{}
	for n, r := range rules {
		p := deref(r.Priority)
		if other, ok := seen[p]; ok {
			return fmt.Errorf("rules %s and %s share priority %d", n, other, p)
		}
		seen[p] = n
	}
	return nil
}

func keys[V any](m map[string]V) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(out, ",")
}
