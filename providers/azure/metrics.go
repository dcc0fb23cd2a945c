package azure

import (
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// metricsPolicy reports every ARM call once, outside the retries, to the cloud API metrics
// (cloudapi.Observe): the SDK's retries are inside the call's latency, and its result is the
// last attempt's answer (throttled for a 429 the retries did not get past). The polls of a
// long-running PUT or DELETE are calls of their own, AsyncOperation.Get, and the GET that
// fetches its result is a read of the resource (LoadBalancers.Get): ARM counts both against
// the subscription's read budget, and the write itself stays one call however long it runs.
type metricsPolicy struct {
	// observe is cloudapi.Observe; tests put a recorder in its place.
	observe func(cloud, operation string, started time.Time, o cloudapi.Outcome)
}

func (p metricsPolicy) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	start := time.Now()
	resp, err := req.Next()
	o := cloudapi.Outcome{Err: err}
	if resp != nil {
		o.Status = resp.StatusCode
		o.Throttled = cloudapi.AzureThrottled(resp.StatusCode)
	}
	p.observe(ProviderName, armOperation(raw.Method, raw.URL.Path), start, o)
	return resp, err
}

// armPath is a request path of the ARM network API, decoded as far as naming its operation
// needs: /subscriptions/s[/resourceGroups/g]/providers/Microsoft.Network/<typ>[/<name>[/<sub>[/<subName>]]],
// where sub is a nested resource type or, after a name, an action.
type armPath struct {
	// typ is the top-level resource type ("loadBalancers"); "" when the path has none.
	typ string
	// rest are the segments after typ: the name, then a nested type or action and its name.
	rest []string
	// subscriptionWide is a path without a resource group (a subscription-wide list).
	subscriptionWide bool
	// asyncOperation is the status (operations) or result (operationResults) URL of a
	// long-running operation.
	asyncOperation bool
}

// parseARMPath decodes path by position, so that no resource name is ever taken for a type;
// a path of another shape has no typ.
func parseARMPath(path string) armPath {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var p armPath
	if len(parts) < 3 || !strings.EqualFold(parts[0], "subscriptions") {
		return p
	}
	rest := parts[2:]
	if strings.EqualFold(rest[0], "resourceGroups") && len(rest) >= 3 {
		rest = rest[2:]
	} else {
		p.subscriptionWide = true
	}
	if len(rest) < 2 || !strings.EqualFold(rest[0], "providers") || !strings.HasPrefix(strings.ToLower(rest[1]), "microsoft.") {
		return armPath{}
	}
	if len(rest) == 2 { // the resource provider itself, which azcore registers on first use
		return armPath{typ: "providers", rest: rest[1:]}
	}
	p.typ, p.rest = rest[2], rest[3:]
	p.asyncOperation = p.subscriptionWide && strings.EqualFold(p.typ, "locations") && len(p.rest) == 3 &&
		(strings.EqualFold(p.rest[1], "operations") || strings.EqualFold(p.rest[1], "operationResults"))
	return p
}

// armClients are the armnetwork client names of the resource types cloudlb calls, where they
// differ from the type's name.
var armClients = map[string]string{
	"networksecuritygroups": "SecurityGroups",
	"publicipaddresses":     "PublicIPAddresses",
}

// clientName is the armnetwork client of a resource type, without "Client": its name with a
// capital, unless armClients says otherwise.
func clientName(typ string) string {
	if c, ok := armClients[strings.ToLower(typ)]; ok {
		return c
	}
	return upperFirst(typ)
}

// armOperation names an ARM request as the armnetwork method that sends it,
// "<Client>.<Method>" as fakeazure counts calls ("LoadBalancers.CreateOrUpdate",
// "PublicIPAddresses.List"), and the polls of long-running operations "AsyncOperation.Get".
// A nested resource, which cloudlb does not call, is named by its own type
// ("BackendAddressPools.Get"). The name has no resource name or ID in it: the metrics' label
// values stay a small set.
func armOperation(method, path string) string {
	p := parseARMPath(path)
	switch {
	case p.asyncOperation:
		return "AsyncOperation.Get"
	case p.typ == "" || strings.EqualFold(p.typ, "locations"):
		return "Other." + upperFirst(strings.ToLower(method))
	case p.subscriptionWide && strings.EqualFold(p.typ, "register") && len(p.rest) == 0:
		return "Providers.Register"
	}
	client, named := clientName(p.typ), len(p.rest) == 1
	switch len(p.rest) {
	case 0, 1:
	case 2: // an action on a resource (POST .../loadBalancers/lb/migrateToIpBased) or a nested list
		if method == http.MethodPost {
			return client + "." + upperFirst(p.rest[1])
		}
		client = upperFirst(p.rest[1])
	case 3: // a nested resource (.../loadBalancers/lb/backendAddressPools/pool)
		client, named = upperFirst(p.rest[1]), true
	default:
		return "Other." + upperFirst(strings.ToLower(method))
	}
	switch {
	case method != http.MethodGet:
		if verb, ok := armVerbs[method]; ok {
			return client + "." + verb
		}
		return client + "." + upperFirst(strings.ToLower(method))
	case named:
		return client + ".Get"
	case p.subscriptionWide:
		return client + ".ListAll"
	}
	return client + ".List"
}

// armVerbs are armnetwork's method names of the writes.
var armVerbs = map[string]string{http.MethodPut: "CreateOrUpdate", http.MethodDelete: "Delete", http.MethodPatch: "UpdateTags"}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
