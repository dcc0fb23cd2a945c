package aws

import (
	"maps"
	"slices"
	"sync"
)

// The two caches here have one role, one per kind of load balancer: what the last apply of a
// Service left (or, for a Classic Load Balancer found without a cached state, what its
// observation showed), so that UpdateLoadBalancer's node-change fast path starts from it
// instead of reading the load balancer again. The entry points (loadbalancer.go) write them
// after an apply and drop an entry before one, so an entry is never a guess; every
// EnsureLoadBalancer observes the cloud and replaces it, so a change made by someone else is
// found by the next full sync (and the drift repair period bounds how long that takes).
// Observe's read-through caches (the VPC's subnets in cloud.go, the instances' security
// groups in observe_noderules.go) hold shared cluster facts, not a Service's state.

// classicState is what the last apply of one of our Classic Load Balancers left: its
// registered instances and its tags.
type classicState struct {
	instances []string
	tags      map[string]string
}

// classicCache holds classicState by load balancer name. Only load balancers observed with
// our ownership tag are put in it.
type classicCache struct {
	mu sync.Mutex
	m  map[string]classicState
}

func (c *classicCache) get(name string) (classicState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[name]
	if !ok {
		return classicState{}, false
	}
	return classicState{instances: slices.Clone(s.instances), tags: maps.Clone(s.tags)}, true
}

func (c *classicCache) put(name string, instances []string, tags map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]classicState{}
	}
	c.m[name] = classicState{instances: slices.Sorted(slices.Values(instances)), tags: maps.Clone(tags)}
}

// update changes a cached entry in place; it does nothing when name is not cached.
func (c *classicCache) update(name string, fn func(*classicState)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[name]
	if !ok {
		return
	}
	fn(&s)
	c.m[name] = s
}

func (c *classicCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, name)
}

// nlbState is what the last apply of one of our NLBs left: its ARN, DNS name, tags, the
// instances its target groups hold, and the target groups' ARNs by name (empty after a
// no-op sync, which does not read them).
type nlbState struct {
	arn, dns     string
	tags         map[string]string
	instances    []string
	targetGroups map[string]string
}

// nlbCache holds nlbState by NLB name.
type nlbCache struct {
	mu sync.Mutex
	m  map[string]nlbState
}

func (c *nlbCache) get(name string) (nlbState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[name]
	s.tags, s.instances, s.targetGroups = maps.Clone(s.tags), slices.Clone(s.instances), maps.Clone(s.targetGroups)
	return s, ok
}

func (c *nlbCache) put(name string, s nlbState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]nlbState{}
	}
	if old, ok := c.m[name]; ok && s.targetGroups == nil && old.arn == s.arn {
		s.targetGroups = old.targetGroups // a no-op sync keeps what a full one learnt
	}
	c.m[name] = s
}

func (c *nlbCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, name)
}
