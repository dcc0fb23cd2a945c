package azure

import (
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cloudlb/cloudlb/providers"
)

// auditPolicy reports every ARM write (PUT, PATCH, POST, DELETE) once per call, outside the
// retries, to the request's auditor (providers.AuditWrite): the method and resource type as
// the operation, the resource ID as the object; a PUT answered 201 created the resource, a
// DELETE answered 200 or 202 deleted it (204: it was not there). The polls of long-running
// operations are GETs and are not writes.
type auditPolicy struct{}

func (auditPolicy) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	if raw.Method == http.MethodGet || raw.Method == http.MethodHead {
		return req.Next()
	}
	resp, err := req.Next()
	w := armWrite(raw.Method, raw.URL.Path)
	// The error reported is the auditor's only: the pipeline turns an error status into the
	// SDK's ResponseError itself, so resp and err go back unchanged.
	failed := err
	if err == nil && resp != nil {
		switch {
		case resp.StatusCode >= 300:
			failed = fmt.Errorf("HTTP %d", resp.StatusCode)
		case raw.Method == http.MethodPut && resp.StatusCode == http.StatusCreated:
			w.Change = providers.ChangeCreated
		case raw.Method == http.MethodDelete && resp.StatusCode != http.StatusNoContent:
			w.Change = providers.ChangeDeleted
		}
	}
	providers.AuditWrite(raw.Context(), w, failed)
	return resp, err
}

// armWrite names a write by its resource ID: "PUT loadBalancers" on
// /subscriptions/s/resourceGroups/g/providers/Microsoft.Network/loadBalancers/name.
func armWrite(method, path string) providers.Write {
	w := providers.Write{Cloud: ProviderName, Operation: method, Object: path}
	if typ := parseARMPath(path).typ; typ != "" {
		w.Operation = method + " " + typ
	}
	return w
}
