package fakeazure

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// armError is an ARM error response: the HTTP status and the {"error":{"code","message"}}
// body the SDK turns into an *azcore.ResponseError with ErrorCode set to Code.
type armError struct {
	Status  int
	Code    string
	Message string
}

func (e *armError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, format string, args ...any) *armError {
	return &armError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// badRequest is the 400 the network resource provider answers for invalid bodies.
func badRequest(code, format string, args ...any) *armError {
	return errf(http.StatusBadRequest, code, format, args...)
}

// errNotFound is ARM's answer for a missing top-level resource.
func errNotFound(typ, name, rg string) *armError {
	return errf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name, rg)
}

// errChildNotFound is the network resource provider's answer for a missing child
// (subnet, security rule, backend pool) of an existing parent.
func errChildNotFound(id string) *armError {
	return errf(http.StatusNotFound, "NotFound", "Resource %s not found.", id)
}

// errBadReference is the 400 for a reference to a resource that does not exist.
func errBadReference(target, from string) *armError {
	return badRequest("InvalidResourceReference",
		"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", target, from)
}

func errPrecondition(id string) *armError {
	return errf(http.StatusPreconditionFailed, "PreconditionFailed",
		"Operation on resource %s failed because the precondition (If-Match/If-None-Match) does not hold for the current etag.", id)
}

func errInvalidName(name string) *armError {
	return badRequest("InvalidResourceName",
		"Resource name %s is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.", name)
}

func errMissingProperty(what, id string) *armError {
	return badRequest("InvalidRequestFormat", "Cannot parse the request: %s is required on %s.", what, id)
}

// throttled is ARM's subscription-level 429.
func throttled() *armError {
	return errf(http.StatusTooManyRequests, "SubscriptionRequestsThrottled",
		"Number of requests for subscription exceeded the limit. Please try again later.")
}

func serverError() *armError {
	return errf(http.StatusInternalServerError, "InternalServerError", "An error occurred.")
}

// errorBody is the ARM error envelope.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

func (e *armError) body() []byte {
	b, _ := json.Marshal(errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Details: []any{}}})
	return b
}

func writeError(w http.ResponseWriter, e *armError) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.body())
}
