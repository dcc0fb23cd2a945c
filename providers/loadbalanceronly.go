package providers

import cloudprovider "k8s.io/cloud-provider"

// LoadBalancerOnly provides the parts of cloudprovider.Interface that cloudlb's providers do
// not serve (instances, zones, clusters, routes) and a no-op Initialize; a provider embeds it
// and adds LoadBalancer, ProviderName and HasClusterID.
type LoadBalancerOnly struct{}

// Initialize does nothing: providers build their clients when they are created.
func (LoadBalancerOnly) Initialize(cloudprovider.ControllerClientBuilder, <-chan struct{}) {}

// Instances is not supported: cloudlb only manages load balancers.
func (LoadBalancerOnly) Instances() (cloudprovider.Instances, bool) { return nil, false }

// InstancesV2 is not supported.
func (LoadBalancerOnly) InstancesV2() (cloudprovider.InstancesV2, bool) { return nil, false }

// Zones is not supported.
func (LoadBalancerOnly) Zones() (cloudprovider.Zones, bool) { return nil, false }

// Clusters is not supported.
func (LoadBalancerOnly) Clusters() (cloudprovider.Clusters, bool) { return nil, false }

// Routes is not supported.
func (LoadBalancerOnly) Routes() (cloudprovider.Routes, bool) { return nil, false }
