package fakeazure

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

const providerNS = "Microsoft.Network"

// kind is a top-level resource type the fake stores.
type kind struct {
	// coll is the collection segment of the URL, in ARM's canonical case.
	coll string
	// client is the SDK client name without "Client", the prefix of call keys.
	client string
	// children are the nested collections served under one resource.
	children []*childKind
}

// childKind is a collection nested in a top-level resource's properties.
type childKind struct {
	coll     string
	client   string
	writable bool
}

// typ is the ARM type, e.g. Microsoft.Network/loadBalancers.
func (k *kind) typ() string { return providerNS + "/" + k.coll }

func (k *kind) child(coll string) *childKind {
	for _, c := range k.children {
		if strings.EqualFold(c.coll, coll) {
			return c
		}
	}
	return nil
}

var (
	kindLB = &kind{coll: "loadBalancers", client: "LoadBalancers", children: []*childKind{
		{coll: "backendAddressPools", client: "LoadBalancerBackendAddressPools", writable: true},
		{coll: "frontendIPConfigurations", client: "LoadBalancerFrontendIPConfigurations"},
		{coll: "probes", client: "LoadBalancerProbes"},
		{coll: "loadBalancingRules", client: "LoadBalancerLoadBalancingRules"},
	}}
	kindPIP = &kind{coll: "publicIPAddresses", client: "PublicIPAddresses"}
	kindNSG = &kind{coll: "networkSecurityGroups", client: "SecurityGroups", children: []*childKind{
		{coll: "securityRules", client: "SecurityRules", writable: true},
		{coll: "defaultSecurityRules", client: "DefaultSecurityRules"},
	}}
	kindVNet = &kind{coll: "virtualNetworks", client: "VirtualNetworks", children: []*childKind{
		{coll: "subnets", client: "Subnets", writable: true},
	}}
	kindPLS = &kind{coll: "privateLinkServices", client: "PrivateLinkServices"}
	kinds   = []*kind{kindLB, kindPIP, kindNSG, kindVNet, kindPLS}
)

func kindOf(coll string) *kind {
	for _, k := range kinds {
		if strings.EqualFold(k.coll, coll) {
			return k
		}
	}
	return nil
}

// route is a parsed request path.
type route struct {
	sub  string
	kind *kind
	// rg and name locate a top-level resource; name is empty for a collection.
	rg, name string
	// child and childName locate a nested resource; childName is empty for a list.
	child     *childKind
	childName string
	// all marks a subscription-wide list (NewListAllPager).
	all bool
	// opID is set for async operation status (opResult false) and result URLs.
	opID     string
	opResult bool
}

// topID is the ARM ID of the top-level resource, in the case the client sent.
func (rt *route) topID() string {
	return "/subscriptions/" + rt.sub + "/resourceGroups/" + rt.rg + "/providers/" + providerNS + "/" + rt.kind.coll + "/" + rt.name
}

// childID is the ARM ID of the nested resource.
func (rt *route) childID() string { return rt.topID() + "/" + rt.child.coll + "/" + rt.childName }

// verb names the SDK method this request is, for the call counters.
func (rt *route) call(method string) string {
	if rt.opID != "" {
		return "AsyncOperation.Get"
	}
	client := rt.kind.client
	named := rt.name != ""
	if rt.child != nil {
		client, named = rt.child.client, rt.childName != ""
	}
	switch method {
	case http.MethodGet:
		if named {
			return client + ".Get"
		}
		if rt.all {
			return client + ".ListAll"
		}
		return client + ".List"
	case http.MethodPut:
		return client + ".CreateOrUpdate"
	case http.MethodDelete:
		return client + ".Delete"
	case http.MethodPatch:
		return client + ".UpdateTags"
	}
	return client + "." + method
}

// callKind classifies the call for the counters: async status polls, reads (GET) and
// writes (PUT, PATCH, DELETE, POST).
func (rt *route) callKind(method string) fakecore.Kind {
	switch {
	case rt.opID != "":
		return fakecore.Poll
	case method == http.MethodGet || method == http.MethodHead:
		return fakecore.Read
	}
	return fakecore.Write
}

// longRunning reports whether the call is a PUT or DELETE of one resource, which ARM
// answers with an async operation.
func (rt *route) longRunning(method string) bool {
	return rt.opID == "" && rt.name != "" && (method == http.MethodPut || method == http.MethodDelete)
}

func eq(a, b string) bool { return strings.EqualFold(a, b) }

// parsePath understands the URL shapes armnetwork's clients send for the resources the
// fake serves. ok is false for any other path.
func parsePath(path string) (rt route, ok bool) {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) < 5 || !eq(seg[0], "subscriptions") || seg[1] == "" {
		return rt, false
	}
	rt.sub = seg[1]
	switch {
	case eq(seg[2], "providers") && eq(seg[3], providerNS):
		rest := seg[4:]
		if len(rest) == 1 {
			rt.kind = kindOf(rest[0])
			rt.all = true
			return rt, rt.kind != nil
		}
		if len(rest) == 4 && eq(rest[0], "locations") && (eq(rest[2], "operations") || eq(rest[2], "operationResults")) {
			rt.opID, rt.opResult = rest[3], eq(rest[2], "operationResults")
			return rt, rt.opID != ""
		}
		return rt, false
	case eq(seg[2], "resourceGroups") && len(seg) >= 7 && eq(seg[4], "providers") && eq(seg[5], providerNS):
		rt.rg = seg[3]
		rest := seg[6:]
		if rt.rg == "" {
			return rt, false
		}
		if rt.kind = kindOf(rest[0]); rt.kind == nil {
			return rt, false
		}
		switch len(rest) {
		case 1:
			return rt, true
		case 2:
			rt.name = rest[1]
		case 3, 4:
			rt.name = rest[1]
			if rt.child = rt.kind.child(rest[2]); rt.child == nil {
				return rt, false
			}
			if len(rest) == 4 {
				rt.childName = rest[3]
			}
		default:
			return rt, false
		}
		return rt, rt.name != "" && (len(rest) != 4 || rt.childName != "")
	}
	return rt, false
}

// parseID resolves an ARM resource ID (top-level or child) like a request path.
func parseID(id string) (route, bool) {
	rt, ok := parsePath(id)
	if !ok || rt.all || rt.opID != "" || rt.name == "" || (rt.child != nil && rt.childName == "") {
		return rt, false
	}
	return rt, true
}

// key is the case-insensitive map key of an ARM ID.
func key(id string) string { return strings.ToLower(strings.TrimRight(id, "/")) }

var nameRE = regexp.MustCompile(`^\w([\w.-]{0,78}\w)?$`)

// validName applies the network resource provider's naming rule (1-80 chars, word
// characters, '.', '-', '_', starting with a word character, ending with one or '_').
func validName(n string) bool { return nameRE.MatchString(n) }
