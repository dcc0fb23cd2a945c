package providers

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// Configured is the port through which cloudlb's service controller hands a provider a Service
// with its annotations parsed once: the controller parses them for AnnotationCloud, reports the
// problems (Warning Events) and calls these methods only with a config free of errors. The
// provider does not parse again, so what the controller validated is what the provider builds.
//
// A provider's cloudprovider.LoadBalancer methods stay thin adapters over this port (Parse, then
// the method), for use inside an upstream cloud-controller-manager.
type Configured interface {
	// AnnotationCloud is the cloud whose annotations the provider reads.
	AnnotationCloud() annotations.Cloud
	// EnsureLoadBalancerConfigured is EnsureLoadBalancer with the Service's parsed config.
	EnsureLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) (*v1.LoadBalancerStatus, error)
	// UpdateLoadBalancerConfigured is UpdateLoadBalancer with the Service's parsed config.
	UpdateLoadBalancerConfigured(ctx context.Context, clusterName string, svc *v1.Service, cfg *annotations.Config, nodes []*v1.Node) error
}

// Parse is what a provider's cloudprovider.LoadBalancer adapter does before calling its
// Configured method: parse svc's annotations for cloud and turn errors into the InvalidError
// (a user error) the service controller also returns for them. Warnings are the controller's
// to report, so they are dropped here.
func Parse(svc *v1.Service, cloud annotations.Cloud) (*annotations.Config, error) {
	cfg, problems := annotations.Parse(svc, cloud)
	if err := problems.Err(cfg.Service); err != nil {
		return nil, err
	}
	return cfg, nil
}
