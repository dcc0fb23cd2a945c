package gce

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/providers"
	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// cacheTTL is how long instance tags and applied instance membership are trusted without
// reading them again: they are cluster-wide, not a per-Service cost.
const cacheTTL = 10 * time.Minute

// defaultEndpoint is the Compute API host.
const defaultEndpoint = "https://compute.googleapis.com"

// Options are the dependencies of a Cloud.
type Options struct {
	// Config is the parsed cloud config; nil means the zero config.
	Config  *CloudConfig
	Clients Clients
	// Limits are the client-side rate limits and retries; zero fields take the defaults.
	Limits Limits
	// Now is the clock of the caches; nil means time.Now.
	Now func() time.Time
}

// Cloud is the GCE provider. It implements cloudprovider.Interface (load balancers only)
// and cloudprovider.LoadBalancer, and is safe for concurrent use.
type Cloud struct {
	providers.LoadBalancerOnly

	cfg    *CloudConfig
	api    Clients
	limits *limiter
	now    func() time.Time

	// shared serialises the writes to objects several Services share (the node health
	// check and its firewall, instance groups, shared backend services) within this process.
	shared sync.Mutex

	mu sync.Mutex
	// tags are the network tags of instances per zone, for firewall target tags.
	tags map[string]zoneTags
	// members remembers the membership hash applied per load balancer, and groups the
	// instances applied per instance group zone, so unchanged node sets cost no read.
	members map[string]cached
	groups  map[string]cachedGroup
	// writes records this process's writes per load balancer (<lb>), so a Listing older than
	// a write is not trusted for it (listing.go).
	writes providers.WriteLog

	// globalNodeCheck is set once a backend service on a global health check (upstream's
	// internal load balancers, adopt.go) was seen: from then on, the shared health-check
	// firewall both kinds of node check use is deleted only with the last of them.
	globalNodeCheck bool
}

type zoneTags struct {
	byInstance map[string][]string
	at         time.Time
}

type cached struct {
	hash string
	at   time.Time
}

type cachedGroup struct {
	instances []string
	at        time.Time
}

var (
	_ cloudprovider.Interface    = (*Cloud)(nil)
	_ cloudprovider.LoadBalancer = (*Cloud)(nil)
)

// New builds a Cloud from its dependencies.
func New(o Options) *Cloud {
	if o.Config == nil {
		o.Config = &CloudConfig{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cloud{
		cfg: o.Config, api: o.Clients, limits: newLimiter(o.Limits), now: o.Now,
		tags: map[string]zoneTags{}, members: map[string]cached{}, groups: map[string]cachedGroup{},
	}
}

// NewFromConfig builds the provider with cloud.google.com/go/compute/apiv1 REST clients:
// Application Default Credentials, or none for token-url "nil" or an http loopback
// api-endpoint (a fake).
func NewFromConfig(ctx context.Context, cc *CloudConfig) (*Cloud, error) {
	if cc.Global.ProjectID == "" {
		return nil, fmt.Errorf("gce: no project: set project-id in [global] of the cloud config")
	}
	if cc.region() == "" {
		return nil, fmt.Errorf("gce: no region: set local-zone (or region) in [global] of the cloud config")
	}
	opts := []option.ClientOption{option.WithScopes("https://www.googleapis.com/auth/compute")}
	endpoint := defaultEndpoint
	if e := cc.endpoint(); e != "" {
		endpoint = e
		opts = append(opts, option.WithEndpoint(e))
	}
	if cc.noAuth() {
		opts = append(opts, option.WithoutAuthentication())
	}
	hc, _, err := htransport.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gce: building the HTTP client: %w", err)
	}
	// Every client shares one HTTP client (one connection pool, one token source), which
	// reports every write to the reconcile's auditor and every request to the metrics.
	if hc.Transport == nil {
		hc.Transport = http.DefaultTransport
	}
	hc.Transport = auditTransport{next: metricsTransport{next: hc.Transport, observe: cloudapi.Observe}}
	opts = append(opts, option.WithHTTPClient(hc))
	var cl Clients
	var errs []error
	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var e error
	cl.ForwardingRules, e = compute.NewForwardingRulesRESTClient(ctx, opts...)
	must(e)
	cl.Addresses, e = compute.NewAddressesRESTClient(ctx, opts...)
	must(e)
	addresses, e := compute.NewAddressesRESTClient(ctx, opts...)
	must(e)
	cl.AddressLabels = addresses
	cl.TargetPools, e = compute.NewTargetPoolsRESTClient(ctx, opts...)
	must(e)
	cl.RegionHealthChecks, e = compute.NewRegionHealthChecksRESTClient(ctx, opts...)
	must(e)
	cl.HealthChecks, e = compute.NewHealthChecksRESTClient(ctx, opts...)
	must(e)
	cl.BackendServices, e = compute.NewRegionBackendServicesRESTClient(ctx, opts...)
	must(e)
	cl.Firewalls, e = compute.NewFirewallsRESTClient(ctx, opts...)
	must(e)
	cl.InstanceGroups, e = compute.NewInstanceGroupsRESTClient(ctx, opts...)
	must(e)
	cl.Instances, e = compute.NewInstancesRESTClient(ctx, opts...)
	must(e)
	ops, e := compute.NewGlobalOperationsRESTClient(ctx, opts...)
	must(e)
	if len(errs) > 0 {
		return nil, fmt.Errorf("gce: building the Compute clients: %w", errs[0])
	}
	cl.HTTPHealthChecks = &restHTTPHealthChecks{endpoint: strings.TrimRight(endpoint, "/"), client: hc, ops: ops}
	return New(Options{Config: cc, Clients: cl}), nil
}

// LoadBalancer returns the cloud itself.
func (c *Cloud) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return c, true }

