package azure

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// TestIsConflict: a lost race is read again whether ARM refused the write (412, 409) or
// accepted it and its poller then read that another write superseded it.
func TestIsConflict(t *testing.T) {
	t.Parallel()
	const superseded = "CanceledAndSupersededDueToAnotherOperation"
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"stale etag", &azcore.ResponseError{StatusCode: http.StatusPreconditionFailed, ErrorCode: "PreconditionFailed"}, true},
		{"superseded, refused", &azcore.ResponseError{StatusCode: http.StatusConflict, ErrorCode: superseded}, true},
		{"superseded, polled", fmt.Errorf("writing load balancer rg/lb: %w", &azcore.ResponseError{StatusCode: http.StatusOK, ErrorCode: superseded}), true},
		{"another conflict", &azcore.ResponseError{StatusCode: http.StatusConflict, ErrorCode: "InUseSubnetCannotBeDeleted"}, false},
		{"bad request", &azcore.ResponseError{StatusCode: http.StatusBadRequest, ErrorCode: "InvalidResourceReference"}, false},
		{"not an ARM error", fmt.Errorf("dial tcp: connection refused"), false},
	} {
		if got := isConflict(tc.err); got != tc.want {
			t.Errorf("%s: isConflict = %v, want %v", tc.name, got, tc.want)
		}
	}
}
