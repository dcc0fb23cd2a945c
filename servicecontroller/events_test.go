package servicecontroller

import (
	"errors"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

const (
	normal  = v1.EventTypeNormal + " "
	warning = v1.EventTypeWarning + " "
)

func TestEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// prepare runs before the recorded sync; the events it causes are discarded.
		prepare func(f *fixture, key string)
		svc     *v1.Service
		change  func(*v1.Service) // applied to the stored Service before the recorded sync
		want    []string
	}{
		{
			name: "new Service",
			svc:  lbService("web"),
			want: []string{normal + ReasonEnsuringLoadBalancer, normal + ReasonEnsuredLoadBalancer},
		},
		{
			name:    "resync of an unchanged Service (drift repair) is quiet",
			svc:     lbService("web"),
			prepare: func(f *fixture, key string) { f.mustSync(key) },
			want:    nil,
		},
		{
			name: "restart: a Service with the finalizer and the same ingress is quiet",
			svc:  lbService("web", withFinalizer, withIngress("203.0.113.10")),
			want: nil,
		},
		{
			name: "restart: the cloud reports another ingress",
			svc:  lbService("web", withFinalizer, withIngress("198.51.100.1")),
			want: []string{normal + ReasonEnsuredLoadBalancer},
		},
		{
			name:    "a real change after the first sync",
			svc:     lbService("web"),
			prepare: func(f *fixture, key string) { f.mustSync(key) },
			change:  func(s *v1.Service) { s.Spec.Ports[0].Port = 8080 },
			want:    []string{normal + ReasonEnsuringLoadBalancer, normal + ReasonEnsuredLoadBalancer},
		},
		{
			name:    "a label change is not a change",
			svc:     lbService("web"),
			prepare: func(f *fixture, key string) { f.mustSync(key) },
			change:  func(s *v1.Service) { s.Labels = map[string]string{"team": "a"} },
			want:    nil,
		},
		{
			name:    "no eligible node",
			svc:     lbService("web"),
			prepare: func(f *fixture, _ string) { f.setNodes() },
			want:    []string{normal + ReasonEnsuringLoadBalancer, warning + ReasonUnAvailableLoadBalancer, normal + ReasonEnsuredLoadBalancer},
		},
		{
			name: "no eligible node: a resync while it stays so is quiet",
			svc:  lbService("web"),
			prepare: func(f *fixture, key string) {
				f.setNodes()
				f.mustSync(key)
			},
			want: nil,
		},
		{
			name: "no eligible node: the retry of a failed ensure is quiet",
			svc:  lbService("web"),
			prepare: func(f *fixture, key string) {
				f.setNodes()
				f.cloud.fail(callEnsure, errors.New("throttled"))
				if err := f.sync(key); err == nil {
					f.t.Fatal("want the injected ensure error")
				}
			},
			want: []string{normal + ReasonEnsuringLoadBalancer, normal + ReasonEnsuredLoadBalancer},
		},
		{
			name: "no eligible node again after nodes came back",
			svc:  lbService("web"),
			prepare: func(f *fixture, key string) {
				f.setNodes()
				f.mustSync(key)
				f.setNodes(node("node-a"))
				f.mustSync(key)
				f.setNodes()
			},
			want: []string{warning + ReasonUnAvailableLoadBalancer},
		},
		{
			name: "deletion",
			svc:  lbService("web", withFinalizer, withIngress("203.0.113.10"), deleting),
			want: []string{normal + ReasonDeletingLoadBalancer, normal + ReasonDeletedLoadBalancer},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			key := f.add(tt.svc)
			if tt.prepare != nil {
				tt.prepare(f, key)
			}
			if tt.change != nil {
				svc := f.writer.get(key)
				tt.change(svc)
				f.add(svc)
			}
			f.events.reset()
			f.mustSync(key)
			if got := f.events.reasons(); !slices.Equal(got, tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnsuredMessageNamesAddress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.cloud.setIngress(v1.LoadBalancerIngress{Hostname: "web.lb.example"})
	f.mustSync(f.add(lbService("web")))
	evs := f.events.list()
	if last := evs[len(evs)-1]; last.reason != ReasonEnsuredLoadBalancer || !strings.Contains(last.message, "web.lb.example") {
		t.Errorf("want EnsuredLoadBalancer naming the hostname, got %s", last)
	}
}

func TestInvalidAnnotation(t *testing.T) {
	t.Parallel()
	const key = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval"
	f := newFixture(t, Options{})
	svcKey := f.add(lbService("web", withAnnotation(key, "3")))
	for range 3 { // the first sync, then retries or drift repairs of the unchanged Service
		if err := f.sync(svcKey); classify(err) != classUser {
			t.Fatalf("want a user error, got %v", err)
		}
	}
	evs := f.events.list()
	if len(evs) != 1 {
		t.Fatalf("want exactly one Event, got %v", evs)
	}
	if e := evs[0]; e.eventtype != v1.EventTypeWarning || e.reason != ReasonInvalidAnnotation ||
		!containsAll(e.message, key, `"3"`, "allowed:", "5", "300") {
		t.Errorf("want a Warning InvalidAnnotation naming key, value and allowed range, got %s", e)
	}
	if got := f.j.list(); len(got) != 0 {
		t.Errorf("want no cloud call and no API write (no finalizer), got %q", got)
	}

	// Fixing it clears the memory: the Service is ensured, and breaking it the same way again
	// is reported again.
	f.add(lbService("web", withAnnotation(key, "30")))
	f.mustSync(svcKey)
	f.add(lbService("web", withFinalizer, withAnnotation(key, "3")))
	_ = f.sync(svcKey)
	if got := f.events.reasons(); got[len(got)-1] != warning+ReasonInvalidAnnotation {
		t.Errorf("want InvalidAnnotation again after the Service changed, got %q", got)
	}
}

func TestInvalidAnnotationListsAllProblems(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web",
		withAnnotation("service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval", "3"),
		withAnnotation("service.beta.kubernetes.io/aws-load-balancer-healthcheck-timeout", "99")))
	_ = f.sync(key)
	evs := f.events.list()
	if len(evs) != 1 || !containsAll(evs[0].message, "healthcheck-interval", "healthcheck-timeout") {
		t.Errorf("want one Event naming both keys, got %v", evs)
	}
}

func TestAnnotationWarningOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web", withAnnotation("service.beta.kubernetes.io/aws-load-balancer-healthcheck-intervall", "10")))
	f.mustSync(key)
	f.mustSync(key)
	var warnings []recEvent
	for _, e := range f.events.list() {
		if e.reason == ReasonAnnotationWarning {
			warnings = append(warnings, e)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].message, "did you mean") {
		t.Errorf("want one AnnotationWarning with the suggestion, got %v", warnings)
	}
	if f.cloud.count(callEnsure) != 2 {
		t.Errorf("a warning must not block the load balancer: %d ensures", f.cloud.count(callEnsure))
	}
}

// After a restart or leader change the core has no memory; a Service the cloud already
// matches gets one EnsureLoadBalancer (the provider writes nothing when nothing differs) and no
// API write and no Event.
func TestRestartIsQuiet(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web"))
	f.mustSync(key)
	f.restart()
	f.j.reset()
	f.events.reset()
	f.mustSync(key)
	if got, want := f.j.list(), []string{callEnsure + " " + key}; !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
	if got := f.events.list(); len(got) != 0 {
		t.Errorf("events = %v, want none", got)
	}
}

// Without nodes the Warning comes once per process and Service while the set stays empty: a
// restart cannot know it was emitted before, so it emits it once more, and never per retry.
func TestNoNodesWarningOncePerProcess(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.setNodes()
	key := f.add(lbService("web"))
	f.mustSync(key)
	f.restart()
	f.events.reset()
	f.cloud.fail(callEnsure, errors.New("throttled"), errors.New("throttled"))
	for range 3 {
		_ = f.sync(key) // two failures, then a success
	}
	f.mustSync(key)
	var warnings int
	for _, e := range f.events.list() {
		if e.reason == ReasonUnAvailableLoadBalancer {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("%d UnAvailableLoadBalancer Warnings after a restart, two failed ensures and resyncs, want 1: %v", warnings, f.events.list())
	}
}
