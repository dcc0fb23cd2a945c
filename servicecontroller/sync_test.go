package servicecontroller

import (
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/providers"
)

func TestFinalizerOrder(t *testing.T) {
	t.Parallel()
	errCloud := errors.New("cloud is down")
	tests := []struct {
		name        string
		svc         *v1.Service
		cloudErrs   map[string]error
		writerErrs  map[string]error
		wantJournal []string
		wantErr     bool
		wantStored  bool // the Service still exists afterwards
		wantFinal   bool // ... and carries the finalizer
	}{
		{
			name:        "new Service: finalizer added before the first cloud call",
			svc:         lbService("web"),
			wantJournal: []string{writeAddFinalizer, callEnsure, writePatchStatus},
			wantStored:  true, wantFinal: true,
		},
		{
			name:        "finalizer present: not added again",
			svc:         lbService("web", withFinalizer),
			wantJournal: []string{callEnsure, writePatchStatus},
			wantStored:  true, wantFinal: true,
		},
		{
			name:        "adding the finalizer fails: no cloud call at all",
			svc:         lbService("web"),
			writerErrs:  map[string]error{writeAddFinalizer: errors.New("apiserver unavailable")},
			wantJournal: []string{writeAddFinalizer},
			wantErr:     true, wantStored: true,
		},
		{
			name:        "deletion: finalizer removed only after EnsureLoadBalancerDeleted succeeded",
			svc:         lbService("web", withFinalizer, withIngress("203.0.113.10"), deleting),
			wantJournal: []string{callDelete, writeRemoveFinalizer, writePatchStatus},
		},
		{
			name:        "deletion fails: finalizer kept",
			svc:         lbService("web", withFinalizer, withIngress("203.0.113.10"), deleting),
			cloudErrs:   map[string]error{callDelete: errCloud},
			wantJournal: []string{callDelete},
			wantErr:     true, wantStored: true, wantFinal: true,
		},
		{
			name:        "type changed away from LoadBalancer: deleted, finalizer removed, status cleared",
			svc:         lbService("web", withFinalizer, withIngress("203.0.113.10"), withType(v1.ServiceTypeClusterIP)),
			wantJournal: []string{callDelete, writeRemoveFinalizer, writePatchStatus},
			wantStored:  true,
		},
		{
			name:        "being deleted without our finalizer and never ensured: nothing to do",
			svc:         lbService("web", deleting),
			wantJournal: nil,
			wantStored:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			key := f.add(tt.svc)
			for op, err := range tt.cloudErrs {
				f.cloud.fail(op, err)
			}
			for op, err := range tt.writerErrs {
				f.writer.fail(op, err)
			}
			err := f.sync(key)
			if (err != nil) != tt.wantErr {
				t.Fatalf("sync error = %v, want error: %v", err, tt.wantErr)
			}
			var want []string
			for _, op := range tt.wantJournal {
				want = append(want, op+" "+key)
			}
			if got := f.j.list(); !slices.Equal(got, want) {
				t.Errorf("calls = %q, want %q", got, want)
			}
			stored := f.writer.get(key)
			if (stored != nil) != tt.wantStored {
				t.Fatalf("Service stored = %v, want %v", stored != nil, tt.wantStored)
			}
			if stored != nil && hasFinalizer(stored) != tt.wantFinal {
				t.Errorf("finalizer present = %v, want %v", hasFinalizer(stored), tt.wantFinal)
			}
			if stored != nil && !tt.wantFinal && len(stored.Status.LoadBalancer.Ingress) > 0 {
				t.Errorf("status not cleared: %v", stored.Status.LoadBalancer.Ingress)
			}
		})
	}
}

func TestClassFiltering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ourClass   string
		svc        *v1.Service
		wantEnsure bool
		wantDelete bool
	}{
		{name: "default controller, no class", svc: lbService("a"), wantEnsure: true},
		{name: "default controller, a class", svc: lbService("a", withClass("example.com/lb")), wantEnsure: false},
		{name: "class controller, no class", ourClass: "cloudlb.io/lb", svc: lbService("a"), wantEnsure: false},
		{name: "class controller, our class", ourClass: "cloudlb.io/lb", svc: lbService("a", withClass("cloudlb.io/lb")), wantEnsure: true},
		{name: "class controller, other class", ourClass: "cloudlb.io/lb", svc: lbService("a", withClass("example.com/lb")), wantEnsure: false},
		{
			name:     "default controller, other class being deleted with the shared finalizer: not ours",
			svc:      lbService("a", withClass("example.com/lb"), withFinalizer, deleting),
			ourClass: "",
		},
		{
			name:     "class controller, class-less Service being deleted with the finalizer: the default controller's",
			ourClass: "cloudlb.io/lb",
			svc:      lbService("a", withFinalizer, deleting),
		},
		{
			name:       "class controller, our class being deleted",
			ourClass:   "cloudlb.io/lb",
			svc:        lbService("a", withClass("cloudlb.io/lb"), withFinalizer, deleting),
			wantDelete: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{LoadBalancerClass: tt.ourClass})
			key := f.add(tt.svc)
			if err := f.sync(key); err != nil {
				t.Fatal(err)
			}
			if got := f.cloud.count(callEnsure) > 0; got != tt.wantEnsure {
				t.Errorf("EnsureLoadBalancer called = %v, want %v", got, tt.wantEnsure)
			}
			if got := f.cloud.count(callDelete) > 0; got != tt.wantDelete {
				t.Errorf("EnsureLoadBalancerDeleted called = %v, want %v", got, tt.wantDelete)
			}
			if !tt.wantEnsure && !tt.wantDelete && len(f.j.list()) != 0 {
				t.Errorf("a Service that is not ours was touched: %q", f.j.list())
			}
		})
	}
}

