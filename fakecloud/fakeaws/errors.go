package fakeaws

import (
	"fmt"
	"net/http"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// apiError is an AWS error response: the code the SDK matches on, a message and the
// HTTP status AWS sends with it.
type apiError struct {
	Code    string
	Message string
	Status  int
	// Receiver marks server-side faults (ELB's <Type>Receiver</Type>).
	Receiver bool
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// bad is the common HTTP 400 client error.
func bad(code, format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, code, format, args...)
}

func errInvalidAction(action string) *apiError {
	return bad("InvalidAction", "The action %s is not valid for this web service.", action)
}

func errMissing(name string) *apiError {
	return bad("MissingParameter", "The request must contain the parameter %s", name)
}

// errValidation is ELB's and ELBv2's input validation error.
func errValidation(format string, args ...any) *apiError {
	return bad("ValidationError", format, args...)
}

// throttleError is what AWS answers when the request rate is exceeded: EC2 sends
// RequestLimitExceeded with 503, the ELB APIs send Throttling with 400.
func throttleError(service string) *apiError {
	if service == ServiceEC2 {
		return errf(http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
	}
	return errf(http.StatusBadRequest, "Throttling", "Rate exceeded")
}

// serverError is a retryable 5xx.
func serverError(service string) *apiError {
	if service == ServiceEC2 {
		e := errf(http.StatusInternalServerError, "InternalError", "An internal error has occurred")
		e.Receiver = true
		return e
	}
	e := errf(http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unavailable, please try again later.")
	e.Receiver = true
	return e
}

// injected is a fault of fakecore in the service's error envelope.
func injected(service string, err error) *apiError {
	return fakecore.Translate(err, throttleError(service), serverError(service), func(ae *fakecore.APIError) *apiError {
		return &apiError{Code: ae.Code, Message: ae.Message, Status: ae.HTTPStatus(), Receiver: ae.HTTPStatus() >= 500}
	})
}
