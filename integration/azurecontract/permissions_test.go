package azurecontract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/cloudlb/cloudlb/integration/contract"
)

// roleFile is the custom role deploy/permissions ships for the azure provider.
const roleFile = "../../deploy/permissions/azure-role.json"

// armTypes maps fakeazure's SDK client names to the ARM resource type their calls address.
var armTypes = map[string]string{
	"LoadBalancers":                        "Microsoft.Network/loadBalancers",
	"LoadBalancerBackendAddressPools":      "Microsoft.Network/loadBalancers/backendAddressPools",
	"LoadBalancerFrontendIPConfigurations": "Microsoft.Network/loadBalancers/frontendIPConfigurations",
	"LoadBalancerProbes":                   "Microsoft.Network/loadBalancers/probes",
	"LoadBalancerLoadBalancingRules":       "Microsoft.Network/loadBalancers/loadBalancingRules",
	"PublicIPAddresses":                    "Microsoft.Network/publicIPAddresses",
	"SecurityGroups":                       "Microsoft.Network/networkSecurityGroups",
	"SecurityRules":                        "Microsoft.Network/networkSecurityGroups/securityRules",
	"DefaultSecurityRules":                 "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
	"VirtualNetworks":                      "Microsoft.Network/virtualNetworks",
	"Subnets":                              "Microsoft.Network/virtualNetworks/subnets",
	"PrivateLinkServices":                  "Microsoft.Network/privateLinkServices",
	// The long-running PUTs and DELETEs are polled at the Azure-AsyncOperation URL
	// (.../locations/{location}/operations/{id}); a DELETE's result at the Location URL
	// (.../operationResults/{id}). See armOperation.
	"AsyncOperation":        "Microsoft.Network/locations/operations",
	"AsyncOperationResults": "Microsoft.Network/locations/operationResults",
}

// armVerbs maps an SDK method to the RBAC verb ARM checks: GETs are read, PUT and PATCH
// write, DELETE delete.
var armVerbs = map[string]string{
	"Get": "read", "List": "read", "ListAll": "read",
	"CreateOrUpdate": "write", "UpdateTags": "write",
	"Delete": "delete",
}

// impliedARM are the actions ARM's linked access check requires on resources a write
// references, which no call of the provider addresses.
var impliedARM = map[string]string{
	"Microsoft.Network/publicIPAddresses/join/action":                      "a load balancer frontend references a public IP (linked access check)",
	"Microsoft.Network/publicIPPrefixes/join/action":                       "a managed public IP is allocated from azure-pip-prefix-id's prefix",
	"Microsoft.Network/virtualNetworks/subnets/join/action":                "an internal frontend and a Private Link Service's NAT IP configurations are placed in a subnet",
	"Microsoft.Network/virtualNetworks/joinLoadBalancer/action":            "the IP-based backend pool's addresses reference the cluster's virtual network",
	"Microsoft.Network/loadBalancers/frontendIPConfigurations/join/action": "a Private Link Service references its load balancer frontend",
}

// armOperation is the key the suite records for a call: fakeazure's key, except that an
// async poll names the URL it read (operations or operationResults), which ARM authorizes
// as two actions.
func armOperation(r *http.Request, call string) string {
	if call == "AsyncOperation.Get" && strings.Contains(strings.ToLower(r.URL.Path), "/operationresults/") {
		return "AsyncOperationResults.Get"
	}
	return call
}

// checkPermissions compares deploy/permissions/azure-role.json with the calls fakeazure
// served to the provider (after -run some calls were never made: it skips).
func (s *suite) checkPermissions(context.Context) error {
	return contract.Permissions{File: roleFile, Permission: armAction, Implied: impliedARM}.CheckServed("Azure role", &s.served, roleActions, nil)
}

// armAction is the RBAC action of a call key ("LoadBalancers.CreateOrUpdate").
func armAction(op string) ([]string, error) {
	client, method, _ := strings.Cut(op, ".")
	typ, verb := armTypes[client], armVerbs[method]
	if typ == "" || verb == "" {
		return nil, fmt.Errorf("no ARM action known for client %q method %q", client, method)
	}
	return []string{typ + "/" + verb}, nil
}

// roleActions reads the Actions of an Azure custom role definition (the input of az role
// definition create). Only what the check can compare is accepted: no wildcards, no
// NotActions or data actions, and an assignable scope.
func roleActions(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var role struct {
		Name             string
		IsCustom         bool
		Actions          []string
		NotActions       []string
		DataActions      []string
		NotDataActions   []string
		AssignableScopes []string
	}
	if err := json.Unmarshal(raw, &role); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if role.Name == "" || !role.IsCustom || len(role.AssignableScopes) == 0 {
		return nil, fmt.Errorf("%s: a custom role needs Name, IsCustom true and AssignableScopes", path)
	}
	if len(role.NotActions)+len(role.DataActions)+len(role.NotDataActions) > 0 {
		return nil, fmt.Errorf("%s: only Actions are expected", path)
	}
	for _, a := range role.Actions {
		if strings.Contains(a, "*") {
			return nil, fmt.Errorf("%s: wildcard action %q", path, a)
		}
	}
	return role.Actions, nil
}
