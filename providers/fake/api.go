package fake

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cloudlb/cloudlb/providers"
)

// Errors of the simulated cloud API. None is a user error: the controller retries them.
var (
	// ErrPoolExhausted means every address of the pool is assigned.
	ErrPoolExhausted = errors.New("address pool exhausted")
	// ErrNotFound means the load balancer does not exist.
	ErrNotFound = errors.New("load balancer not found")
	// ErrConflict means the load balancer changed under us (created, deleted or taken over by
	// another writer since it was read).
	ErrConflict = errors.New("load balancer changed concurrently")
)

// The simulated cloud API: one function per operation, each one call. The writes re-check
// what they rely on under the store's exclusive lock, as a real API checks its preconditions,
// because another process may have written since the read.

// describe reads the load balancer called name; nil when absent (OpGet).
func (c *Cloud) describe(ctx context.Context, name string) (*LoadBalancer, error) {
	var found *LoadBalancer
	err := c.call(ctx, OpGet, func() error {
		return c.store.view(func(lbs map[string]LoadBalancer) error {
			if lb, ok := lbs[name]; ok {
				lb = lb.clone()
				found = &lb
			}
			return nil
		})
	})
	return found, err
}

// create makes desired with the first free address of its pool (OpCreate).
func (c *Cloud) create(ctx context.Context, desired LoadBalancer) (LoadBalancer, error) {
	defer c.writes.Wrote(desired.Name)
	lb := desired.clone()
	err := c.call(ctx, OpCreate, func() error {
		return c.store.update(func(lbs map[string]LoadBalancer) error {
			if _, ok := lbs[lb.Name]; ok {
				return fmt.Errorf("creating %s: %w: it already exists", lb.Name, ErrConflict)
			}
			pool := c.external
			if lb.Internal {
				pool = c.internal
			}
			ip, err := allocate(pool, lbs)
			if err != nil {
				return fmt.Errorf("creating %s: %w", lb.Name, err)
			}
			lb.IP, lb.Hostname, lb.LastWriter = ip.String(), lb.Name+hostnameSuffix, c.cfg.Identity
			c.store.put(lbs, lb.clone())
			return nil
		})
	})
	providers.AuditWrite(ctx, providers.Write{Cloud: ProviderName, Operation: "CreateLoadBalancer", Object: lb.Name, Change: providers.ChangeCreated}, err)
	return lb, err
}

// modify updates the existing load balancer to desired in place, keeping its address
// (OpUpdate); the scheme (internal) cannot change in place.
func (c *Cloud) modify(ctx context.Context, desired LoadBalancer) (LoadBalancer, error) {
	defer c.writes.Wrote(desired.Name)
	lb := desired.clone()
	err := c.call(ctx, OpUpdate, func() error {
		return c.store.update(func(lbs map[string]LoadBalancer) error {
			cur, err := owned(lbs, lb.Name, lb.ClusterName)
			if err != nil {
				return fmt.Errorf("updating %s: %w", lb.Name, err)
			}
			if cur.Internal != lb.Internal {
				return fmt.Errorf("updating %s: %w: internal cannot change in place", lb.Name, ErrConflict)
			}
			lb.IP, lb.Hostname, lb.LastWriter = cur.IP, cur.Hostname, c.cfg.Identity
			c.store.put(lbs, lb.clone())
			return nil
		})
	})
	providers.AuditWrite(ctx, providers.Write{Cloud: ProviderName, Operation: "UpdateLoadBalancer", Object: lb.Name}, err)
	return lb, err
}

// setBackends replaces the backend nodes of an existing load balancer (OpUpdateNodes).
func (c *Cloud) setBackends(ctx context.Context, name, clusterName string, nodes []string) error {
	defer c.writes.Wrote(name)
	err := c.call(ctx, OpUpdateNodes, func() error {
		return c.store.update(func(lbs map[string]LoadBalancer) error {
			cur, err := owned(lbs, name, clusterName)
			if err != nil {
				return fmt.Errorf("setting the backends of %s: %w", name, err)
			}
			cur = cur.clone()
			cur.Nodes = append([]string(nil), nodes...)
			cur.LastWriter = c.cfg.Identity
			c.store.put(lbs, cur)
			return nil
		})
	})
	providers.AuditWrite(ctx, providers.Write{Cloud: ProviderName, Operation: "SetBackends", Object: name}, err)
	return err
}

// remove deletes the load balancer; an absent one is already deleted (OpDelete).
func (c *Cloud) remove(ctx context.Context, name, clusterName string) error {
	defer c.writes.Wrote(name)
	existed := false
	err := c.call(ctx, OpDelete, func() error {
		return c.store.update(func(lbs map[string]LoadBalancer) error {
			if _, ok := lbs[name]; !ok {
				return nil
			}
			if _, err := owned(lbs, name, clusterName); err != nil {
				return fmt.Errorf("deleting %s: %w", name, err)
			}
			c.store.del(lbs, name)
			existed = true
			return nil
		})
	})
	if existed || err != nil {
		providers.AuditWrite(ctx, providers.Write{Cloud: ProviderName, Operation: "DeleteLoadBalancer", Object: name, Change: providers.ChangeDeleted}, err)
	}
	return err
}

// owned returns the load balancer called name if it exists and belongs to clusterName.
func owned(lbs map[string]LoadBalancer, name, clusterName string) (LoadBalancer, error) {
	cur, ok := lbs[name]
	switch {
	case !ok:
		return cur, ErrNotFound
	case cur.ClusterName != clusterName:
		return cur, fmt.Errorf("%w: now owned by cluster %q", ErrConflict, cur.ClusterName)
	}
	return cur, nil
}

// allocate returns the first address of pool no load balancer holds. The network address and,
// for IPv4 pools larger than /31, the broadcast address are never handed out.
func allocate(pool netip.Prefix, lbs map[string]LoadBalancer) (netip.Addr, error) {
	used := make(map[netip.Addr]bool, len(lbs))
	for _, lb := range lbs {
		if a, err := netip.ParseAddr(lb.IP); err == nil {
			used[a] = true
		}
	}
	// The loop ends after at most len(lbs)+2 steps: only that many addresses can be taken.
	for a := pool.Addr(); a.IsValid() && pool.Contains(a); a = a.Next() {
		if pool.Bits() < a.BitLen()-1 {
			if a == pool.Addr() || a.Is4() && !pool.Contains(a.Next()) {
				continue
			}
		}
		if !used[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: every address of %s is assigned", ErrPoolExhausted, pool)
}
