package fakecore

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// The generic faults; each fake answers them with its cloud's own error.
var (
	// ErrThrottled is the cloud's throttling answer: EC2 RequestLimitExceeded (503), ELB,
	// ELBv2 and IAM Throttling (400), ACM ThrottlingException (400), ARM 429
	// SubscriptionRequestsThrottled with Retry-After, Compute 403 rateLimitExceeded.
	ErrThrottled = errors.New("throttled")
	// ErrServer is the cloud's retryable server error: EC2 InternalError (500), the other
	// AWS APIs ServiceUnavailable (503), ARM 500 InternalServerError, Compute 500
	// backendError; in an operation, ARM's async status Failed and Compute's INTERNAL_ERROR.
	ErrServer = errors.New("server error")
	// ErrLost, given to FailNext, runs the call and then answers ErrServer: a write that
	// reached the cloud but whose answer the client never saw.
	ErrLost = errors.New("response lost")
)

// APIError is an error answered in the cloud's envelope with the given status and code.
type APIError struct {
	// Status is the HTTP status; 0 means 400.
	Status int
	// Code is what clients match on: the AWS error code, the ARM error code, the Google
	// reason ("alreadyExists") or, with Async, the Compute operation error code.
	Code string
	// Message defaults to "injected by <fake>" (Config.Name).
	Message string
	// Async accepts the call and fails its long-running operation with the error instead
	// (ARM async status Failed, a DONE Compute operation with error); the write is neither
	// validated nor applied. A call without an operation (every AWS call, reads) gets the
	// error at once.
	Async bool
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.HTTPStatus(), e.Code, e.Message) }

// HTTPStatus is Status, 400 when unset.
func (e *APIError) HTTPStatus() int {
	if e.Status == 0 {
		return 400
	}
	return e.Status
}

// Translate is a fault in a cloud's terms: throttled for ErrThrottled, api of an *APIError,
// server for the rest.
func Translate[T any](err error, throttled, server T, api func(*APIError) T) T {
	var ae *APIError
	switch {
	case errors.Is(err, ErrThrottled):
		return throttled
	case errors.As(err, &ae):
		return api(ae)
	}
	return server
}

// Faults are injected at random before a call runs; a faulted call is counted and changes
// nothing, unless its answer is lost. Draws come from the seeded source in a fixed order
// (write rate, throttling, server errors, lost answers, failed operations) and a rate of 0
// draws nothing, so a seed replays the same faults.
type Faults struct {
	// ThrottleRate is the fraction of calls answered ErrThrottled.
	ThrottleRate float64
	// ServerErrorRate is the fraction of calls answered ErrServer.
	ServerErrorRate float64
	// LoseResponseRate is the fraction of writes that run and change state, after which the
	// client gets ErrServer.
	LoseResponseRate float64
	// OperationErrorRate is the fraction of writes accepted whose operation then fails
	// with ErrServer, without effect (a fake whose cloud has no operations answers ErrServer).
	OperationErrorRate float64
	// WriteRateLimit throttles writes above this many per second per bucket
	// (Config.Bucket), with a burst of WriteBurst (WriteRateLimit when 0), as AWS meters
	// mutating calls in request-rate buckets. Unlike ThrottleRate, a client that slows down
	// stops being throttled. 0: no limit.
	WriteRateLimit float64
	WriteBurst     int
	// RetryAfter is sent with throttling answers where the protocol has the header (ARM's
	// Retry-After and retry-after-ms).
	RetryAfter time.Duration
	// Latency is added to every call.
	Latency time.Duration
	// Operations limits the random faults (not Latency) to these operation keys; all
	// operations when empty.
	Operations []string
}

// SetFaults replaces the random faults; the zero Faults turns them off. One-shot faults
// (FailNext) stay.
func (e *Endpoint[K]) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
	e.buckets = map[string]*rate.Limiter{}
}

// FailNext makes the next n calls of op answer err (ErrThrottled, ErrServer, an *APIError)
// or, for ErrLost, run and lose their answer. Each is counted; one-shot faults come before
// the random ones, in the order given.
func (e *Endpoint[K]) FailNext(op K, n int, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ae, ok := err.(*APIError); ok && ae.Message == "" {
		c := *ae
		c.Message = "injected by " + e.cfg.Name
		err = &c
	}
	for range n {
		e.next[op] = append(e.next[op], err)
	}
}

// draw decides under e.mu whether the call fails before it runs, loses its answer, or is
// accepted and fails in its operation.
func (e *Endpoint[K]) draw(op K, kind Kind) Outcome {
	f := e.faults
	if q := e.next[op]; len(q) > 0 {
		e.next[op] = q[1:]
		return e.outcomeOf(q[0])
	}
	if len(f.Operations) > 0 && !slices.Contains(f.Operations, string(op)) {
		return Outcome{}
	}
	write := kind == Write
	if f.WriteRateLimit > 0 && write && !e.bucket(op).Allow() {
		bt := e.bucketWrites[e.bucketName(op)]
		bt.RateLimited++
		e.bucketWrites[e.bucketName(op)] = bt
		return e.outcomeOf(ErrThrottled)
	}
	if f.ThrottleRate > 0 && e.rng.Float64() < f.ThrottleRate {
		return e.outcomeOf(ErrThrottled)
	}
	if f.ServerErrorRate > 0 && e.rng.Float64() < f.ServerErrorRate {
		return e.outcomeOf(ErrServer)
	}
	// Reads are left alone: losing a read's answer is a plain server error.
	if f.LoseResponseRate > 0 && write && e.rng.Float64() < f.LoseResponseRate {
		return Outcome{Lose: true}
	}
	if f.OperationErrorRate > 0 && write && e.rng.Float64() < f.OperationErrorRate {
		return Outcome{Err: ErrServer, Async: true}
	}
	return Outcome{}
}

func (e *Endpoint[K]) outcomeOf(err error) Outcome {
	var ae *APIError
	switch {
	case err == ErrLost:
		return Outcome{Lose: true}
	case errors.As(err, &ae):
		return Outcome{Err: ae, Async: ae.Async, RetryAfter: e.faults.RetryAfter}
	}
	return Outcome{Err: err, RetryAfter: e.faults.RetryAfter}
}

// bucketName is the request-rate bucket op's writes are metered and counted in.
func (e *Endpoint[K]) bucketName(op K) string {
	if e.cfg.Bucket == nil {
		return ""
	}
	return e.cfg.Bucket(op)
}

// bucket is the request-rate bucket of op's writes, under e.mu.
func (e *Endpoint[K]) bucket(op K) *rate.Limiter {
	name := e.bucketName(op)
	b := e.buckets[name]
	if b == nil {
		burst := e.faults.WriteBurst
		if burst <= 0 {
			burst = max(1, int(e.faults.WriteRateLimit))
		}
		b = rate.NewLimiter(rate.Limit(e.faults.WriteRateLimit), burst)
		if e.buckets == nil {
			e.buckets = map[string]*rate.Limiter{}
		}
		e.buckets[name] = b
	}
	return b
}
