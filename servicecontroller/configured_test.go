package servicecontroller

import (
	"context"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// cfgCloud is a recCloud that takes parsed configs (providers.Configured) for cloud.
type cfgCloud struct {
	*recCloud
	cloud annotations.Cloud

	mu      sync.Mutex
	configs []*annotations.Config // what the controller handed over, in order
}

var _ providers.Configured = (*cfgCloud)(nil)

func (c *cfgCloud) AnnotationCloud() annotations.Cloud { return c.cloud }

func (c *cfgCloud) record(cfg *annotations.Config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.configs = append(c.configs, cfg)
}

func (c *cfgCloud) EnsureLoadBalancerConfigured(ctx context.Context, cluster string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	c.record(cfg)
	return c.recCloud.EnsureLoadBalancer(ctx, cluster, svc, nodes)
}

func (c *cfgCloud) UpdateLoadBalancerConfigured(ctx context.Context, cluster string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) error {
	c.record(cfg)
	return c.recCloud.UpdateLoadBalancer(ctx, cluster, svc, nodes)
}

// The cloudprovider methods must not be used when the provider takes parsed configs.
func (c *cfgCloud) EnsureLoadBalancer(context.Context, string, *v1.Service, []*v1.Node) (*v1.LoadBalancerStatus, error) {
	panic("EnsureLoadBalancer called on a providers.Configured provider")
}

func (c *cfgCloud) UpdateLoadBalancer(context.Context, string, *v1.Service, []*v1.Node) error {
	panic("UpdateLoadBalancer called on a providers.Configured provider")
}

// TestConfiguredProviderGetsTheParsedConfig: with a provider that takes parsed configs, the
// controller parses for the provider's cloud (whatever Options.AnnotationCloud says), refuses
// a Service invalid for that cloud before any cloud call, and hands the provider the config it
// parsed, on creation and on node changes.
func TestConfiguredProviderGetsTheParsedConfig(t *testing.T) {
	t.Parallel()
	const gceTier = "cloud.google.com/network-tier"
	f := newFixture(t, Options{AnnotationCloud: annotations.AWS})
	cloud := &cfgCloud{recCloud: f.cloud, cloud: annotations.GCE}
	f.core = newCore(f.core.opts, cloud, f.writer, f.events, f.core.nodes)

	bad := f.add(lbService("bad", withAnnotation(gceTier, "Gold")))
	if err := f.sync(bad); err == nil {
		t.Error("a Service with an invalid GCE annotation synced without error on a GCE provider")
	}
	if got := f.cloud.count(callEnsure); got != 0 {
		t.Errorf("%d Ensure calls for an invalid Service, want 0", got)
	}

	good := f.add(lbService("good", withAnnotation(gceTier, "Standard")))
	f.mustSync(good)
	f.setNodes(node("node-a"), node("node-b"), node("node-c"))
	if _, err := f.core.syncNodes(t.Context(), []*v1.Service{f.writer.get(good)}); err != nil {
		t.Fatal(err)
	}
	cloud.mu.Lock()
	defer cloud.mu.Unlock()
	if len(cloud.configs) != 2 {
		t.Fatalf("%d configs handed to the provider, want 2 (ensure, node update)", len(cloud.configs))
	}
	for i, cfg := range cloud.configs {
		if cfg == nil || cfg.Cloud != annotations.GCE || cfg.GCE == nil {
			t.Errorf("config %d = %+v, want one parsed for gce", i, cfg)
			continue
		}
		if cfg.Service != good {
			t.Errorf("config %d is for %q, want %q", i, cfg.Service, good)
		}
	}
}
