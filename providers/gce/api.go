package gce

import (
	"context"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	gax "github.com/googleapis/gax-go/v2"
)

// The verbs cloudlb calls, one narrow interface per Compute collection; the
// cloud.google.com/go/compute/apiv1 REST clients satisfy them.

type forwardingRulesAPI interface {
	Get(context.Context, *computepb.GetForwardingRuleRequest, ...gax.CallOption) (*computepb.ForwardingRule, error)
	Insert(context.Context, *computepb.InsertForwardingRuleRequest, ...gax.CallOption) (*compute.Operation, error)
	Delete(context.Context, *computepb.DeleteForwardingRuleRequest, ...gax.CallOption) (*compute.Operation, error)
	Patch(context.Context, *computepb.PatchForwardingRuleRequest, ...gax.CallOption) (*compute.Operation, error)
	SetTarget(context.Context, *computepb.SetTargetForwardingRuleRequest, ...gax.CallOption) (*compute.Operation, error)
	SetLabels(context.Context, *computepb.SetLabelsForwardingRuleRequest, ...gax.CallOption) (*compute.Operation, error)
	// List is the listing's (listing.go): the cluster's rules, by label.
	List(context.Context, *computepb.ListForwardingRulesRequest, ...gax.CallOption) *compute.ForwardingRuleIterator
}

type addressesAPI interface {
	Get(context.Context, *computepb.GetAddressRequest, ...gax.CallOption) (*computepb.Address, error)
	Insert(context.Context, *computepb.InsertAddressRequest, ...gax.CallOption) (*compute.Operation, error)
	Delete(context.Context, *computepb.DeleteAddressRequest, ...gax.CallOption) (*compute.Operation, error)
	List(context.Context, *computepb.ListAddressesRequest, ...gax.CallOption) *compute.AddressIterator
}

// addressLabelsAPI labels an address cloudlb took over from cloud-provider-gcp (adopt.go);
// the addresses cloudlb reserves get their labels at creation. Like healthChecksAPI it is
// called only on adoption, so the contract suite, which has no upstream objects, does not
// list it (integration/gcecontract apiInterfaces).
type addressLabelsAPI interface {
	SetLabels(context.Context, *computepb.SetLabelsAddressRequest, ...gax.CallOption) (*compute.Operation, error)
}

type targetPoolsAPI interface {
	// List is the listing's (listing.go): the region's pools, for their instances.
	List(context.Context, *computepb.ListTargetPoolsRequest, ...gax.CallOption) *compute.TargetPoolIterator
	Get(context.Context, *computepb.GetTargetPoolRequest, ...gax.CallOption) (*computepb.TargetPool, error)
	Insert(context.Context, *computepb.InsertTargetPoolRequest, ...gax.CallOption) (*compute.Operation, error)
	Delete(context.Context, *computepb.DeleteTargetPoolRequest, ...gax.CallOption) (*compute.Operation, error)
	AddInstance(context.Context, *computepb.AddInstanceTargetPoolRequest, ...gax.CallOption) (*compute.Operation, error)
	RemoveInstance(context.Context, *computepb.RemoveInstanceTargetPoolRequest, ...gax.CallOption) (*compute.Operation, error)
	AddHealthCheck(context.Context, *computepb.AddHealthCheckTargetPoolRequest, ...gax.CallOption) (*compute.Operation, error)
	RemoveHealthCheck(context.Context, *computepb.RemoveHealthCheckTargetPoolRequest, ...gax.CallOption) (*compute.Operation, error)
}

type regionHealthChecksAPI interface {
	Get(context.Context, *computepb.GetRegionHealthCheckRequest, ...gax.CallOption) (*computepb.HealthCheck, error)
	Insert(context.Context, *computepb.InsertRegionHealthCheckRequest, ...gax.CallOption) (*compute.Operation, error)
	Update(context.Context, *computepb.UpdateRegionHealthCheckRequest, ...gax.CallOption) (*compute.Operation, error)
	Delete(context.Context, *computepb.DeleteRegionHealthCheckRequest, ...gax.CallOption) (*compute.Operation, error)
}

// healthChecksAPI is the global collection: only the health checks of cloud-provider-gcp's
// internal load balancers that cloudlb took over (adopt.go).
type healthChecksAPI interface {
	Get(context.Context, *computepb.GetHealthCheckRequest, ...gax.CallOption) (*computepb.HealthCheck, error)
	Insert(context.Context, *computepb.InsertHealthCheckRequest, ...gax.CallOption) (*compute.Operation, error)
	Update(context.Context, *computepb.UpdateHealthCheckRequest, ...gax.CallOption) (*compute.Operation, error)
	Delete(context.Context, *computepb.DeleteHealthCheckRequest, ...gax.CallOption) (*compute.Operation, error)
}

type backendServicesAPI interface {
	Get(context.Context, *computepb.GetRegionBackendServiceRequest, ...gax.CallOption) (*computepb.BackendService, error)
	Insert(context.Context, *computepb.InsertRegionBackendServiceRequest, ...gax.CallOption) (*compute.Operation, error)
	Patch(context.Context, *computepb.PatchRegionBackendServiceRequest, ...gax.CallOption) (*compute.Operation, error)
	Delete(context.Context, *computepb.DeleteRegionBackendServiceRequest, ...gax.CallOption) (*compute.Operation, error)
}

type firewallsAPI interface {
	Get(context.Context, *computepb.GetFirewallRequest, ...gax.CallOption) (*computepb.Firewall, error)
	Insert(context.Context, *computepb.InsertFirewallRequest, ...gax.CallOption) (*compute.Operation, error)
	Patch(context.Context, *computepb.PatchFirewallRequest, ...gax.CallOption) (*compute.Operation, error)
	Delete(context.Context, *computepb.DeleteFirewallRequest, ...gax.CallOption) (*compute.Operation, error)
}

type instanceGroupsAPI interface {
	Get(context.Context, *computepb.GetInstanceGroupRequest, ...gax.CallOption) (*computepb.InstanceGroup, error)
	Insert(context.Context, *computepb.InsertInstanceGroupRequest, ...gax.CallOption) (*compute.Operation, error)
	Delete(context.Context, *computepb.DeleteInstanceGroupRequest, ...gax.CallOption) (*compute.Operation, error)
	AddInstances(context.Context, *computepb.AddInstancesInstanceGroupRequest, ...gax.CallOption) (*compute.Operation, error)
	RemoveInstances(context.Context, *computepb.RemoveInstancesInstanceGroupRequest, ...gax.CallOption) (*compute.Operation, error)
	ListInstances(context.Context, *computepb.ListInstancesInstanceGroupsRequest, ...gax.CallOption) *compute.InstanceWithNamedPortsIterator
}

type instancesAPI interface {
	List(context.Context, *computepb.ListInstancesRequest, ...gax.CallOption) *compute.InstanceIterator
}

// Clients are the Compute clients a Cloud calls.
type Clients struct {
	ForwardingRules    forwardingRulesAPI
	Addresses          addressesAPI
	TargetPools        targetPoolsAPI
	RegionHealthChecks regionHealthChecksAPI
	HealthChecks       healthChecksAPI
	AddressLabels      addressLabelsAPI
	BackendServices    backendServicesAPI
	Firewalls          firewallsAPI
	InstanceGroups     instanceGroupsAPI
	Instances          instancesAPI
	// HTTPHealthChecks serves the legacy global httpHealthChecks collection, which target
	// pools require and apiv1 has no client for.
	HTTPHealthChecks httpHealthChecksAPI
}
