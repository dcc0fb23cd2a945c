package contract

import (
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Check looks at the cloud, and at the Service as the API server has it now; the suites
// poll it until it returns nil, so an error says what is still missing.
type Check func(t *testing.T, svc *v1.Service) error

// All is the checks in order; the first error wins.
func All(checks ...Check) Check {
	return func(t *testing.T, svc *v1.Service) error {
		for _, c := range checks {
			if c == nil {
				continue
			}
			if err := c(t, svc); err != nil {
				return err
			}
		}
		return nil
	}
}

// Expect is a Service and what the cloud holds for it once the controller got there; a
// nil Holds is satisfied by the Service's ingress alone.
type Expect struct {
	Service *v1.Service
	Holds   Check
}

// Want describes a difference between got and want.
func Want[T comparable](what string, got, want T) error {
	if got != want {
		return fmt.Errorf("%s = %v, want %v", what, got, want)
	}
	return nil
}

// FirstErr returns the first non-nil error.
func FirstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// AtMost describes a count above its limit.
func AtMost(what string, got, limit int) error {
	if got > limit {
		return fmt.Errorf("%s = %d, want <= %d", what, got, limit)
	}
	return nil
}

// Must(v, err)(t) is v, failing t on err: for the providers' constructors.
func Must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Key is namespace/name, the key the clouds' ownership marks name a Service by.
func Key(svc *v1.Service) string { return svc.Namespace + "/" + svc.Name }

// Ingress renders the Service's status addresses, IPs or hostnames, comma-separated.
func Ingress(svc *v1.Service) string {
	var out []string
	for _, i := range svc.Status.LoadBalancer.Ingress {
		out = append(out, i.IP+i.Hostname)
	}
	return strings.Join(out, ",")
}

// WaitCheck polls check with the Service as the API server has it, until it holds.
func (tn *Tenant) WaitCheck(name, what string, check Check) {
	tn.T.Helper()
	WaitForWithin(tn.T, tn.timeout(), what+" ("+tn.NS+"/"+name+")", func() (bool, string) {
		svc, err := tn.CS.CoreV1().Services(tn.NS).Get(tn.T.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if err := check(tn.T, svc); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// WaitHolds waits for the Service's ingress and then for holds (when set).
func (tn *Tenant) WaitHolds(name string, holds Check) *v1.Service {
	tn.T.Helper()
	svc := tn.WaitIngress(name, nil)
	if holds != nil {
		tn.WaitCheck(name, "the cloud to hold what the Service asks for", holds)
	}
	return svc
}

// WaitEvent waits for an Event of type typ on the Service whose message contains text, with
// the reason ("" for any).
func (tn *Tenant) WaitEvent(name, typ, reason, text string) {
	tn.T.Helper()
	WaitForWithin(tn.T, tn.timeout(), fmt.Sprintf("a %s %s Event on %s mentioning %q", typ, reason, name, text), func() (bool, string) {
		evs, err := tn.CS.CoreV1().Events(tn.NS).List(tn.T.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range evs.Items {
			if e.Type == typ && (reason == "" || e.Reason == reason) && strings.Contains(e.Message, text) {
				return true, ""
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return false, strings.Join(seen, " | ")
	})
}

// Delete deletes the Service; WaitGone waits for the controller to release it.
func (tn *Tenant) Delete(name string) {
	tn.T.Helper()
	if err := tn.CS.CoreV1().Services(tn.NS).Delete(tn.T.Context(), name, metav1.DeleteOptions{}); err != nil {
		tn.T.Fatalf("delete service %s: %v", name, err)
	}
}
