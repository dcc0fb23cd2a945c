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
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
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

// Faults are injected before a call runs; a faulted call changes no state.
type Faults struct {
	// RateLimitRate is the fraction of calls answered 403 rateLimitExceeded.
	RateLimitRate float64
	// ServerErrorRate is the fraction of calls answered 500 backendError.
	ServerErrorRate float64
	// OperationErrorRate is the fraction of writes whose operation ends DONE with an
	// error (INTERNAL_ERROR, httpErrorStatusCode 500) and no effect.
	OperationErrorRate float64
	// Latency is added to every call.
	Latency time.Duration
	// Operations limits the error faults to these call keys ("ForwardingRules.Insert");
	// all calls when empty. Latency applies to every call.
	Operations []string
}

// Server is the fake Compute endpoint; all state sits behind one mutex.
type Server struct {
	opts Options

	mu     sync.Mutex
	rng    *rand.Rand
	faults Faults
	calls  map[string]int
	// failNext holds one-shot errors per call key, served before the random faults.
	failNext map[string][]*apiError
	writes   int
	objects  map[string]*object // keyed by relative self link "projects/p/regions/r/forwardingRules/n"
	ops      map[string]*operation
	// requests maps a write's requestId to its operation, so a retry does not run twice.
	requests map[string]*computepb.Operation
	seq      uint64
	// lastBase is the base URL of the latest request, used for self links outside a request.
	lastBase string
	ips      ipPool

	httpSrv *http.Server
}

var _ http.Handler = (*Server)(nil)

// New returns a Server holding the "default" network with a "default" subnetwork
// (10.128.0.0/20) in the region.
func New(o Options) *Server {
	if o.Project == "" {
		o.Project = "test-project"
	}
	if o.Region == "" {
		o.Region = "us-central1"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	s := &Server{
		opts:     o,
		rng:      rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		calls:    map[string]int{},
		failNext: map[string][]*apiError{},
		objects:  map[string]*object{},
		ops:      map[string]*operation{},
		requests: map[string]*computepb.Operation{},
		lastBase: "https://compute.googleapis.com",
		ips:      newIPPool(),
	}
	s.AddNetwork("default", map[string]string{"default": "10.128.0.0/20"})
	return s
}

// Project is the project the server serves.
func (s *Server) Project() string { return s.opts.Project }

// Region is the server's region.
func (s *Server) Region() string { return s.opts.Region }

// Start serves on addr (host:port, port 0 for any) and returns the endpoint URL to pass
// to option.WithEndpoint.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("fakegce: listen %s: %w", addr, err)
	}
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpSrv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops a server started with Start.
func (s *Server) Close() error {
	if s.httpSrv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.httpSrv.Shutdown(ctx); err != nil {
		return fmt.Errorf("fakegce: shutdown: %w", err)
	}
	return nil
}

// SetFaults replaces the injected faults; the zero Faults turns them off.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// FailNext makes the next call with this key ("TargetPools.AddInstance") fail with the
// given HTTP status and reason (e.g. 503 "backendError", 409 "alreadyExists"), once per
// FailNext; the call is counted and changes nothing.
func (s *Server) FailNext(callKey string, status int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[callKey] = append(s.failNext[callKey], &apiError{Status: status, Reason: reason, Message: "injected by fakegce"})
}

// Calls returns a copy of the call counters keyed "<Resource>.<Method>" as in the API
// reference ("ForwardingRules.Insert", "RegionOperations.Get"); faulted calls count.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counters and Writes.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.writes = 0
}

// Writes is the number of mutating calls (insert, delete, patch, update, add*, remove*,
// set*) since the last ResetCalls, faulted ones included.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

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
	key := rt.callKey()
	s.calls[key]++
	if rt.isWrite() {
		s.writes++
	}
	fault, opFault, latency := s.drawFault(key, rt.isWrite())
	s.mu.Unlock()
	if s.opts.OnCall != nil {
		s.opts.OnCall(r, key)
	}

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if fault != nil {
		writeError(w, fault)
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
	out, err := s.dispatch(c, opFault)
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(out)
}

// drawFault decides under s.mu whether this call fails; draws come from the seeded source.
func (s *Server) drawFault(key string, write bool) (fault *apiError, opFault bool, latency time.Duration) {
	f := s.faults
	if q := s.failNext[key]; len(q) > 0 {
		s.failNext[key] = q[1:]
		return q[0], false, f.Latency
	}
	if len(f.Operations) > 0 && !slices.Contains(f.Operations, key) {
		return nil, false, f.Latency
	}
	if f.RateLimitRate > 0 && s.rng.Float64() < f.RateLimitRate {
		return errRateLimit(), false, f.Latency
	}
	if f.ServerErrorRate > 0 && s.rng.Float64() < f.ServerErrorRate {
		return errBackend(), false, f.Latency
	}
	if write && f.OperationErrorRate > 0 && s.rng.Float64() < f.OperationErrorRate {
		return nil, true, f.Latency
	}
	return nil, false, f.Latency
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
