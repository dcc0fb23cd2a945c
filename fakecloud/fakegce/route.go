package fakegce

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// route is one decoded request path: /compute/v1/projects/{project}/{scope}/{collection}[/{name}[/{verb}]].
type route struct {
	httpMethod string
	project    string
	// scope is "global", "regions/<r>", "zones/<z>" or "aggregated".
	scope      string
	collection string
	name       string
	verb       string
	// api and method make the call key, e.g. "ForwardingRules" and "Insert".
	api    string
	method string
}

// apiNames maps "<scope kind>/<collection>" to the resource name of the API reference.
var apiNames = map[string]string{
	"regions/forwardingRules":    "ForwardingRules",
	"regions/targetPools":        "TargetPools",
	"regions/addresses":          "Addresses",
	"regions/backendServices":    "RegionBackendServices",
	"regions/healthChecks":       "RegionHealthChecks",
	"regions/subnetworks":        "Subnetworks",
	"regions/operations":         "RegionOperations",
	"global/firewalls":           "Firewalls",
	"global/healthChecks":        "HealthChecks",
	"global/httpHealthChecks":    "HttpHealthChecks",
	"global/networks":            "Networks",
	"global/operations":          "GlobalOperations",
	"zones/instanceGroups":       "InstanceGroups",
	"zones/instances":            "Instances",
	"zones/operations":           "ZoneOperations",
	"aggregated/instances":       "Instances",
	"aggregated/instanceGroups":  "InstanceGroups",
	"aggregated/forwardingRules": "ForwardingRules",
	"aggregated/addresses":       "Addresses",
	"aggregated/targetPools":     "TargetPools",
	"project/zones":              "Zones",
	"project/regions":            "Regions",
}

// readMethods are the methods that never change state.
var readMethods = map[string]bool{
	"Get": true, "List": true, "AggregatedList": true, "Wait": true, "ListInstances": true, "GetHealth": true,
}

func (rt *route) callKey() string { return rt.api + "." + rt.method }

// isWrite reports whether the call mutates (operation polls never do).
func (rt *route) isWrite() bool {
	return !readMethods[rt.method] && !strings.HasSuffix(rt.api, "Operations")
}

// callKind classifies the call for the counters: operation polls, reads and writes.
func (rt *route) callKind() fakecore.Kind {
	switch {
	case strings.HasSuffix(rt.api, "Operations"):
		return fakecore.Poll
	case readMethods[rt.method]:
		return fakecore.Read
	}
	return fakecore.Write
}

// scopeKind is "global", "regions", "zones", "aggregated" or "project".
func (rt *route) scopeKind() string {
	k, _, _ := strings.Cut(rt.scope, "/")
	return k
}

// parseRoute decodes the path; unknown collections and methods are 404s like Google's.
func parseRoute(method, path string) (*route, error) {
	rest, ok := strings.CutPrefix(path, "/compute/v1/projects/")
	if !ok {
		return nil, errBadMethod(method, path)
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	for i, sg := range segs {
		if u, err := url.PathUnescape(sg); err == nil {
			segs[i] = u
		}
	}
	rt := &route{httpMethod: method, project: segs[0]}
	segs = segs[1:]
	switch {
	case len(segs) == 0:
		return nil, errBadMethod(method, path)
	case segs[0] == "global" && len(segs) >= 2:
		rt.scope, segs = "global", segs[1:]
	case (segs[0] == "regions" || segs[0] == "zones") && len(segs) >= 3:
		rt.scope, segs = segs[0]+"/"+segs[1], segs[2:]
	case segs[0] == "aggregated" && len(segs) == 2:
		rt.scope, segs = "aggregated", segs[1:]
	case (segs[0] == "regions" || segs[0] == "zones") && len(segs) <= 2:
		rt.scope = "project"
	default:
		return nil, errBadMethod(method, path)
	}
	rt.collection = segs[0]
	if len(segs) > 1 {
		rt.name = segs[1]
	}
	if len(segs) > 2 {
		rt.verb = segs[2]
	}
	if len(segs) > 3 {
		return nil, errBadMethod(method, path)
	}
	rt.api = apiNames[rt.scopeKind()+"/"+rt.collection]
	if rt.api == "" {
		return nil, errBadMethod(method, path)
	}
	rt.method = methodName(method, rt)
	if rt.method == "" {
		return nil, errBadMethod(method, path)
	}
	return rt, nil
}

// methodName is the API method a request maps to, "" when none does.
func methodName(httpMethod string, rt *route) string {
	if rt.scope == "aggregated" {
		if httpMethod == http.MethodGet {
			return "AggregatedList"
		}
		return ""
	}
	switch {
	case rt.verb != "" && (httpMethod == http.MethodPost || httpMethod == http.MethodGet):
		return strings.ToUpper(rt.verb[:1]) + rt.verb[1:]
	case rt.verb != "":
		return ""
	case rt.name == "" && httpMethod == http.MethodGet:
		return "List"
	case rt.name == "" && httpMethod == http.MethodPost:
		return "Insert"
	case rt.name == "":
		return ""
	case httpMethod == http.MethodGet:
		return "Get"
	case httpMethod == http.MethodDelete:
		return "Delete"
	case httpMethod == http.MethodPatch:
		return "Patch"
	case httpMethod == http.MethodPut:
		return "Update"
	}
	return ""
}