// The API server wipes spec.loadBalancerClass when the type changes away from LoadBalancer,
// so a class controller must recognise its own class-less leftovers.
func TestWipedClassCleanup(t *testing.T) {
	t.Parallel()
	const class = "cloudlb.io/lb"
	tests := []struct {
		name        string
		ensureFirst bool // the controller ensured it while it had the class
		cloudExists bool // GetLoadBalancer reports it as ours
		wantDelete  bool
	}{
		{name: "remembered from this process", ensureFirst: true, wantDelete: true},
		{name: "after a restart, the provider owns it", cloudExists: true, wantDelete: true},
		{name: "after a restart, not the provider's: left to its owner", cloudExists: false, wantDelete: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{LoadBalancerClass: class})
			key := f.add(lbService("a", withClass(class)))
			if tt.ensureFirst {
				f.mustSync(key)
			} else {
				f.add(lbService("a", withClass(class), withFinalizer))
			}
			f.cloud.exists = tt.cloudExists
			wiped := f.writer.get(key)
			wiped.Spec.Type, wiped.Spec.LoadBalancerClass = v1.ServiceTypeClusterIP, nil
			f.add(wiped)
			f.mustSync(key)
			if got := f.cloud.count(callDelete) > 0; got != tt.wantDelete {
				t.Errorf("EnsureLoadBalancerDeleted called = %v, want %v", got, tt.wantDelete)
			}
			if got := hasFinalizer(f.writer.get(key)); got == tt.wantDelete {
				t.Errorf("finalizer present = %v, want %v", got, !tt.wantDelete)
			}
		})
	}
}

func TestStatusOnlyOnChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web"))
	steps := []struct {
		name        string
		ingress     []v1.LoadBalancerIngress
		wantPatches int
	}{
		{"first sync writes the ingress", []v1.LoadBalancerIngress{{IP: "203.0.113.10"}}, 1},
		{"second sync with the same ingress writes nothing", []v1.LoadBalancerIngress{{IP: "203.0.113.10"}}, 1},
		{"a new address is written", []v1.LoadBalancerIngress{{IP: "203.0.113.10"}, {IP: "203.0.113.11"}}, 2},
		{"the same addresses in another order are not a change", []v1.LoadBalancerIngress{{IP: "203.0.113.11"}, {IP: "203.0.113.10"}}, 2},
		{"ipMode set is a change", []v1.LoadBalancerIngress{{IP: "203.0.113.11", IPMode: ptr(v1.LoadBalancerIPModeProxy)}, {IP: "203.0.113.10"}}, 3},
		{"a hostname instead of an IP is a change", []v1.LoadBalancerIngress{{Hostname: "web.lb.example"}}, 4},
	}
	for _, s := range steps {
		f.cloud.setIngress(s.ingress...)
		f.mustSync(key)
		if got := len(f.writer.patchedStatuses()); got != s.wantPatches {
			t.Fatalf("%s: %d status patches, want %d", s.name, got, s.wantPatches)
		}
		if got := f.writer.get(key).Status.LoadBalancer.Ingress; !ingressEqual(got, s.ingress) {
			t.Fatalf("%s: stored ingress %v, want %v", s.name, got, s.ingress)
		}
	}
	if got := f.cloud.count(callEnsure); got != len(steps) {
		t.Errorf("EnsureLoadBalancer called %d times, want %d (every sync asks the cloud)", got, len(steps))
	}
}

