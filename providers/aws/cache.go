package aws

import (
	"maps"
	"slices"
	"sync"

	"github.com/cloudlb/cloudlb/internal/intern"
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

// Memory. Most load balancers of a cluster target the same nodes, so the instance lists are
// interned (internal/intern): each cache keeps one sorted copy per distinct list, counted by the
// entries that use it, not one per load balancer (at 1,000 nodes a list is about 35 KB; 5,000
// copies were 175 MB). Entries hold the shared list; get returns a copy the caller may change.

// classicState is what the last apply of one of our Classic Load Balancers left: its
// registered instances and its tags.
type classicState struct {
	instances []string
	tags      map[string]string
}

// classicCache holds classicState by load balancer name. Only load balancers observed with
// our ownership tag are put in it.
type classicCache struct {
	mu   sync.Mutex
	m    map[string]classicState
	sets intern.Lists
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
	c.set(name, classicState{instances: instances, tags: maps.Clone(tags)})
}

// set stores s under name, interning its instances; the caller holds c.mu.
func (c *classicCache) set(name string, s classicState) {
	if old, ok := c.m[name]; ok {
		c.sets.Release(old.instances)
	}
	s.instances = c.sets.Intern(s.instances)
	c.m[name] = s
}

// update changes a cached entry; it does nothing when name is not cached. fn gets a copy.
func (c *classicCache) update(name string, fn func(*classicState)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[name]
	if !ok {
		return
	}
	s.instances, s.tags = slices.Clone(s.instances), maps.Clone(s.tags)
	fn(&s)
	c.set(name, s)
}

func (c *classicCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[name]; ok {
		c.sets.Release(old.instances)
		delete(c.m, name)
	}
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
	mu   sync.Mutex
	m    map[string]nlbState
	sets intern.Lists
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
	old, ok := c.m[name]
	if ok && s.targetGroups == nil && old.arn == s.arn {
		s.targetGroups = old.targetGroups // a no-op sync keeps what a full one learnt
	}
	if ok {
		c.sets.Release(old.instances)
	}
	s.instances = c.sets.Intern(s.instances)
	c.m[name] = s
}

func (c *nlbCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[name]; ok {
		c.sets.Release(old.instances)
		delete(c.m, name)
	}
}
