package gce

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/googleapi"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	rate := &googleapi.Error{Code: 403, Message: "Rate Limit Exceeded", Errors: []googleapi.ErrorItem{{Reason: "rateLimitExceeded"}}}
	forbidden := &googleapi.Error{Code: 403, Message: "Required 'compute.firewalls.create' permission", Errors: []googleapi.ErrorItem{{Reason: "forbidden"}}}
	inUse := &googleapi.Error{Code: 400, Message: "The health check resource 'x' is already being used by 'y'"}
	tests := []struct {
		name                                      string
		err                                       error
		throttle, server, notFound, conflict, use bool
	}{
		{"rate limit 403", fmt.Errorf("wrapped: %w", rate), true, false, false, false, false},
		{"429", &googleapi.Error{Code: http.StatusTooManyRequests}, true, false, false, false, false},
		{"permission 403", forbidden, false, false, false, false, false},
		{"500", &googleapi.Error{Code: 500}, false, true, false, false, false},
		{"404", &googleapi.Error{Code: 404}, false, false, true, false, false},
		{"409", &googleapi.Error{Code: 409}, false, false, false, true, false},
		{"in use", inUse, false, false, false, false, true},
		{"plain", errors.New("boom"), false, false, false, false, false},
	}
	for _, tt := range tests {
		if isThrottle(tt.err) != tt.throttle || isServerError(tt.err) != tt.server || isNotFound(tt.err) != tt.notFound ||
			isConflict(tt.err) != tt.conflict || isInUse(tt.err) != tt.use {
			t.Errorf("%s: throttle %v server %v notFound %v conflict %v inUse %v", tt.name,
				isThrottle(tt.err), isServerError(tt.err), isNotFound(tt.err), isConflict(tt.err), isInUse(tt.err))
		}
	}
}

func TestOpError(t *testing.T) {
	t.Parallel()
	if err := opError(&computepb.Operation{Status: computepb.Operation_DONE.Enum()}); err != nil {
		t.Errorf("clean operation: %v", err)
	}
	op := &computepb.Operation{Error: &computepb.Error{Errors: []*computepb.Errors{{Code: ptr("INTERNAL_ERROR"), Message: ptr("boom")}}}}
	if err := opError(op); !isServerError(err) {
		t.Errorf("operation error without a status = %v, want a server error (retried)", err)
	}
	op.HttpErrorStatusCode = ptr(int32(409))
	if err := opError(op); !isConflict(err) {
		t.Errorf("operation error 409 = %v", err)
	}
}

func TestLimiterRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failures int
		err      error
		wantErr  bool
		attempts int
	}{
		{"succeeds after throttling", 3, &googleapi.Error{Code: 429}, false, 4},
		{"gives up", 100, &googleapi.Error{Code: 503}, true, 4},
		{"client errors are not retried", 100, &googleapi.Error{Code: 400}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lm := newLimiter(Limits{QPS: 1e6, Burst: 100, MaxAttempts: 4, BaseBackoff: time.Microsecond, MaxBackoff: time.Millisecond})
			calls := 0
			err := lm.read(context.Background(), "X.Get", func(context.Context) error {
				calls++
				if calls <= tt.failures {
					return tt.err
				}
				return nil
			})
			if (err != nil) != tt.wantErr || calls != tt.attempts {
				t.Errorf("err %v after %d calls; want error %v after %d", err, calls, tt.wantErr, tt.attempts)
			}
		})
	}
}

// TestThrottledPollsDoNotRepeatWrites: polls of the operations answered with throttling are
// retried as polls: the Ensure succeeds at its first try with the writes of an Ensure without
// faults, none sent twice.
func TestThrottledPollsDoNotRepeatWrites(t *testing.T) {
	t.Parallel()
	writes := func(tally fakecore.Tally) map[string]int {
		out := map[string]int{}
		for op, n := range tally.Calls {
			if !strings.Contains(op, "Operations.") && !strings.HasSuffix(op, ".Get") && !strings.HasSuffix(op, "List") {
				out[op] = n
			}
		}
		return out
	}
	clean := newEnv(t)
	clean.fake.ResetCalls()
	clean.ensure(svc("web", nil))
	want := writes(clean.fake.Tally())

	e := newEnv(t)
	e.fake.ResetCalls()
	for _, scope := range []string{"Region", "Global"} {
		e.fake.FailNext(scope+"Operations.Get", 2, fakecore.ErrThrottled)
	}
	e.ensure(svc("web", nil))
	tally := e.fake.Tally()
	if tally.Throttled != 4 {
		t.Fatalf("the fake throttled %d polls, want 4\n%s", tally.Throttled, tally)
	}
	if got := writes(tally); !maps.Equal(got, want) {
		t.Errorf("writes under throttled polls %v, want those without faults %v", got, want)
	}
}
