package servicecontroller

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	cloudproviderapi "k8s.io/cloud-provider/api"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// fakeQueue records the queue actions requeue takes.
type fakeQueue struct{ actions []string }

func (q *fakeQueue) Forget(key string) { q.actions = append(q.actions, "Forget "+key) }
func (q *fakeQueue) AddAfter(key string, d time.Duration) {
	q.actions = append(q.actions, fmt.Sprintf("AddAfter %s %s", key, d))
}
func (q *fakeQueue) AddRateLimited(key string) { q.actions = append(q.actions, "AddRateLimited "+key) }

func TestRequeueByErrorClass(t *testing.T) {
	t.Parallel()
	invalid := &annotations.InvalidError{Service: "default/a", Problems: annotations.Problems{{Severity: annotations.Error, Key: "k", Value: "v", Reason: "bad"}}}
	tests := []struct {
		name      string
		err       error
		wantClass errorClass
		want      []string
	}{
		{"success", nil, classNone, []string{"Forget k"}},
		{"invalid annotations", withOp(opEnsure, invalid), classUser, []string{"Forget k"}},
		{"provider user error, wrapped", fmt.Errorf("ensuring: %w", providers.NewUserError("default/a", "port 22 is reserved")), classUser, []string{"Forget k"}},
		{"retry error", cloudproviderapi.NewRetryError("provisioning", 30*time.Second), classWait, []string{"Forget k", "AddAfter k 30s"}},
		{"retry error, wrapped twice", withOp(opEnsure, fmt.Errorf("lb: %w", cloudproviderapi.NewRetryError("provisioning", time.Minute))), classWait, []string{"Forget k", "AddAfter k 1m0s"}},
		{"retry error without a delay gets the floor", cloudproviderapi.NewRetryError("soon", 0), classWait, []string{"Forget k", "AddAfter k 5s"}},
		{"transient", withOp(opEnsure, errors.New("connection reset")), classTransient, []string{"AddRateLimited k"}},
		{"transient update", withOp(opUpdate, errors.New("throttled")), classTransient, []string{"AddRateLimited k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := classify(tt.err); got != tt.wantClass {
				t.Errorf("classify = %q, want %q", got, tt.wantClass)
			}
			q := &fakeQueue{}
			requeue(klog.Background(), q, "k", tt.err, DefaultMinRetryDelay)
			if !slices.Equal(q.actions, tt.want) {
				t.Errorf("queue actions = %q, want %q", q.actions, tt.want)
			}
		})
	}
}

// The real queue backs off per Service from MinRetryDelay, doubling up to MaxRetryDelay. The
// delays are scaled down to milliseconds; only the lower bounds are exact (the queue cannot
// deliver early), the upper bound is a generous timeout.
func TestQueueBackoff(t *testing.T) {
	t.Parallel()
	opts, err := Options{MinRetryDelay: 20 * time.Millisecond, MaxRetryDelay: 60 * time.Millisecond}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	q := newQueue(opts, clock.RealClock{})
	defer q.ShutDown()
	transient := errors.New("boom")
	for i, delay := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond} {
		start := time.Now()
		requeue(klog.Background(), q, "default/a", transient, opts.MinRetryDelay)
		poll(t, fmt.Sprintf("failure %d requeued", i+1), func() bool { return q.Len() == 1 })
		if elapsed := time.Since(start); elapsed < delay {
			t.Errorf("failure %d: requeued after %s, want at least %s", i+1, elapsed, delay)
		}
		key, _ := q.Get()
		q.Done(key)
	}
	requeue(klog.Background(), q, "default/a", nil, opts.MinRetryDelay)
	if got := q.NumRequeues("default/a"); got != 0 {
		t.Errorf("NumRequeues after success = %d, want 0", got)
	}
}

func TestErrorClassEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want []string // events of two failing syncs, Ensuring/Ensured left out
	}{
		{
			name: "user error: one Warning",
			err:  providers.NewUserError("default/web", "unsupported protocol SCTP"),
			want: []string{warning + ReasonSyncLoadBalancerFailed},
		},
		{
			name: "wait: one Normal, no Warning",
			err:  cloudproviderapi.NewRetryError("load balancer is still provisioning", 10*time.Second),
			want: []string{normal + ReasonWaitingForLoadBalancer},
		},
		{
			name: "transient: a Warning per failure",
			err:  errors.New("500 internal error"),
			want: []string{warning + ReasonSyncLoadBalancerFailed, warning + ReasonSyncLoadBalancerFailed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			key := f.add(lbService("web"))
			f.cloud.fail(callEnsure, tt.err, tt.err)
			for range 2 {
				if err := f.sync(key); !errors.Is(err, tt.err) {
					t.Fatalf("sync error = %v, want it to wrap %v", err, tt.err)
				}
			}
			var got []string
			for _, r := range f.events.reasons() {
				if r != normal+ReasonEnsuringLoadBalancer {
					got = append(got, r)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDeleteFailureEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web", withFinalizer, deleting))
	f.cloud.fail(callDelete, errors.New("dependency violation"))
	if err := f.sync(key); opOf(err) != opDelete {
		t.Fatalf("want a delete error, got %v", err)
	}
	evs := f.events.list()
	last := evs[len(evs)-1]
	if last.eventtype != v1.EventTypeWarning || last.reason != ReasonDeleteLoadBalancerFailed || !containsAll(last.message, "dependency violation") {
		t.Errorf("want DeleteLoadBalancerFailed with the cause, got %s", last)
	}
}
