// Package fakeazure is a stateful fake of the Azure Resource Manager network API
// (Microsoft.Network) that the unmodified armnetwork/v9 clients talk to over HTTP:
// loadBalancers (with frontendIPConfigurations, backendAddressPools with IP-based
// loadBalancerBackendAddresses, probes and loadBalancingRules), publicIPAddresses,
// networkSecurityGroups (securityRules), virtualNetworks (subnets) and privateLinkServices
// (attached to load balancer frontends, with NAT ipConfigurations in a subnet; a frontend or
// load balancer a Private Link Service references cannot be removed). Addresses are
// allocated per family: internal frontends from the subnet's prefix of their
// privateIPAddressVersion (a dual-stack subnet lists both in addressPrefixes), public IPs
// from fake IPv4 and IPv6 pools. NIC-based pool membership, which ARM takes from the NICs,
// is seeded (SeedNICBackends): such a pool refuses IP addresses as ARM does; every write
// that leaves a rule on a pool without members is recorded (EmptyPools; backends.go).
//
// It keeps ARM's wire semantics: etags (W/"<uuid>") renewed on every write and checked
// against If-Match / If-None-Match (412 PreconditionFailed), long-running PUT and DELETE
// answered with 201/200/202 and an Azure-AsyncOperation status resource polled to
// InProgress then Succeeded (or Failed), the real error codes (ResourceNotFound,
// InvalidResourceReference, PublicIPAddressCannotBeDeleted, InUseSubnetCannotBeDeleted,
// SecurityRuleConflict, ...), server-filled fields and back references, paginated lists
// with nextLink, and 429 with Retry-After on request. Resource groups are implicit: any
// name works.
//
// Calls are counted by SDK client and method, "<Client>.<Method>" without "Client":
// LoadBalancers.{CreateOrUpdate,Get,Delete,List,ListAll,UpdateTags}, the same for
// PublicIPAddresses, SecurityGroups, VirtualNetworks and PrivateLinkServices; SecurityRules, Subnets and
// LoadBalancerBackendAddressPools.{CreateOrUpdate,Get,Delete,List};
// LoadBalancerFrontendIPConfigurations, LoadBalancerProbes, LoadBalancerLoadBalancingRules
// and DefaultSecurityRules.{Get,List}; async status polls are AsyncOperation.Get. The
// SDK's final GET after a long-running PUT counts as the resource's Get.
//
// armnetwork does not send If-Match by itself: callers set it per request (a pipeline
// policy or runtime.WithHTTPHeader). Nested resources carry their parent's etag.
package fakeazure

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// Options configures a Server; the zero value is usable.
type Options struct {
	// SubscriptionID is the only subscription served; default 00000000-0000-0000-0000-000000000000.
	SubscriptionID string
	// Location is reported in async operation URLs; default westeurope.
	Location string
	// PageSize is the number of items per list page before a nextLink; default 100.
	PageSize int
	// Seed makes etags and GUIDs reproducible; 0 means 1.
	Seed uint64
	// OnCall, when set, sees every call counted in Calls (faulted ones included) with its
	// request and key, and unlike Calls it is never reset: the contract suites collect the
	// operations the provider needed from it (deploy/permissions). It must be safe for
	// concurrent use.
	OnCall func(r *http.Request, call string)
}

// Server is the fake ARM endpoint; it implements http.Handler. The call counters, faults
// and listener are the embedded Endpoint's (fakecore); all state sits behind one mutex.
type Server struct {
	*fakecore.Endpoint[string]
	opts Options

	mu  sync.Mutex
	rng *rand.Rand
	seq uint64
	res map[string]*entry
	ops map[string]*operation
	// active is the latest operation per resource key, for superseding.
	active map[string]*operation
	// asyncPolls is how many InProgress answers an async operation gives (SetAsyncPolls).
	asyncPolls int
	// nics are the NIC IP configurations that joined each pool, by lower-case pool ID, and
	// emptyPools the rules found on a pool without members (backends.go).
	nics       map[string][]NICBackend
	emptyPools []EmptyPool
}

var _ http.Handler = (*Server)(nil)

// entry is one stored top-level resource.
type entry struct {
	kind *kind
	// id, rg and name keep the case of the request that created the resource.
	id, rg, name string
	seq          uint64
	// obj is *armnetwork.LoadBalancer, *PublicIPAddress, *SecurityGroup or *VirtualNetwork.
	obj any
}

// New returns a Server with no resources.
func New(o Options) *Server {
	o.SubscriptionID = cmp.Or(o.SubscriptionID, "00000000-0000-0000-0000-000000000000")
	o.Location = cmp.Or(o.Location, "westeurope")
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	o.Seed = cmp.Or(o.Seed, 1)
	s := &Server{
		opts:       o,
		rng:        rand.New(rand.NewPCG(o.Seed, o.Seed^0x5bd1e995)),
		res:        map[string]*entry{},
		ops:        map[string]*operation{},
		active:     map[string]*operation{},
		asyncPolls: 1,
	}
	s.Endpoint = fakecore.NewEndpoint(fakecore.Config[string]{Name: "fakeazure", Seed: o.Seed, OnCall: o.OnCall}, s)
	return s
}

// SubscriptionID is the subscription the server answers for.
func (s *Server) SubscriptionID() string { return s.opts.SubscriptionID }

// SetAsyncPolls sets how many InProgress answers an async operation gives before its
// terminal status: 0 means 1 (the default), negative means none.
func (s *Server) SetAsyncPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case n == 0:
		n = 1
	case n < 0:
		n = 0
	}
	s.asyncPolls = n
}

// Resource describes one stored top-level resource.
type Resource struct {
	ID, Type, Name, ResourceGroup string
	Tags                          map[string]string
}

