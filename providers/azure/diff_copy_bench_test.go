package azure

import (
	"fmt"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// BenchmarkDiffUnchangedService is the CPU cost of one unchanged Service's load balancer
// diff among n Services sharing the load balancer, without the fake or HTTP: the part of a
// restart pass that grew with n when each diff copied the whole load balancer (issue 16).
func BenchmarkDiffUnchangedService(b *testing.B) {
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			var models []*Model
			for i := range n {
				models = append(models, sharedModel(b, i, nil))
			}
			// The load balancer as n reconciles leave it, assembled directly: writing it
			// through n diffs would copy it n times.
			lb := newLoadBalancer(models[0])
			lb.Properties = &armnetwork.LoadBalancerPropertiesFormat{}
			for _, m := range models {
				w := desiredParts(m, testLBID)
				lb.Properties.FrontendIPConfigurations = append(lb.Properties.FrontendIPConfigurations, w.frontends...)
				lb.Properties.Probes = append(lb.Properties.Probes, w.probes...)
				lb.Properties.LoadBalancingRules = append(lb.Properties.LoadBalancingRules, w.rules...)
			}
			syncPool(lb.Properties, models[0].Pool)
			m := models[n/2]
			for b.Loop() {
				if _, changes, err := DiffLoadBalancer(lb, m, testLBID, false); err != nil || len(changes) != 0 {
					b.Fatalf("an unchanged Service: %v, changes %q", err, changes)
				}
			}
		})
	}
}
