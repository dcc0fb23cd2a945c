package fakeaws

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// IMDS header names and limits (EC2 User Guide, "Use the Instance Metadata Service to access
// instance metadata", IMDSv2).
const (
	imdsTokenHeader = "X-Aws-Ec2-Metadata-Token"
	imdsTTLHeader   = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	// imdsMaxTTL is the longest session token IMDS hands out: six hours.
	imdsMaxTTL       = 21600
	imdsTokenPath    = "/latest/api/token"
	imdsMetadataPath = "/latest/meta-data/"
)

// IMDS returns the instance metadata service as the instance instanceID sees it, for a
// controller that asks "which instance am I on": point the SDK's imds client (or
// AWS_EC2_METADATA_SERVICE_ENDPOINT) at an httptest server running it. It speaks IMDSv2 with
// tokens required (HttpTokens=required, the default of new instances):
//
//   - PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds between 1 and 21600
//     (400 otherwise) and refuses a request that carries X-Forwarded-For (403), as IMDS does.
//   - GET /latest/meta-data/PATH needs a token it issued and that has not expired (401
//     otherwise); it serves instance-id, placement/availability-zone, placement/region,
//     local-ipv4 and local-hostname from the fake's EC2 state, 404 for any other path or when
//     the instance is gone.
//
// Metadata calls are not counted in Calls: they are not AWS API calls and cost nothing.
func (s *Server) IMDS(instanceID string) http.Handler {
	return &imdsServer{s: s, instance: instanceID, tokens: map[string]time.Time{}, now: time.Now}
}

// imdsServer is one instance's metadata endpoint.
type imdsServer struct {
	s        *Server
	instance string
	now      func() time.Time

	mu     sync.Mutex
	tokens map[string]time.Time // token -> expiry
}

func (m *imdsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == imdsTokenPath:
		m.token(w, r)
	case strings.HasPrefix(r.URL.Path, imdsMetadataPath):
		m.metadata(w, r)
	default:
		http.NotFound(w, r)
	}
}

// token issues a session token.
func (m *imdsServer) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		// IMDS refuses token requests that went through a proxy.
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get(imdsTTLHeader))
	if err != nil || ttl < 1 || ttl > imdsMaxTTL {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	m.mu.Lock()
	m.tokens[tok] = m.now().Add(time.Duration(ttl) * time.Second)
	m.mu.Unlock()
	w.Header().Set(imdsTTLHeader, strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(tok))
}

// metadata answers one metadata path for a valid token.
func (m *imdsServer) metadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	m.mu.Lock()
	exp, ok := m.tokens[r.Header.Get(imdsTokenHeader)]
	m.mu.Unlock()
	if !ok || !m.now().Before(exp) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	v, found := m.value(strings.TrimPrefix(r.URL.Path, imdsMetadataPath))
	if !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(v))
}

// value is the metadata at path, read from the instance's current state.
func (m *imdsServer) value(path string) (string, bool) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	inst, ok := m.s.ec2.instances.get(m.instance)
	if !ok || (inst.State != nil && inst.State.Name == "terminated") {
		return "", false
	}
	zone := ""
	if inst.Placement != nil {
		zone = aws.ToString(inst.Placement.AvailabilityZone)
	}
	switch path {
	case "instance-id":
		return m.instance, true
	case "placement/availability-zone":
		return zone, zone != ""
	case "placement/region":
		return m.s.opts.Region, true
	case "local-ipv4":
		return aws.ToString(inst.PrivateIpAddress), inst.PrivateIpAddress != nil
	case "local-hostname":
		return aws.ToString(inst.PrivateDnsName), inst.PrivateDnsName != nil
	}
	return "", false
}
