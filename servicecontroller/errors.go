package servicecontroller

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/klog/v2"

	cloudproviderapi "k8s.io/cloud-provider/api"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// Operations, as the metrics "operation" label and in error messages.
const (
	opEnsure = "ensure"
	opUpdate = "update"
	opDelete = "delete"
)

// errorClass says how a sync error is handled.
type errorClass string

// The three error classes, and none.
const (
	classNone errorClass = ""
	// classUser: only the Service's author can fix it. Warning Event, no retry until the
	// Service changes.
	classUser errorClass = "user"
	// classWait: the provider asked to come back later (RetryError). Requeue after its delay,
	// no error log, at most a Normal Event.
	classWait errorClass = "wait"
	// classTransient: anything else. Exponential per-Service backoff and a Warning Event.
	classTransient errorClass = "transient"
)

// classify sorts an error (wrapped or not) into its class.
func classify(err error) errorClass {
	var invalid *annotations.InvalidError
	var retry *cloudproviderapi.RetryError
	switch {
	case err == nil:
		return classNone
	case errors.As(err, &invalid), providers.IsUserError(err):
		return classUser
	case errors.As(err, &retry):
		return classWait
	default:
		return classTransient
	}
}

// opError records which operation failed, for the Event reason and the metrics label.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return fmt.Sprintf("%s load balancer: %v", e.op, e.err) }
func (e *opError) Unwrap() error { return e.err }

// withOp wraps err (when not nil) with the operation it failed in.
func withOp(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}

// opOf returns the failed operation, opEnsure when unknown.
func opOf(err error) string {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.op
	}
	return opEnsure
}

// queue is the part of the rate-limiting work queue that requeue drives.
type queue interface {
	Forget(key string)
	AddAfter(key string, d time.Duration)
	AddRateLimited(key string)
}

// requeue translates the outcome of one sync into the queue action. It is the only place that
// does: a success or a user error forgets the key (a user error waits for the Service to
// change), a RetryError comes back after its fixed delay (never less than floor, so a provider
// returning 0 cannot spin a worker), anything else backs off exponentially per Service.
func requeue(logger klog.Logger, q queue, key string, err error, floor time.Duration) {
	switch classify(err) {
	case classNone:
		q.Forget(key)
	case classUser:
		logger.V(2).Info("Service needs a change by its author, not retrying", "service", key, "reason", err.Error())
		q.Forget(key)
	case classWait:
		var retry *cloudproviderapi.RetryError
		errors.As(err, &retry)
		delay := max(retry.RetryAfter(), floor)
		logger.V(2).Info("Load balancer not ready yet, polling again", "service", key, "after", delay, "reason", err.Error())
		// The wait is progress, not a failure: the next transient error starts from the base delay.
		q.Forget(key)
		q.AddAfter(key, delay)
	default:
		logger.Error(err, "Failed to sync Service, retrying with backoff", "service", key)
		q.AddRateLimited(key)
	}
}

// unwrapOp returns the error an opError wraps, or err itself.
func unwrapOp(err error) error {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.err
	}
	return err
}
