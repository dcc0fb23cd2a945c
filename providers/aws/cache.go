package aws

import (
	"maps"
	"slices"
	"sync"
)

// classicState is what the last observation of one of our Classic Load Balancers, followed
// by our own writes, left: its registered instances and its tags. UpdateLoadBalancer (node
// churn) starts from it instead of reading the load balancer again; every EnsureLoadBalancer
// reads the load balancer and replaces it, so a change made by someone else is found by the
// next full sync (and the drift repair period bounds how long that takes).
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

// nlbState is what the last sync of one of our NLBs left: its ARN, DNS name, tags, the
// instances its target groups hold, and the target groups' ARNs by name (empty after a
// no-op sync, which does not read them). Like classicState it lets a node change skip the
// reads; every EnsureLoadBalancer replaces it.
type nlbState struct {
	arn, dns     string
	tags         map[string]string
	instances    []string
	targetGroups map[string]string
}

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
