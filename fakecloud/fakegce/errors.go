package fakegce

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is a synchronous Google API error: the HTTP status, the reason clients match on
// (notFound, alreadyExists, resourceInUseByAnotherResource, conditionNotMet, ...) and a
// message. It is written as {"error":{"code":..,"message":..,"errors":[{..}]}}.
type apiError struct {
	Status  int
	Reason  string
	Domain  string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Reason, e.Message) }

// opError is a failure GCE reports inside a DONE operation rather than on the call:
// error.errors[] with an upper-case code, plus httpErrorStatusCode/httpErrorMessage.
type opError struct {
	Status  int
	Code    string
	Message string
}

func (e *opError) Error() string {
	return fmt.Sprintf("operation %d %s: %s", e.Status, e.Code, e.Message)
}

func errNotFound(link string) *apiError {
	return &apiError{Status: http.StatusNotFound, Reason: "notFound", Message: fmt.Sprintf("The resource '%s' was not found", link)}
}

func errAlreadyExists(link string) *apiError {
	return &apiError{Status: http.StatusConflict, Reason: "alreadyExists", Message: fmt.Sprintf("The resource '%s' already exists", link)}
}

func errInUse(kind, link, user string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Reason: "resourceInUseByAnotherResource",
		Message: fmt.Sprintf("The %s resource '%s' is already being used by '%s'", kind, link, user)}
}

func errInvalid(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Reason: "invalid", Message: msg}
}

func errInvalidField(field, value, why string) *apiError {
	return errInvalid(fmt.Sprintf("Invalid value for field '%s': '%s'. %s", field, value, why))
}

func errRequired(field string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Reason: "required", Message: fmt.Sprintf("Required field '%s' not specified", field)}
}

func errConditionNotMet(msg string) *apiError {
	return &apiError{Status: http.StatusPreconditionFailed, Reason: "conditionNotMet", Message: msg}
}

func errRateLimit() *apiError {
	return &apiError{Status: http.StatusForbidden, Reason: "rateLimitExceeded", Domain: "usageLimits",
		Message: "Rate Limit Exceeded"}
}

func errBackend() *apiError {
	return &apiError{Status: http.StatusInternalServerError, Reason: "backendError",
		Message: "Internal error. Please try again or contact Google Support. (Code: 'fakegce')"}
}

func errBadMethod(method, path string) *apiError {
	return &apiError{Status: http.StatusNotFound, Reason: "notFound", Message: fmt.Sprintf("No such method: %s %s", method, path)}
}

func opInternal() *opError {
	return &opError{Status: http.StatusInternalServerError, Code: "INTERNAL_ERROR",
		Message: "Internal error. Please try again or contact Google Support. (Code: 'fakegce')"}
}

func opIPInUse(ip, user string) *opError {
	return &opError{Status: http.StatusBadRequest, Code: "IP_IN_USE_BY_ANOTHER_RESOURCE",
		Message: fmt.Sprintf("IP '%s' is already being used by another resource '%s'.", ip, user)}
}

type errorItem struct {
	Message string `json:"message"`
	Domain  string `json:"domain"`
	Reason  string `json:"reason"`
}

type errorBody struct {
	Error struct {
		Code    int         `json:"code"`
		Message string      `json:"message"`
		Errors  []errorItem `json:"errors"`
	} `json:"error"`
}

// writeError writes err in Google's error JSON; anything but an *apiError is a 500.
func writeError(w http.ResponseWriter, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{Status: http.StatusInternalServerError, Reason: "backendError", Message: err.Error()}
	}
	domain := ae.Domain
	if domain == "" {
		domain = "global"
	}
	var b errorBody
	b.Error.Code = ae.Status
	b.Error.Message = ae.Message
	b.Error.Errors = []errorItem{{Message: ae.Message, Domain: domain, Reason: ae.Reason}}
	out, _ := json.Marshal(b)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(ae.Status)
	_, _ = w.Write(out)
}
