package gcecontract_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/integration/contract"
)

// roleFile is the custom IAM role deploy/permissions ships for the gce provider.
const roleFile = "../../deploy/permissions/gce-role.yaml"

// computePermissions maps fakegce's call keys ("<Resource>.<Method>" of the API reference)
// to the IAM permissions the method's reference page lists for the resource it addresses
// ("Authorization requires the following IAM permission"). Permissions a method checks on
// the resources its body references (an instance added to a pool, the network of a
// firewall) are in impliedCompute: the fake cannot tell which references a request makes.
var computePermissions = map[string][]string{
	"Addresses.Get":    {"compute.addresses.get"},
	"Addresses.List":   {"compute.addresses.list"},
	"Addresses.Insert": {"compute.addresses.create"},
	"Addresses.Delete": {"compute.addresses.delete"},

	"ForwardingRules.Get":       {"compute.forwardingRules.get"},
	"ForwardingRules.List":      {"compute.forwardingRules.list"},
	"ForwardingRules.Insert":    {"compute.forwardingRules.create"},
	"ForwardingRules.Delete":    {"compute.forwardingRules.delete"},
	"ForwardingRules.Patch":     {"compute.forwardingRules.update"},
	"ForwardingRules.SetTarget": {"compute.forwardingRules.setTarget"},
	"ForwardingRules.SetLabels": {"compute.forwardingRules.setLabels"},

	"TargetPools.Get":               {"compute.targetPools.get"},
	"TargetPools.List":              {"compute.targetPools.list"},
	"TargetPools.Insert":            {"compute.targetPools.create"},
	"TargetPools.Delete":            {"compute.targetPools.delete"},
	"TargetPools.AddInstance":       {"compute.targetPools.addInstance"},
	"TargetPools.RemoveInstance":    {"compute.targetPools.removeInstance"},
	"TargetPools.AddHealthCheck":    {"compute.targetPools.addHealthCheck"},
	"TargetPools.RemoveHealthCheck": {"compute.targetPools.removeHealthCheck"},

	"RegionBackendServices.Get":    {"compute.regionBackendServices.get"},
	"RegionBackendServices.Insert": {"compute.regionBackendServices.create"},
	"RegionBackendServices.Patch":  {"compute.regionBackendServices.update"},
	"RegionBackendServices.Delete": {"compute.regionBackendServices.delete"},

	"RegionHealthChecks.Get":    {"compute.regionHealthChecks.get"},
	"RegionHealthChecks.Insert": {"compute.regionHealthChecks.create"},
	"RegionHealthChecks.Update": {"compute.regionHealthChecks.update"},
	"RegionHealthChecks.Delete": {"compute.regionHealthChecks.delete"},

	"HttpHealthChecks.Get":    {"compute.httpHealthChecks.get"},
	"HttpHealthChecks.Insert": {"compute.httpHealthChecks.create"},
	"HttpHealthChecks.Update": {"compute.httpHealthChecks.update"},
	"HttpHealthChecks.Delete": {"compute.httpHealthChecks.delete"},

	"Firewalls.Get":    {"compute.firewalls.get"},
	"Firewalls.Insert": {"compute.firewalls.create"},
	"Firewalls.Patch":  {"compute.firewalls.update"},
	"Firewalls.Delete": {"compute.firewalls.delete"},

	"InstanceGroups.Get":             {"compute.instanceGroups.get"},
	"InstanceGroups.Insert":          {"compute.instanceGroups.create"},
	"InstanceGroups.Delete":          {"compute.instanceGroups.delete"},
	"InstanceGroups.AddInstances":    {"compute.instanceGroups.update"},
	"InstanceGroups.RemoveInstances": {"compute.instanceGroups.update"},
	"InstanceGroups.ListInstances":   {"compute.instanceGroups.list"},

	"Instances.List":           {"compute.instances.list"},
	"Instances.AggregatedList": {"compute.instances.list"},

	// Every write returns an operation; the clients poll it (get or wait) until DONE.
	"RegionOperations.Get":  {"compute.regionOperations.get"},
	"RegionOperations.Wait": {"compute.regionOperations.get"},
	"GlobalOperations.Get":  {"compute.globalOperations.get"},
	"GlobalOperations.Wait": {"compute.globalOperations.get"},
	"ZoneOperations.Get":    {"compute.zoneOperations.get"},
	"ZoneOperations.Wait":   {"compute.zoneOperations.get"},
}