// Resources returns every top-level resource, sorted by ID.
func (s *Server) Resources() []Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Resource, 0, len(s.res))
	for _, e := range s.res {
		r := Resource{ID: e.id, Type: e.kind.typ(), Name: e.name, ResourceGroup: e.rg}
		if tags := tagsOf(e.obj); len(tags) > 0 {
			r.Tags = map[string]string{}
			for k, v := range tags {
				if v != nil {
					r.Tags[k] = *v
				}
			}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get returns the stored ARM JSON of a resource, top-level or nested, by its ID
// (case-insensitive, as in ARM).
func (s *Server) Get(id string) (json.RawMessage, bool) {
	rt, ok := parseID(id)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.res[key(rt.topID())]
	if e == nil {
		return nil, false
	}
	if rt.child == nil {
		return mustJSON(e.obj), true
	}
	c, _ := findChild(e.obj, rt.child.coll, rt.childName)
	if c == nil {
		return nil, false
	}
	b, err := json.Marshal(c)
	return b, err == nil
}

// response is what dispatch produces under the lock and ServeHTTP writes after it.
type response struct {
	status int
	body   []byte
	header map[string]string
}

func jsonResponse(status int, body []byte) *response {
	return &response{status: status, body: body, header: map[string]string{}}
}

// ServeHTTP serves the ARM network API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	reqID := s.uuid()
	s.mu.Unlock()
	w.Header().Set("x-ms-request-id", reqID)
	w.Header().Set("x-ms-correlation-request-id", reqID)
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeError(w, errf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."))
		return
	}
	rt, ok := parsePath(r.URL.Path)
	if !ok {
		writeError(w, errf(http.StatusNotFound, "InvalidResourceType", "The resource type for path '%s' could not be found in the namespace '%s'.", r.URL.Path, providerNS))
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeError(w, badRequest("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."))
		return
	}
	if !eq(rt.sub, s.opts.SubscriptionID) {
		writeError(w, errf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", rt.sub))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeError(w, badRequest("InvalidRequestContent", "reading the body: %v", err))
		return
	}
	o := s.Admit(r, rt.call(r.Method), rt.callKind(r.Method))
	var asyncFail *armError
	switch {
	case o.Gone:
		return
	case o.Err != nil && o.Async && rt.longRunning(r.Method):
		asyncFail = injected(o.Err)
	case o.Err != nil:
		fault := injected(o.Err)
		if fault.Status == http.StatusTooManyRequests {
			setRetryAfter(w.Header(), o.RetryAfter)
		}
		writeError(w, fault)
		return
	}

	s.mu.Lock()
	res, aerr := s.dispatch(r, rt, body, asyncFail)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	for k, v := range res.header {
		w.Header().Set(k, v)
	}
	if len(res.body) > 0 {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(res.status)
	_, _ = w.Write(res.body)
}

// setRetryAfter writes Retry-After in seconds (rounded up) and, for a fraction of a
// second, retry-after-ms, which azcore reads first.
func setRetryAfter(h http.Header, d time.Duration) {
	secs := int((d + time.Second - 1) / time.Second)
	h.Set("Retry-After", strconv.Itoa(secs))
	if d%time.Second != 0 {
		h.Set("retry-after-ms", strconv.FormatInt(d.Milliseconds(), 10))
	}
}

// injected is a fault of fakecore as ARM answers it.
func injected(err error) *armError {
	return fakecore.Translate(err, throttled(), serverError(), func(ae *fakecore.APIError) *armError {
		return &armError{Status: ae.HTTPStatus(), Code: ae.Code, Message: ae.Message}
	})
}

// dispatch runs one call under s.mu. A long-running write with asyncFail is accepted and
// its operation ends Failed with it, neither validated nor applied.
func (s *Server) dispatch(r *http.Request, rt route, body []byte, asyncFail *armError) (*response, *armError) {
	if rt.opID != "" {
		if r.Method != http.MethodGet {
			return nil, errMethod(r.Method)
		}
		return s.pollOperation(r, rt)
	}
	switch r.Method {
	case http.MethodGet:
		switch {
		case rt.name == "":
			return s.listTop(r, rt)
		case rt.child == nil:
			return s.getTop(rt)
		case rt.childName == "":
			return s.listChildren(r, rt)
		default:
			return s.getChild(rt)
		}
	case http.MethodPut:
		if rt.name == "" || (rt.child != nil && rt.childName == "") {
			return nil, errMethod(r.Method)
		}
		if rt.child != nil {
			return s.putChild(r, rt, body, asyncFail)
		}
		return s.putTop(r, rt, body, asyncFail)
	case http.MethodDelete:
		if rt.name == "" || (rt.child != nil && rt.childName == "") {
			return nil, errMethod(r.Method)
		}
		if rt.child != nil {
			return s.deleteChild(r, rt, asyncFail)
		}
		return s.deleteTop(r, rt, asyncFail)
	case http.MethodPatch:
		if rt.name == "" || rt.child != nil {
			return nil, errMethod(r.Method)
		}
		return s.updateTags(rt, body)
	}
	return nil, errMethod(r.Method)
}

func errMethod(m string) *armError {
	return errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed on this resource.", m)
}

// uuid returns a random UUID string from the seeded source.
func (s *Server) uuid() string {
	a, b := s.rng.Uint64(), s.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, (b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// newEtag returns a fresh weak etag, W/"<uuid>", as the network resource provider sends.
func (s *Server) newEtag() string { return `W/"` + s.uuid() + `"` }

// baseURL is the scheme and host the client reached, for absolute URLs in answers.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// The armnetwork models always marshal; keep the answer well-formed if not.
		return []byte(`{}`)
	}
	return b
}
