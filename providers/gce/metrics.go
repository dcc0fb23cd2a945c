package gce

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// metricsTransport reports every Compute request to the cloud API metrics
// (cloudapi.Observe), named as the API reference names its method (computeOperation). It
// counts requests, not calls of the provider: cloudlb retries Compute calls itself (retry.go),
// so each retry is a request of its own and a throttled one is counted as throttled even when
// the retry gets through. A write's operation is waited for with RegionOperations.Get (or
// Wait, GlobalOperations.Get) requests, which are counted as those: each write stays one
// request however long its operation runs.
type metricsTransport struct {
	next http.RoundTripper
	// observe is cloudapi.Observe; tests put a recorder in its place.
	observe func(cloud, operation string, started time.Time, o cloudapi.Outcome)
}

func (t metricsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	o := cloudapi.Outcome{Err: err}
	if err == nil {
		o.Status = resp.StatusCode
		o.Throttled = throttledAnswer(resp)
	}
	t.observe(ProviderName, computeOperation(req.Method, req.URL.Path), start, o)
	return resp, err
}

// maxErrorBody bounds how much of a 403's body is read for its reason; Compute's error
// bodies are well below it.
const maxErrorBody = 64 << 10

// throttledAnswer reports whether resp is Compute's throttling. A 403 is throttling only with
// a rate-limit reason, so its body is read for the reasons and put back for the client.
func throttledAnswer(resp *http.Response) bool {
	if resp.StatusCode != http.StatusForbidden || resp.Body == nil {
		return cloudapi.GCEThrottled(resp.StatusCode, "")
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	var body struct {
		Error struct {
			Errors []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(head, &body) != nil {
		return false
	}
	for _, e := range body.Error.Errors {
		if cloudapi.GCEThrottled(resp.StatusCode, e.Reason) {
			return true
		}
	}
	for _, d := range body.Error.Details {
		if cloudapi.GCEThrottled(resp.StatusCode, d.Reason) {
			return true
		}
	}
	return false
}

// computeOperation names a Compute request "<Resource>.<Method>" as the API reference (and
// the apiv1 clients, and fakegce's call counters) do: "ForwardingRules.Insert",
// "RegionBackendServices.Get", "TargetPools.AddInstance", "RegionOperations.Get". The path is
// decoded by position (/projects/{p}/{scope}/{collection}/{name}/{action}), so the name has no
// project, region, zone or resource name in it and the metrics' label values stay a small set;
// a path of another shape is "Other.<Method>".
func computeOperation(method, path string) string {
	other := "Other." + upperFirst(strings.ToLower(method))
	i := strings.Index(path, "/projects/")
	if i < 0 {
		return other
	}
	segs := strings.Split(strings.Trim(path[i+len("/projects/"):], "/"), "/")[1:]
	var scope, coll string
	switch {
	case len(segs) == 0:
		if method == http.MethodGet {
			return "Projects.Get"
		}
		return other
	case segs[0] == "aggregated" && len(segs) == 2 && method == http.MethodGet:
		return collectionName("aggregated", segs[1]) + ".AggregatedList"
	case segs[0] == "global" && len(segs) >= 2:
		scope, coll, segs = "global", segs[1], segs[2:]
	case (segs[0] == "regions" || segs[0] == "zones") && len(segs) >= 3:
		scope, coll, segs = segs[0], segs[2], segs[3:]
	default:
		return other
	}
	res := collectionName(scope, coll)
	switch {
	case len(segs) == 0 && method == http.MethodGet:
		return res + ".List"
	case len(segs) == 0 && method == http.MethodPost:
		return res + ".Insert"
	case len(segs) == 2 && (method == http.MethodPost || method == http.MethodGet):
		return res + "." + upperFirst(segs[1]) // addInstance, setTarget, listInstances, wait
	case len(segs) == 1 && computeVerbs[method] != "":
		return res + "." + computeVerbs[method]
	}
	return other
}

// computeVerbs are the API reference's method names of the requests on one resource.
var computeVerbs = map[string]string{http.MethodGet: "Get", http.MethodDelete: "Delete", http.MethodPatch: "Patch", http.MethodPut: "Update"}

// Compute names a collection by its scope where it exists in more than one: a regional
// backendServices is RegionBackendServices, a global forwardingRules GlobalForwardingRules.
var (
	// regionalPlain are the regional collections named without "Region".
	regionalPlain = map[string]bool{"forwardingRules": true, "addresses": true, "targetPools": true, "subnetworks": true, "routers": true}
	// globalPrefixed are the global collections named with "Global".
	globalPrefixed = map[string]bool{"forwardingRules": true, "addresses": true, "operations": true, "networkEndpointGroups": true}
)

// collectionName is the API reference's resource name of a collection in a scope ("global",
// "regions", "zones" or "aggregated").
func collectionName(scope, coll string) string {
	name := upperFirst(coll)
	switch {
	case scope == "regions" && !regionalPlain[coll]:
		return "Region" + name
	case scope == "global" && globalPrefixed[coll]:
		return "Global" + name
	case scope == "zones" && coll == "operations":
		return "ZoneOperations"
	}
	return name
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
