package azure

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// maxConflictRetries bounds the re-read and retry of one write that lost a race (412).
const maxConflictRetries = 6

// Options are the dependencies of a Cloud.
type Options struct {
	// Config is the parsed cloud config; nil means the defaults.
	Config *CloudConfig
	// Network is the ARM client (or anything with the same verbs).
	Network network
}

// Cloud is the Azure provider. It implements cloudprovider.Interface (load balancers only)
// and cloudprovider.LoadBalancer, and is safe for concurrent use: writes to one load
// balancer (or one NSG) are serialised by a lock per resource, different load balancers
// proceed in parallel.
type Cloud struct {
	providers.LoadBalancerOnly

	cfg *CloudConfig
	api network
	// limiter is the token buckets and attempt counts of the clients NewWithCredential
	// built; nil for a Cloud built by New.
	limiter *budgets

	locks keyedMutex
	// writes records the writes to each resource, against the Listings of ListLoadBalancers.
	writes providers.WriteLog

	mu sync.Mutex
	// placed remembers, per Service UID, where the last successful reconcile put the
	// Service, so the opposite load balancer and stale public IPs are only looked at when
	// that changes (or after a restart).
	placed map[types.UID]placement
}

// placement is where a Service's frontend was last ensured.
type placement struct {
	internal bool
	// pipID is the public IP's ID ("" for internal Services).
	pipID string
	// plsID is the Private Link Service's ID ("" without one).
	plsID string
	// frontend is the IPv4 frontend's name.
	frontend string
	// kept is the configuration the replacement guard kept the Service on (nil when it is
	// as asked); UpdateLoadBalancer builds with it.
	kept *annotations.AzureConfig
}

var (
	_ cloudprovider.Interface    = (*Cloud)(nil)
	_ cloudprovider.LoadBalancer = (*Cloud)(nil)
)

// New builds a Cloud from its dependencies.
func New(o Options) *Cloud {
	if o.Config == nil {
		o.Config, _ = ParseCloudConfig(nil)
	}
	return &Cloud{cfg: o.Config, api: o.Network, placed: map[types.UID]placement{}}
}

// LoadBalancer returns the cloud itself.
func (c *Cloud) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return c, true }

// ProviderName is "azure".
func (c *Cloud) ProviderName() string { return ProviderName }

// HasClusterID is true: the cluster name comes from --cluster-name (or the config).
func (c *Cloud) HasClusterID() bool { return true }

func (c *Cloud) placement(uid types.UID) (placement, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.placed[uid]
	return p, ok
}

func (c *Cloud) setPlacement(uid types.UID, p *placement) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p == nil {
		delete(c.placed, uid)
		return
	}
	c.placed[uid] = *p
}

// keyedMutex is one mutex per key (a load balancer or NSG ID), created on first use.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

// lock locks key's mutex and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*sync.Mutex{}
	}
	l, ok := k.m[key]
	if !ok {
		l = &sync.Mutex{}
		k.m[key] = l
	}
	k.mu.Unlock()
	l.Lock()
	return l.Unlock
}
