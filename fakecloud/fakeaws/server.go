// Package fakeaws is a stateful fake of the AWS APIs cloudlb calls: EC2 (2016-11-15),
// Elastic Load Balancing (2012-06-01) and Elastic Load Balancing v2 (2015-12-01), plus the
// certificate stores their TLS listeners name, ACM (2015-12-08) and IAM server
// certificates (2010-05-08), served on one HTTP endpoint like LocalStack's, so the
// unchanged aws-sdk-go-v2 clients work against it when pointed there with BaseEndpoint or
// AWS_ENDPOINT_URL.
//
// Query requests are routed by the form's Version (and the SigV4 credential scope's
// service name), ACM's JSON requests by their X-Amz-Target header; responses use the real
// shapes and error codes. The fake enforces the rules the providers rely on (duplicate
// names, not-found errors, dependency violations, rule quotas, certificates that must
// exist; VALIDATIONS.md lists the certificate rules and their sources), counts calls by
// operation and injects faults on request.
package fakeaws

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// API versions the fake serves; the Version form field selects the service.
const (
	ec2Version   = "2016-11-15"
	elbVersion   = "2012-06-01"
	elbv2Version = "2015-12-01"
	iamVersion   = "2010-05-08"
)

// Service names as they appear in Calls.
const (
	ServiceEC2   = "ec2"
	ServiceELB   = "elasticloadbalancing"
	ServiceELBv2 = "elasticloadbalancingv2"
	ServiceACM   = "acm"
	ServiceIAM   = "iam"
)

// Options configures a Server; the zero value is usable.
type Options struct {
	// Region used in ARNs, DNS names and zones; default us-east-1.
	Region string
	// AccountID used in ARNs and OwnerId fields; default 123456789012.
	AccountID string
	// Zones are the availability zone names; default <region>a, <region>b, <region>c.
	Zones []string
	// Seed makes generated IDs and fault draws reproducible; 0 means 1.
	Seed uint64
	// RulesPerSecurityGroup is the ingress rule quota per group; default 60 (AWS's default).
	RulesPerSecurityGroup int
	// DNSNames picks the shape of load balancer DNS names; the zero value is AWS's shape.
	// Another shape proves that nothing in the product parses the name (see DNSFormatFromEnv).
	DNSNames DNSFormat
	// TargetGroupInUseCalls is how many DeleteTargetGroup calls answer ResourceInUse after
	// the group's last listener went away, as AWS does for a short while after
	// DeleteLoadBalancer or DeleteListener. Counted in calls, not time, so tests are
	// deterministic; 0 turns it off.
	TargetGroupInUseCalls int
	// OnCall, when set, sees every call counted in Calls (faulted ones included) with its
	// request, and unlike Calls it is never reset: the contract suites collect the operations
	// the provider needed from it (deploy/permissions). It must be safe for concurrent use.
	OnCall func(*http.Request, Call)
}

// Faults are injected around an operation: a throttled or failed call changes no state; a
// call whose response is lost changes it.
type Faults struct {
	// ThrottleRate is the fraction of calls answered with the service's throttling error:
	// EC2 RequestLimitExceeded (HTTP 503), ELB, ELBv2 and IAM Throttling (HTTP 400), ACM
	// ThrottlingException (HTTP 400).
	ThrottleRate float64
	// ServerErrorRate is the fraction of calls answered with a server error:
	// EC2 InternalError (500), the other APIs ServiceUnavailable (503).
	ServerErrorRate float64
	// LoseResponseRate is the fraction of write calls (not Describe/Get/List) that run and
	// change state, after which the client gets the server error of ServerErrorRate: the
	// request reached the cloud but its answer was lost.
	LoseResponseRate float64
	// WriteRateLimit throttles write calls (not Describe/Get/List) above this many per
	// second per service, with a burst of WriteBurst (WriteRateLimit when 0), as AWS meters
	// mutating calls in request-rate buckets of their own. Unlike ThrottleRate, a client
	// that slows down (the SDK's adaptive retry mode) stops being throttled. 0: no limit.
	WriteRateLimit float64
	WriteBurst     int
	// Latency is added to every call.
	Latency time.Duration
	// Operations limits the faults to these operation names (all when empty).
	Operations []string
}

// Call identifies an operation of one service, the key of Calls.
type Call struct {
	Service   string
	Operation string
}

// String is "service:Operation".
func (c Call) String() string { return c.Service + ":" + c.Operation }

// IsRead reports whether the operation only reads (Describe*/Get*/List*).
func (c Call) IsRead() bool {
	for _, p := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(c.Operation, p) {
			return true
		}
	}
	return false
}

// Server is the fake AWS endpoint. All state sits behind one mutex.
type Server struct {
	opts Options

	mu     sync.Mutex
	rng    *rand.Rand
	faults Faults
	// writeBuckets meter Faults.WriteRateLimit per service; SetFaults renews them.
	writeBuckets map[string]*rate.Limiter
	// failNext holds one-shot errors per operation, served before the random faults.
	failNext map[Call][]*apiError
	// loseNext counts, per operation, the next calls that run but answer a server error.
	loseNext map[Call]int
	calls    map[Call]int
	reqSeq   uint64
	ec2      *ec2State
	elb      *elbState
	elbv2    *elbv2State
	certs    *certStore

	httpSrv *http.Server
}

