// Package fakegce is a stateful fake of the Compute Engine REST API (v1) for the resources
// cloudlb's GCE provider uses: regional forwarding rules, target pools, addresses, backend
// services and health checks, global firewalls, health checks and legacy HTTP health checks,
// zonal instance groups and instances, networks and subnetworks, and the region, zone and
// global operations every write returns.
//
// Unmodified cloud.google.com/go/compute/apiv1 REST clients talk to it when pointed at its
// URL with option.WithEndpoint and option.WithoutAuthentication; legacy httpHealthChecks,
// for which compute/apiv1 has no client, are served in the same REST shape to plain HTTP. Bodies are the protojson encoding of the computepb messages,
// so 64-bit IDs travel as JSON strings like the real API; errors use Google's error JSON,
// which googleapi.CheckResponse turns into *googleapi.Error. Writes complete at once: the
// returned operation is DONE, and a failed write carries operation.error.errors[] plus
// httpErrorStatusCode as GCE does. The fake enforces the rules the provider relies on
// (duplicate names, missing references, resources in use, stale fingerprints, patchable
// fields, a backend service's protocol fixed while rules use it, several forwarding rules on
// one reserved address only with distinct protocol/ports and, for internal addresses, purpose
// SHARED_LOADBALANCER_VIP), counts calls per "<Resource>.<Method>" and injects faults on
// request.
package fakegce

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// Options configures a Server; the zero value is usable.
type Options struct {
	// Project is the only project served; default "test-project".
	Project string
	// Region is the region of the default subnetwork and of Zones; default "us-central1".
	Region string
	// Seed makes fault draws reproducible; 0 means 1.
	Seed uint64
	// OnCall, when set, sees every call counted in Calls (faulted ones included) with its
	// request and key, and unlike Calls it is never reset: the contract suites collect the
	// operations the provider needed from it (deploy/permissions). It must be safe for
	// concurrent use.
	OnCall func(r *http.Request, callKey string)
}

// Server is the fake Compute endpoint; it implements http.Handler. The call counters,
// faults and listener are the embedded Endpoint's (fakecore); all state sits behind one mutex.
type Server struct {
	*fakecore.Endpoint[string]
	opts Options

	mu      sync.Mutex
	objects map[string]*object // keyed by relative self link "projects/p/regions/r/forwardingRules/n"
	ops     map[string]*operation
	// requests maps a write's requestId to its operation, so a retry does not run twice.
	requests map[string]*computepb.Operation
	seq      uint64
	// lastBase is the base URL of the latest request, used for self links outside a request.
	lastBase string
	ips      ipPool
	// backends records backends going empty (backends.go).
	backends backendLog
}

var _ http.Handler = (*Server)(nil)

// New returns a Server holding the "default" network with a "default" subnetwork
// (10.128.0.0/20) in the region.
func New(o Options) *Server {
	o.Project = cmp.Or(o.Project, "test-project")
	o.Region = cmp.Or(o.Region, "us-central1")
	s := &Server{
		opts:     o,
		objects:  map[string]*object{},
		ops:      map[string]*operation{},
		requests: map[string]*computepb.Operation{},
		lastBase: "https://compute.googleapis.com",
		ips:      newIPPool(),
	}
	s.Endpoint = fakecore.NewEndpoint(fakecore.Config[string]{Name: "fakegce", Seed: o.Seed, OnCall: o.OnCall}, s)
	s.AddNetwork("default", map[string]string{"default": "10.128.0.0/20"})
	return s
}

// Project is the project the server serves.
func (s *Server) Project() string { return s.opts.Project }

// Region is the server's region.
func (s *Server) Region() string { return s.opts.Region }

// ServeHTTP serves /compute/v1/projects/{project}/...
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	rt, err := parseRoute(r.Method, r.URL.Path)
	if err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	s.lastBase = base
	s.mu.Unlock()
	o := s.Admit(r, rt.callKey(), rt.callKind())
	var opFail *opError
	switch {
	case o.Gone:
		return
	case o.Err != nil && o.Async && rt.isWrite():
		opFail = injectedInOperation(o.Err)
	case o.Err != nil:
		writeError(w, injected(o.Err))
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	c := &call{route: rt, base: base, body: body, query: r.URL.Query()}
	if rt.project != s.opts.Project {
		writeError(w, errNotFound("projects/"+rt.project))
		return
	}

	s.mu.Lock()
	out, err := s.dispatch(c, opFail)
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(out)
}

// injected is a fault of fakecore as Compute answers it on the call.
func injected(err error) *apiError {
	return fakecore.Translate(err, errRateLimit(), errBackend(), func(ae *fakecore.APIError) *apiError {
		return &apiError{Status: ae.HTTPStatus(), Reason: ae.Code, Message: ae.Message}
	})
}

// injectedInOperation is a fault of fakecore as Compute reports it in a DONE operation.
func injectedInOperation(err error) *opError {
	return fakecore.Translate(err, opInternal(), opInternal(), func(ae *fakecore.APIError) *opError {
		return &opError{Status: ae.HTTPStatus(), Code: ae.Code, Message: ae.Message}
	})
}

// baseURL is scheme://host of the request, the prefix of every self link in the answer.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	const limit = 8 << 20
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errInvalid(fmt.Sprintf("reading request body: %v", err))
	}
	if len(b) > limit {
		return nil, errInvalid("request body larger than 8 MiB")
	}
	return b, nil
}

// nextID returns a fresh resource or operation ID. IDs sit above 2^63 like many of GCE's,
// so a client that reads them as int64 or as a JSON number is caught.
func (s *Server) nextID() uint64 {
	s.seq++
	return 1<<63 + s.seq*7919
}

// now is the timestamp written into resources and operations.
func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000-07:00") }