func TestImplementedElsewhere(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web"))
	f.cloud.fail(callEnsure, cloudprovider.ImplementedElsewhere)
	if err := f.sync(key); err != nil {
		t.Fatalf("ImplementedElsewhere must not be an error, got %v", err)
	}
	if got := f.writer.get(key); !hasFinalizer(got) || len(got.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("want the finalizer and no status, got finalizers %v, ingress %v", got.Finalizers, got.Status.LoadBalancer.Ingress)
	}
	if got := len(f.writer.patchedStatuses()); got != 0 {
		t.Errorf("%d status patches, want none", got)
	}

	// A node pass treats it as success too.
	f.cloud.fail(callUpdate, cloudprovider.ImplementedElsewhere)
	f.setNodes(node("node-a"), node("node-b"), node("node-c"))
	failed, err := f.core.syncNodes(t.Context(), []*v1.Service{f.writer.get(key)})
	if err != nil || len(failed) != 0 {
		t.Fatalf("node pass: failed %v, err %v", failed, err)
	}
	for _, e := range f.events.list() {
		if e.eventtype == v1.EventTypeWarning {
			t.Errorf("unexpected Warning Event %s", e)
		}
	}

	// Deletion still removes the finalizer when the provider says ImplementedElsewhere.
	gone := f.writer.get(key)
	deleting(gone)
	f.add(gone)
	f.cloud.fail(callDelete, cloudprovider.ImplementedElsewhere)
	f.mustSync(key)
	if f.writer.get(key) != nil {
		t.Error("Service still exists: finalizer not removed")
	}
}

// A Service whose finalizer someone removed by hand vanishes without our cleanup; the load
// balancer we remember ensuring is deleted anyway.
func TestServiceGoneWithoutCleanup(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web"))
	f.mustSync(key)
	f.writer.mu.Lock()
	delete(f.writer.store, key)
	f.writer.mu.Unlock()
	f.cloud.fail(callDelete, errors.New("timeout"))
	if err := f.sync(key); err == nil {
		t.Fatal("want the delete error to be returned for a retry")
	}
	f.mustSync(key)
	if got := f.cloud.count(callDelete); got != 2 {
		t.Errorf("EnsureLoadBalancerDeleted called %d times, want 2", got)
	}
	if f.core.peekState(key) != nil {
		t.Error("state not forgotten after cleanup")
	}
	f.mustSync(key) // nothing remembered: nothing to do
	if got := f.cloud.count(callDelete); got != 2 {
		t.Errorf("EnsureLoadBalancerDeleted called %d times after forgetting, want 2", got)
	}
}

// A Service deleted and re-created under the same name (our finalizer removed by hand) gets
// the previous load balancer deleted before the new one is ensured.
func TestRecreatedService(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web"))
	f.mustSync(key)
	f.j.reset()
	f.add(lbService("web", func(s *v1.Service) { s.UID = "uid-web-2" }))
	f.mustSync(key)
	want := []string{callDelete + " " + key, writeAddFinalizer + " " + key, callEnsure + " " + key, writePatchStatus + " " + key}
	if got := f.j.list(); !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

func TestUserErrorFromProvider(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web"))
	userErr := providers.NewUserError(key, "load balancer name taken by an object not owned by this cluster; rename the Service")
	f.cloud.fail(callEnsure, userErr, userErr)
	for range 2 {
		if err := f.sync(key); classify(err) != classUser {
			t.Fatalf("want a user error, got %v", err)
		}
	}
	var warnings []recEvent
	for _, e := range f.events.list() {
		if e.eventtype == v1.EventTypeWarning {
			warnings = append(warnings, e)
		}
	}
	if len(warnings) != 1 || warnings[0].reason != ReasonSyncLoadBalancerFailed || !containsAll(warnings[0].message, "rename the Service") {
		t.Errorf("want one SyncLoadBalancerFailed Warning naming the fix, got %v", warnings)
	}
}

func ptr[T any](v T) *T { return &v }

// A refused replacement is a success with the load balancer's status, one ReplacementRefused
// Warning per distinct message, and no error for a node pass.
func TestReplacementRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	key := f.add(lbService("web"))
	kept := &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: "203.0.113.7"}}}
	refused := &providers.ReplacementRefused{Service: key, LoadBalancer: "a1b2", Status: kept,
		Changes: []providers.FieldChange{{Field: "service.beta.kubernetes.io/aws-load-balancer-scheme", Have: "internet-facing", Want: "internal"}}}
	f.cloud.fail(callEnsure, refused, refused)
	for range 2 {
		if err := f.sync(key); err != nil {
			t.Fatalf("a refused replacement must not be an error, got %v", err)
		}
	}
	if got := f.writer.get(key).Status.LoadBalancer.Ingress; !ingressEqual(got, kept.Ingress) {
		t.Errorf("ingress %v, want the kept load balancer's %v", got, kept.Ingress)
	}
	var warnings []recEvent
	for _, e := range f.events.list() {
		if e.eventtype == v1.EventTypeWarning {
			warnings = append(warnings, e)
		}
	}
	if len(warnings) != 1 || warnings[0].reason != ReasonReplacementRefused || !containsAll(warnings[0].message, "aws-load-balancer-scheme", "cloudlb.io/replace-load-balancer") {
		t.Errorf("want one ReplacementRefused Warning naming the field and how to ask, got %v", warnings)
	}
	f.cloud.fail(callUpdate, refused)
	f.setNodes(node("node-a"), node("node-b"))
	if failed, err := f.core.syncNodes(t.Context(), []*v1.Service{f.writer.get(key)}); err != nil || len(failed) != 0 {
		t.Fatalf("node pass: failed %v, err %v", failed, err)
	}
}
