package servicecontroller_test

import (
	"context"
	"slices"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
	"github.com/cloudlb/cloudlb/providers/fake"
)

// Methods of cloudprovider.LoadBalancer, as recorded by recordingCloud.
const (
	methodGet    = "GetLoadBalancer"
	methodEnsure = "EnsureLoadBalancer"
	methodUpdate = "UpdateLoadBalancer"
	methodDelete = "EnsureLoadBalancerDeleted"
)

// call is one call the controller made through recordingCloud.
type call struct {
	method  string
	service string // namespace/name
	at      time.Time
}

// recordingCloud wraps the fake cloud and records every call with its Service and time: the
// fake counts calls per operation for the whole cloud, the tests also need them per Service
// (other tests' controllers see every Service) and the spacing of retries.
type recordingCloud struct {
	*fake.Cloud

	mu    sync.Mutex
	calls []call
}

var (
	_ cloudprovider.LoadBalancer = (*recordingCloud)(nil)
	_ providers.Configured       = (*recordingCloud)(nil)
)

func newRecordingCloud(c *fake.Cloud) *recordingCloud { return &recordingCloud{Cloud: c} }

func (r *recordingCloud) record(method string, svc *v1.Service) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{method: method, service: svc.Namespace + "/" + svc.Name, at: time.Now()})
}

// ensuredSince counts the distinct Services ensured at or after t.
func (r *recordingCloud) ensuredSince(t time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range r.calls {
		if c.method == methodEnsure && !c.at.Before(t) {
			seen[c.service] = true
		}
	}
	return len(seen)
}

// callsFor returns the recorded calls for the Service ns/name, of the given methods (all when
// none is given), in call order.
func (r *recordingCloud) callsFor(service string, methods ...string) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []call
	for _, c := range r.calls {
		if c.service == service && (len(methods) == 0 || slices.Contains(methods, c.method)) {
			out = append(out, c)
		}
	}
	return out
}

// GetLoadBalancer records the call and delegates to the fake.
func (r *recordingCloud) GetLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	r.record(methodGet, svc)
	return r.Cloud.GetLoadBalancer(ctx, clusterName, svc)
}

// EnsureLoadBalancer records the call and delegates to the fake.
func (r *recordingCloud) EnsureLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	r.record(methodEnsure, svc)
	return r.Cloud.EnsureLoadBalancer(ctx, clusterName, svc, nodes)
}

// EnsureLoadBalancerConfigured records the call as an Ensure and delegates to the fake: the
// controller calls it, not EnsureLoadBalancer, on a provider that takes parsed configs.
func (r *recordingCloud) EnsureLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	r.record(methodEnsure, svc)
	return r.Cloud.EnsureLoadBalancerConfigured(ctx, clusterName, svc, cfg, nodes)
}

// UpdateLoadBalancerConfigured records the call as an Update and delegates to the fake.
func (r *recordingCloud) UpdateLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) error {
	r.record(methodUpdate, svc)
	return r.Cloud.UpdateLoadBalancerConfigured(ctx, clusterName, svc, cfg, nodes)
}

// UpdateLoadBalancer records the call and delegates to the fake.
func (r *recordingCloud) UpdateLoadBalancer(ctx context.Context, clusterName string, svc *v1.Service, nodes []*v1.Node) error {
	r.record(methodUpdate, svc)
	return r.Cloud.UpdateLoadBalancer(ctx, clusterName, svc, nodes)
}

// EnsureLoadBalancerDeleted records the call and delegates to the fake.
func (r *recordingCloud) EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, svc *v1.Service) error {
	r.record(methodDelete, svc)
	return r.Cloud.EnsureLoadBalancerDeleted(ctx, clusterName, svc)
}
