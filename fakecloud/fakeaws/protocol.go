package fakeaws

import "net/http"

// parseRequest decodes the Query-protocol envelope. On error the returned request still
// names the service whose error envelope fits best: the Version's, else the SigV4 signing
// name's (EC2's <Response> or the ELB APIs' <ErrorResponse>), so even a malformed request
// gets an XML error the SDK can decode rather than a plain-text body.
func parseRequest(r *http.Request, id string) (*request, error) {
	req := &request{id: id, service: ServiceELB}
	if signingName(r.Header.Get("Authorization")) == "ec2" {
		req.service = ServiceEC2
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		// AWS documents no code for this; the Query protocol is POST (or GET) only.
		return req, errf(http.StatusMethodNotAllowed, "InvalidHttpRequest", "The HTTP method %s is not supported; use POST or GET", r.Method)
	}
	if err := r.ParseForm(); err != nil {
		// Common Errors: MalformedQueryString, HTTP 404.
		return req, errf(http.StatusNotFound, "MalformedQueryString", "The query string contains a syntax error: %v", err)
	}
	req.form = r.Form
	req.action = r.Form.Get("Action")
	version := r.Form.Get("Version")
	if svc := routeService(version); svc != "" {
		req.service = svc
	}
	switch {
	case req.action == "":
		return req, bad("MissingAction", "The request must contain the parameter Action")
	case version == "":
		// Version is a required common parameter of every Query API.
		return req, errMissing("Version")
	case routeService(version) == "":
		return req, bad("NoSuchVersion", "The requested version (%s) of this service does not exist", version)
	}
	return req, nil
}
