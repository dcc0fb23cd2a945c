// Package providers holds one sub-package per cloud (aws, azure, gce) and an in-memory fake.
// Each builds the desired cloud state from a Service and its typed annotations.Config (pure),
// observes the actual state through the cloud's official SDK, and applies the smallest diff. Each
// implements k8s.io/cloud-provider's LoadBalancer interface. The providers arrive with their own
// issues; this package only fixes the layout.
package providers
