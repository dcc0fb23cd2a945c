package fake

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/providers"
)

// Cloud is the fake cloud. It implements cloudprovider.Interface (load balancers only) and
// cloudprovider.LoadBalancer, and is safe for concurrent use.
type Cloud struct {
	providers.LoadBalancerOnly

	cfg                Config
	external, internal netip.Prefix
	store              store
	faults             *faults
	// writes records this process's writes for the first pass's Listing (listing.go).
	writes providers.WriteLog
}

var (
	_ cloudprovider.Interface    = (*Cloud)(nil)
	_ cloudprovider.LoadBalancer = (*Cloud)(nil)
)

// New builds a fake cloud from cfg (unset pools take their defaults). With cfg.StatePath set,
// the state is read from and written to that file, shared with other processes.
func New(cfg Config) (*Cloud, error) {
	cfg = cfg.withDefaults()
	external, internal, err := cfg.pools()
	if err != nil {
		return nil, fmt.Errorf("%s cloud config: %w", ProviderName, err)
	}
	c := &Cloud{cfg: cfg, external: external, internal: internal, faults: newFaults(cfg.Latency.Duration)}
	if cfg.StatePath == "" {
		c.store = newMemStore()
		return c, nil
	}
	if c.store, err = newFileStore(cfg.StatePath); err != nil {
		return nil, fmt.Errorf("%s cloud config: %w", ProviderName, err)
	}
	return c, nil
}

// LoadBalancers returns every load balancer of the cloud (read from the state file when
// persisted), sorted by name. It is an inspection hook for tests and the demo, not a cloud call:
// it is not counted and ignores injected errors and latency.
func (c *Cloud) LoadBalancers() ([]LoadBalancer, error) {
	var out []LoadBalancer
	err := c.store.view(func(lbs map[string]LoadBalancer) error {
		out = make([]LoadBalancer, 0, len(lbs))
		for _, lb := range lbs {
			out = append(out, lb.clone())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b LoadBalancer) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// LoadBalancer returns the cloud itself.
func (c *Cloud) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return c, true }

// ProviderName returns ProviderName.
func (c *Cloud) ProviderName() string { return ProviderName }

// HasClusterID is true: ownership is decided by the cluster name the controller passes.
func (c *Cloud) HasClusterID() bool { return true }