// impliedCompute are the permissions Compute checks beyond the method's own: on the resources
// a request references (the "use" permissions), and the internal-address variants of
// Addresses.Insert and Delete, which the call key does not tell apart from external ones.
var impliedCompute = map[string]string{
	"compute.addresses.createInternal":       "Addresses.Insert of an internal Service's INTERNAL address",
	"compute.addresses.deleteInternal":       "Addresses.Delete of an INTERNAL address",
	"compute.addresses.use":                  "an external forwarding rule takes the reserved address",
	"compute.addresses.useInternal":          "an internal forwarding rule takes the reserved INTERNAL address",
	"compute.httpHealthChecks.useReadOnly":   "a target pool names its legacy HTTP health check (Insert, AddHealthCheck)",
	"compute.instanceGroups.use":             "a backend service's backends are the zones' instance groups",
	"compute.instances.use":                  "instances are added to target pools and instance groups",
	"compute.networks.updatePolicy":          "firewall rules are created, patched and deleted on the cluster's network",
	"compute.networks.use":                   "an internal forwarding rule names the network",
	"compute.regionBackendServices.use":      "an internal forwarding rule points at its backend service",
	"compute.regionHealthChecks.useReadOnly": "a backend service names its regional health check",
	"compute.subnetworks.use":                "an internal forwarding rule and its INTERNAL address sit in a subnetwork",
	"compute.targetPools.use":                "an external forwarding rule points at its target pool (Insert, SetTarget)",

	// Calls made only when taking over cloud-provider-gcp's load balancers (providers/gce
	// adopt.go: addressLabelsAPI, healthChecksAPI), which the contract's Services never are;
	// migration/gce (TestTakeOverAndHandBack) makes them against fakegce.
	"compute.addresses.setLabels":      "Addresses.SetLabels of an address cloud-provider-gcp reserved (adoption)",
	"compute.healthChecks.get":         "HealthChecks.Get of cloud-provider-gcp's global ILB health check (adoption)",
	"compute.healthChecks.create":      "HealthChecks.Insert of an adopted ILB's global health check (adoption)",
	"compute.healthChecks.update":      "HealthChecks.Update of an adopted ILB's global health check (adoption)",
	"compute.healthChecks.delete":      "HealthChecks.Delete of an adopted ILB's global health check (adoption)",
	"compute.healthChecks.useReadOnly": "an adopted ILB's backend service names its global health check (adoption)",
}

// checkPermissions compares deploy/permissions/gce-role.yaml with the calls fakegce served
// through the providers' endpoint, and requires every verb of the provider's Compute
// interfaces among them. The suite's own apiv1 clients (clientOpts, cloudstate_test.go) use
// that endpoint too, so their calls count: Gets of rules, pools, backend services, addresses
// and firewalls, and the insert and delete of a user's address, all of which the provider
// makes itself (the seed examples and the ip-addresses case reserve and release a user's address).
func (s *suite) checkPermissions(context.Context) error {
	return contract.Permissions{File: roleFile, Permission: computePermission, Implied: impliedCompute}.CheckServed("GCE role", &s.served, rolePermissions,
		contract.ProviderCalls("../../providers/gce", apiInterfaces))
}

// apiInterfaces are the provider's narrow Compute interfaces (providers/gce: its only way to
// Compute) and the API resource of each, as fakegce names calls, the prefix of their keys.
var apiInterfaces = map[string]string{
	"forwardingRulesAPI": "ForwardingRules.", "addressesAPI": "Addresses.", "targetPoolsAPI": "TargetPools.",
	"regionHealthChecksAPI": "RegionHealthChecks.", "backendServicesAPI": "RegionBackendServices.",
	"firewallsAPI": "Firewalls.", "instanceGroupsAPI": "InstanceGroups.", "instancesAPI": "Instances.",
	"httpHealthChecksAPI": "HttpHealthChecks.", "globalOperationsAPI": "GlobalOperations.",
}

func computePermission(op string) ([]string, error) {
	perms, ok := computePermissions[op]
	if !ok {
		return nil, fmt.Errorf("no IAM permission known for the Compute method")
	}
	return perms, nil
}

// rolePermissions reads the includedPermissions of a custom role definition (the --file of
// gcloud iam roles create).
func rolePermissions(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var role struct {
		Title               string   `json:"title"`
		Description         string   `json:"description"`
		Stage               string   `json:"stage"`
		IncludedPermissions []string `json:"includedPermissions"`
	}
	if err := yaml.UnmarshalStrict(raw, &role); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if role.Title == "" || role.Stage == "" {
		return nil, fmt.Errorf("%s: a custom role needs a title and a stage", path)
	}
	for _, p := range role.IncludedPermissions {
		if strings.Contains(p, "*") {
			return nil, fmt.Errorf("%s: wildcard permission %q", path, p)
		}
	}
	return role.IncludedPermissions, nil
}
