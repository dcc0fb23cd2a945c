package providers

import (
	"errors"
	"fmt"
)

// UserError is a problem only the Service's author can fix (an unsupported combination, a
// name already taken by something we do not own). The controller reports it as a Warning
// Event and does not retry until the Service changes. Invalid annotations are reported by
// annotations.InvalidError, which the controller treats the same way.
type UserError struct {
	// Service is "namespace/name".
	Service string
	// Reason says what is wrong and what the user can change.
	Reason string
}

func (e *UserError) Error() string { return fmt.Sprintf("service %s: %s", e.Service, e.Reason) }

// NewUserError builds a UserError with a formatted reason.
func NewUserError(service, format string, args ...any) error {
	return &UserError{Service: service, Reason: fmt.Sprintf(format, args...)}
}

// IsUserError reports whether err (or an error it wraps) is a UserError.
func IsUserError(err error) bool {
	var ue *UserError
	return errors.As(err, &ue)
}
