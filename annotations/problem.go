package annotations

import (
	"fmt"
	"strings"
)

// Severity is how serious a Problem is.
type Severity string

// Severities. An Error blocks every cloud write for the Service; a Warning does not.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Problem is one finding about one key (or Service field) of one Service.
type Problem struct {
	Severity Severity `json:"severity"`
	// Key is the annotation key as written, or a field path such as spec.ports[0].port.
	Key     string `json:"key"`
	Value   string `json:"value"`
	Reason  string `json:"reason"`
	Allowed string `json:"allowed,omitempty"`
}

// String renders `KEY: "VALUE": REASON (allowed: ...)`.
func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %q: %s", p.Key, p.Value, p.Reason)
	if p.Allowed != "" {
		fmt.Fprintf(&b, " (allowed: %s)", p.Allowed)
	}
	return b.String()
}

// Problems is the result list of Parse.
type Problems []Problem

// Errors returns only the problems of severity Error.
func (ps Problems) Errors() Problems { return ps.filter(Error) }

// Warnings returns only the problems of severity Warning.
func (ps Problems) Warnings() Problems { return ps.filter(Warning) }

// HasErrors reports whether any problem is an Error.
func (ps Problems) HasErrors() bool { return len(ps.Errors()) > 0 }

func (ps Problems) filter(s Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// Err returns the errors as one error value (nil when there are none), for callers that
// need an error; it unwraps to *InvalidError.
func (ps Problems) Err(service string) error {
	errs := ps.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &InvalidError{Service: service, Problems: errs}
}

// InvalidError is the user error returned for a Service with invalid annotations.
type InvalidError struct {
	Service  string
	Problems Problems
}

func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("service %s: invalid configuration: %s", e.Service, strings.Join(lines, "; "))
}

// problems collects findings during one Parse.
type problems struct{ list Problems }

func (ps *problems) errorf(key, value, allowed, format string, args ...any) {
	ps.list = append(ps.list, Problem{Severity: Error, Key: key, Value: value, Allowed: allowed, Reason: fmt.Sprintf(format, args...)})
}

func (ps *problems) warnf(key, value, allowed, format string, args ...any) {
	ps.list = append(ps.list, Problem{Severity: Warning, Key: key, Value: value, Allowed: allowed, Reason: fmt.Sprintf(format, args...)})
}
