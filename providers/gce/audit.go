package gce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cloudlb/cloudlb/providers"
)

// auditTransport reports every Compute write (any method but GET) to the request's auditor
// (providers.AuditWrite): the method and collection as the operation, the resource path (with
// the new resource's name for an insert) as the object, and inserts and deletes of top-level
// resources as created and deleted. The compute REST clients do not retry writes on their own,
// so one request is one call.
type auditTransport struct{ next http.RoundTripper }

func (t auditTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet {
		return t.next.RoundTrip(req)
	}
	w := computeWrite(req)
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode >= 300 {
		providers.AuditWrite(req.Context(), w, fmt.Errorf("HTTP %d", resp.StatusCode))
		return resp, nil
	}
	providers.AuditWrite(req.Context(), w, err)
	return resp, err
}

// computeWrite describes a Compute write from its URL: .../regions/r/forwardingRules (insert),
// .../forwardingRules/name (delete or patch), .../targetPools/name/addInstance (an action).
func computeWrite(req *http.Request) providers.Write {
	path := req.URL.Path
	if i := strings.Index(path, "/projects/"); i >= 0 {
		path = path[i+1:]
	}
	parts := strings.Split(path, "/")
	w := providers.Write{Cloud: ProviderName, Object: path}
	last := parts[len(parts)-1]
	switch {
	case req.Method == http.MethodPost && isCollection(last):
		w.Operation, w.Change = "insert "+last, providers.ChangeCreated
		if name := bodyName(req); name != "" {
			w.Object = path + "/" + name
		}
	case req.Method == http.MethodDelete && len(parts) >= 2 && isCollection(parts[len(parts)-2]):
		w.Operation, w.Change = "delete "+parts[len(parts)-2], providers.ChangeDeleted
	case len(parts) >= 3 && isCollection(parts[len(parts)-3]):
		w.Operation, w.Object = parts[len(parts)-3]+"."+last, strings.Join(parts[:len(parts)-1], "/")
	case len(parts) >= 2 && isCollection(parts[len(parts)-2]):
		w.Operation = strings.ToLower(req.Method) + " " + parts[len(parts)-2]
	default:
		w.Operation = req.Method
	}
	return w
}

// isCollection reports whether a path segment is one of the Compute collections cloudlb
// writes.
func isCollection(s string) bool {
	switch s {
	case "forwardingRules", "targetPools", "addresses", "healthChecks", "httpHealthChecks", "backendServices", "firewalls", "instanceGroups":
		return true
	}
	return false
}

// bodyName reads the "name" of an insert's JSON body through GetBody, leaving the request's
// own body untouched.
func bodyName(req *http.Request) string {
	if req.GetBody == nil {
		return ""
	}
	rc, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return ""
	}
	var v struct {
		Name string `json:"name"`
	}
	if json.NewDecoder(bytes.NewReader(data)).Decode(&v) != nil {
		return ""
	}
	return v.Name
}
