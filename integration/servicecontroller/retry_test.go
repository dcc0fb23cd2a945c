package servicecontroller_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// TestTransientErrorsBackOff checks that failed creates are retried with growing delays until
// the cloud accepts one.
func TestTransientErrorsBackOff(t *testing.T) {
	t.Parallel()
	cs := newClient(t)
	ns := newNamespace(t, cs)
	class := classFor(t, ns)
	cloud := newRecordingCloud(newFakeCloud(t, fake.Config{}))
	startController(t, testLogger(t), testOptions(class), cloud)

	const failures = 3
	cloud.InjectError(fake.OpCreate, errors.New("cloud is busy"), failures)
	createService(t, cs, newService(ns, "web", class))
	svc := waitForIngress(t, cs, ns, "web")

	if n := cloud.Calls().ByOp[fake.OpCreate]; n != failures+1 {
		t.Errorf("%d create calls, want %d (%d failures and a success)", n, failures+1, failures)
	}
	ensures := cloud.callsFor(ns+"/web", methodEnsure)
	if len(ensures) != failures+1 {
		t.Fatalf("%d EnsureLoadBalancer calls, want %d", len(ensures), failures+1)
	}
	// The per-Service backoff doubles from MinRetryDelay: 100ms, 200ms, 400ms. Timers never
	// fire early, so each gap is at least its step, and the steps grow.
	var gaps []time.Duration
	for i := 1; i < len(ensures); i++ {
		gaps = append(gaps, ensures[i].at.Sub(ensures[i-1].at))
	}
	t.Logf("gaps between attempts: %v", gaps)
	for i, gap := range gaps {
		if step := testMinRetry << i; gap < step {
			t.Errorf("retry %d came %s after the previous attempt, want at least %s", i+1, gap, step)
		}
		if i > 0 && gap <= gaps[i-1] {
			t.Errorf("retry %d came %s after the previous attempt, not later than the retry before (%s): no backoff", i+1, gap, gaps[i-1])
		}
	}

	events := waitForEvents(t, cs, svc, v1.EventTypeNormal, servicecontroller.ReasonEnsuredLoadBalancer, 1)
	if n := eventCount(events, v1.EventTypeWarning, servicecontroller.ReasonSyncLoadBalancerFailed); n != failures {
		t.Errorf("%d SyncLoadBalancerFailed Events, want one per failure (%d):%s", n, failures, describeEvents(events))
	}
}

// TestInvalidAnnotation checks that a Service with an invalid annotation gets one Warning and
// nothing else until it is fixed.
func TestInvalidAnnotation(t *testing.T) {
	t.Parallel()
	const prefix = "service.beta.kubernetes.io/"
	for _, tc := range []struct {
		name, key, bad, fixed string
		// wantInMessage are fragments the Event must carry besides the key and the value.
		wantInMessage []string
	}{
		{
			name: "enum", key: prefix + "aws-load-balancer-backend-protocol", bad: "udp", fixed: "tcp",
			wantInMessage: []string{"http, https, ssl, tcp"},
		},
		{
			name: "range", key: prefix + "aws-load-balancer-healthcheck-interval", bad: "3", fixed: "30",
			wantInMessage: []string{"5-300", "must be between 5 and 300"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cs := newClient(t)
			ns := newNamespace(t, cs)
			class := classFor(t, ns)
			cloud := newRecordingCloud(newFakeCloud(t, fake.Config{}))
			startController(t, testLogger(t), testOptions(class), cloud)
			key := ns + "/web"

			svc := createService(t, cs, newService(ns, "web", class, withAnnotation(tc.key, tc.bad)))
			events := waitForEvents(t, cs, svc, v1.EventTypeWarning, servicecontroller.ReasonInvalidAnnotation, 1)
			msgs := eventMessages(events, v1.EventTypeWarning, servicecontroller.ReasonInvalidAnnotation)
			for _, want := range append([]string{tc.key, `"` + tc.bad + `"`}, tc.wantInMessage...) {
				if !strings.Contains(msgs[0], want) {
					t.Errorf("InvalidAnnotation message %q does not contain %q", msgs[0], want)
				}
			}
			// Other tests' controllers see this Service too, so cloud calls are counted per
			// Service, not for the whole fake.
			if calls := cloud.callsFor(key); len(calls) > 0 {
				t.Errorf("cloud calls for an invalid Service: %+v", calls)
			}
			if lbs, _ := cloud.LoadBalancers(); len(lbs) > 0 {
				t.Errorf("load balancers for an invalid Service: %+v", lbs)
			}
			cur := getService(t, cs, ns, "web")
			if len(cur.Finalizers) > 0 || len(cur.Status.LoadBalancer.Ingress) > 0 {
				t.Errorf("invalid Service was written: finalizers %v, status %+v", cur.Finalizers, cur.Status.LoadBalancer)
			}

			updateService(t, cs, ns, "web", func(s *v1.Service) { s.Annotations[tc.key] = tc.fixed })
			waitForIngress(t, cs, ns, "web")
			events = waitForEvents(t, cs, svc, v1.EventTypeNormal, servicecontroller.ReasonEnsuredLoadBalancer, 1)
			if n := eventCount(events, v1.EventTypeWarning, servicecontroller.ReasonInvalidAnnotation); n != 1 {
				t.Errorf("%d InvalidAnnotation Events, want exactly 1:%s", n, describeEvents(events))
			}
		})
	}
}
