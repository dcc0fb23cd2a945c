// Package aws is the migration suite between the upstream k8s.io/cloud-provider-aws and
// cloudlb's AWS provider: the upstream provider creates the load balancers of a set of
// Services against one fakeaws, cloudlb takes them over (same DNS names, no load balancer
// deleted, targets never empty, status unchanged), applies a node change, and hands them back
// to the upstream provider under the same rules; cloudlb's deletion of an adopted load balancer
// leaves nothing behind. Both providers are driven through the k8s.io/cloud-provider
// LoadBalancer interface, as a cloud-controller-manager drives them.
//
// The package holds only tests (`cd migration && go test ./...`); it is a module of its own so
// that cloudlb's module does not depend on the upstream provider.
package aws
