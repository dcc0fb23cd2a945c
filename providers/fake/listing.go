package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudlb/cloudlb/providers"
)

var _ providers.Lister = (*Cloud)(nil)

// ListLoadBalancers lists the load balancers clusterName owns in one call (OpList), for the
// controller's first pass (providers.Lister). The fake keeps no spec hash on the load balancer,
// so the listing computes it from the stored spec, as a real cloud's tag would record it.
func (c *Cloud) ListLoadBalancers(ctx context.Context, clusterName string) (*providers.Listing, error) {
	l := &providers.Listing{Seq: c.writes.Begin(), At: time.Now(), Entries: map[string]providers.Listed{}}
	err := c.call(ctx, OpList, func() error {
		return c.store.view(func(lbs map[string]LoadBalancer) error {
			for name, lb := range lbs {
				if lb.ClusterName == clusterName {
					l.Entries[name] = providers.Listed{SpecHash: specHash(lb), Status: c.status(lb)}
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing the load balancers of cluster %s: %w", clusterName, err)
	}
	return l, nil
}

// specHash is the hash of the fields sameSpec compares.
func specHash(lb LoadBalancer) string {
	spec := lb.clone()
	spec.IP, spec.Hostname, spec.LastWriter = "", "", ""
	for _, s := range []*[]string{&spec.Nodes, &spec.SourceRanges} {
		if len(*s) == 0 {
			*s = nil // the state file drops empty lists
		}
	}
	if len(spec.Ports) == 0 {
		spec.Ports = nil
	}
	b, _ := json.Marshal(spec) // a struct of strings, ints and slices: never fails
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
