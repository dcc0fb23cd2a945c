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
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
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

// Call is an operation key, "service:Operation" ("ec2:DescribeInstances"): the key of
// Calls, FailNext and Faults.Operations.
type Call string

// NewCall is the key of one operation of one service.
func NewCall(service, operation string) Call { return Call(service + ":" + operation) }

// Service is the part before the colon ("ec2").
func (c Call) Service() string { s, _, _ := strings.Cut(string(c), ":"); return s }

// Operation is the part after the colon ("DescribeInstances").
func (c Call) Operation() string { _, op, _ := strings.Cut(string(c), ":"); return op }

// String is "service:Operation".
func (c Call) String() string { return string(c) }

// IsRead reports whether the operation only reads (Describe*/Get*/List*).
func (c Call) IsRead() bool {
	for _, p := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(c.Operation(), p) {
			return true
		}
	}
	return false
}

// kind classifies the call for the counters and the write faults.
func (c Call) kind() fakecore.Kind {
	if c.IsRead() {
		return fakecore.Read
	}
	return fakecore.Write
}

// Server is the fake AWS endpoint; it implements http.Handler. The call counters, faults
// and listener are the embedded Endpoint's (fakecore); all state sits behind one mutex.
type Server struct {
	*fakecore.Endpoint[Call]
	opts Options

	mu     sync.Mutex
	rng    *rand.Rand
	reqSeq uint64
	ec2    *ec2State
	elb    *elbState
	elbv2  *elbv2State
	certs  *certStore
}

var _ http.Handler = (*Server)(nil)

// New returns a Server with empty state.
func New(opts Options) *Server {
	opts.Region = cmp.Or(opts.Region, "us-east-1")
	opts.AccountID = cmp.Or(opts.AccountID, "123456789012")
	if len(opts.Zones) == 0 {
		opts.Zones = []string{opts.Region + "a", opts.Region + "b", opts.Region + "c"}
	}
	opts.Seed = cmp.Or(opts.Seed, 1)
	opts.RulesPerSecurityGroup = cmp.Or(opts.RulesPerSecurityGroup, 60)
	s := &Server{
		opts: opts,
		rng:  rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
	}
	// Each service meters its writes in a bucket of its own.
	s.Endpoint = fakecore.NewEndpoint(fakecore.Config[Call]{Name: "fakeaws", Seed: opts.Seed, OnCall: opts.OnCall, Bucket: Call.Service}, s)
	s.ec2 = newEC2State()
	s.elb = newELBState()
	s.elbv2 = newELBv2State()
	s.certs = newCertStore()
	return s
}

// Region is the region the server reports.
func (s *Server) Region() string { return s.opts.Region }

// CallsSummary renders the counters sorted, one "service:Operation N" per line.
func CallsSummary(calls map[Call]int) string { return fakecore.Summary(calls) }

// request is one decoded call.
type request struct {
	service string
	action  string
	form    url.Values
	id      string
	// body is the JSON input of an ACM call.
	body []byte
}

// ServeHTTP serves the five APIs on one endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

	call := NewCall(req.service, req.action)
	o := s.Admit(r, call, call.kind())
	switch {
	case o.Gone:
		return
	case o.Err != nil:
		// AWS has no long-running operations: an Async fault is answered at once too.
		respond(w, req, nil, injected(req.service, o.Err))
		return
	}

	s.mu.Lock()
	body, err := s.dispatch(req)
	s.mu.Unlock()
	if o.Lose {
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