// New returns a Server with empty state.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if len(opts.Zones) == 0 {
		opts.Zones = []string{opts.Region + "a", opts.Region + "b", opts.Region + "c"}
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.RulesPerSecurityGroup == 0 {
		opts.RulesPerSecurityGroup = 60
	}
	s := &Server{
		opts:     opts,
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		calls:    map[Call]int{},
		failNext: map[Call][]*apiError{},
		loseNext: map[Call]int{},
	}
	s.ec2 = newEC2State()
	s.elb = newELBState()
	s.elbv2 = newELBv2State()
	s.certs = newCertStore()
	return s
}

// Region is the region the server reports.
func (s *Server) Region() string { return s.opts.Region }

// Start serves on addr (host:port, port 0 for any) and returns the endpoint URL.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("fakeaws: listen %s: %w", addr, err)
	}
	s.httpSrv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
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
	return s.httpSrv.Shutdown(ctx)
}

// Handler serves the three APIs; use it with httptest.NewServer.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// SetFaults replaces the injected faults; the zero Faults turns them off.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.writeBuckets = map[string]*rate.Limiter{}
}

// FailNext makes the next call of one operation fail with the given error code and HTTP
// status (400 when 0), once per FailNext; the call is counted and changes nothing.
func (s *Server) FailNext(c Call, code string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		status = http.StatusBadRequest
	}
	s.failNext[c] = append(s.failNext[c], &apiError{Code: code, Message: "injected by fakeaws", Status: status, Receiver: status >= 500})
}

// Calls returns a copy of the call counters, faulted and failed calls included.
func (s *Server) Calls() map[Call]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Call]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// CallCount is the number of calls of one operation.
func (s *Server) CallCount(service, operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[Call{service, operation}]
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[Call]int{}
}

// CallsSummary renders the counters sorted, one "service:Operation N" per line.
func CallsSummary(calls map[Call]int) string {
	keys := make([]Call, 0, len(calls))
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, calls[k])
	}
	return b.String()
}

// request is one decoded call.
type request struct {
	service string
	action  string
	form    url.Values
	id      string
	// body is the JSON input of an ACM call.
	body []byte
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqSeq++
	id := requestID(s.reqSeq)
	s.mu.Unlock()
	req, perr := readACMRequest(r, id)
	if req == nil {
		req, perr = parseRequest(r, id)
	}
	if perr != nil {
		respond(w, req, nil, perr)
		return
	}

	s.mu.Lock()
	s.calls[Call{req.service, req.action}]++
	fault, lose, latency := s.drawFault(req)
	s.mu.Unlock()
	if s.opts.OnCall != nil {
		s.opts.OnCall(r, Call{req.service, req.action})
	}

	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if fault != nil {
		respond(w, req, nil, fault)
		return
	}

	s.mu.Lock()
	body, err := s.dispatch(req)
	s.mu.Unlock()
	if lose {
		// The operation ran (or failed) in the cloud; the client sees only a 5xx.
		respond(w, req, nil, serverError(req.service))
		return
	}
	respond(w, req, body, err)
}

// respond writes the body, or err in the service's error envelope, in the wire format of
// the request's protocol.
func respond(w http.ResponseWriter, req *request, body []byte, err error) {
	switch {
	case req.service == ServiceACM || req.service == ServiceIAM:
		replyCerts(w, req, body, err)
	case err != nil:
		writeError(w, req.service, req.id, err)
	default:
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.Header().Set("x-amzn-RequestId", req.id)
		_, _ = w.Write(body)
	}
}

// routeService picks the API from the Version field; "" for a version the fake does not serve.
func routeService(version string) string {
	switch version {
	case ec2Version:
		return ServiceEC2
	case elbVersion:
		return ServiceELB
	case elbv2Version:
		return ServiceELBv2
	case iamVersion:
		return ServiceIAM
	}
	return ""
}

// signingName extracts the service from "AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request, ...".
func signingName(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}

func requestID(n uint64) string {
	return fmt.Sprintf("%08x-fa6e-4a75-8d1e-%012x", n, n)
}

// dispatch runs one operation under s.mu and returns the response body.
func (s *Server) dispatch(req *request) ([]byte, error) {
	var h map[string]handler
	switch req.service {
	case ServiceEC2:
		h = ec2Handlers
	case ServiceELB:
		h = elbHandlers
	case ServiceELBv2:
		h = elbv2Handlers
	case ServiceACM:
		h = acmHandlers
	case ServiceIAM:
		h = iamHandlers
	}
	fn, ok := h[req.action]
	if !ok {
		return nil, errInvalidAction(req.action)
	}
	out, err := fn(s, req)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			err = &apiError{Code: "InternalError", Message: err.Error(), Status: http.StatusInternalServerError}
		}
		return nil, err
	}
	if b, ok := out.(rawBody); ok {
		return b, nil
	}
	return encodeResponse(req, out)
}

// handler decodes req.form into its typed input and returns the SDK output struct.
type handler func(s *Server, req *request) (any, error)

// newID returns prefix-<17 hex digits> from the seeded source, like EC2 IDs.
func (s *Server) newID(prefix string) string {
	return fmt.Sprintf("%s-%017x", prefix, s.rng.Uint64())
}

// hex16 returns 16 hex digits, the id part of ELBv2 ARNs.
func (s *Server) hex16() string { return fmt.Sprintf("%016x", s.rng.Uint64()) }