// ProviderName is "gce".
func (c *Cloud) ProviderName() string { return ProviderName }

// HasClusterID reports whether the cloud config names the cluster.
func (c *Cloud) HasClusterID() bool { return c.cfg.Global.ClusterID != "" }

// settings are Build's cluster-wide inputs.
func (c *Cloud) settings(clusterName string) Settings {
	id := c.cfg.Global.ClusterID
	if id == "" {
		id = clusterName
	}
	g := c.cfg.Global
	return Settings{
		ClusterID: SanitizeClusterID(id), Project: g.ProjectID, Region: c.cfg.region(),
		Network: c.cfg.networkURL(), Subnetwork: c.cfg.subnetworkURL(g.SubnetworkName), NetworkProject: c.cfg.networkProject(),
	}
}

// nodeTags are the firewall target tags: the config's node-tags, else for each node's
// instance the longest of its network tags that prefixes its name (upstream's rule), read
// with one Instances.List per zone and cached for cacheTTL.
func (c *Cloud) nodeTags(ctx context.Context, svc string, instances []instanceRef) ([]string, error) {
	if t := c.cfg.Global.NodeTags; len(t) > 0 {
		return slices.Clone(t), nil
	}
	var out []string
	for _, r := range instances {
		byInstance, err := c.zoneTags(ctx, r.Project, r.Zone)
		if err != nil {
			return nil, err
		}
		best := ""
		for _, t := range byInstance[r.Name] {
			if strings.HasPrefix(r.Name, t) && len(t) > len(best) {
				best = t
			}
		}
		if best == "" && len(byInstance[r.Name]) == 1 {
			best = byInstance[r.Name][0]
		}
		if best != "" {
			out = append(out, best)
		}
	}
	if len(out) == 0 && len(instances) > 0 {
		return nil, providers.NewUserError(svc, "no node-tags in the cloud config and no network tag of the node instances prefixes their names: set node-tags in [global] of gce.conf")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (c *Cloud) zoneTags(ctx context.Context, project, zone string) (map[string][]string, error) {
	key := project + "/" + zone
	c.mu.Lock()
	zt, ok := c.tags[key]
	c.mu.Unlock()
	if ok && c.now().Sub(zt.at) < cacheTTL {
		return zt.byInstance, nil
	}
	byInstance := map[string][]string{}
	err := c.limits.read(ctx, "Instances.List", func(ctx context.Context) error {
		it := c.api.Instances.List(ctx, &computepb.ListInstancesRequest{Project: project, Zone: zone})
		for {
			in, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			byInstance[in.GetName()] = in.GetTags().GetItems()
		}
	})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.tags[key] = zoneTags{byInstance: byInstance, at: c.now()}
	c.mu.Unlock()
	return byInstance, nil
}

// membershipApplied reports whether the membership hash was applied within cacheTTL.
func (c *Cloud) membershipApplied(name, hash string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[name]
	return ok && m.hash == hash && c.now().Sub(m.at) < cacheTTL
}

func (c *Cloud) setMembership(name, hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hash == "" {
		delete(c.members, name)
		return
	}
	c.members[name] = cached{hash: hash, at: c.now()}
}

// trimURL cuts a Compute URL to its partial form "projects/...".
func trimURL(u string) string {
	if i := strings.Index(u, "projects/"); i >= 0 {
		return u[i:]
	}
	return u
}

// lastSegment is the resource name at the end of a URL.
func lastSegment(u string) string { return u[strings.LastIndexByte(u, '/')+1:] }
