package servicecontroller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// ensureAll syncs every Service once so the core knows the node set the cloud accepted.
func ensureAll(t *testing.T, f *fixture, svcs ...*v1.Service) []*v1.Service {
	t.Helper()
	var out []*v1.Service
	for _, s := range svcs {
		key := f.add(s)
		f.mustSync(key)
		out = append(out, f.writer.get(key))
	}
	return out
}

func TestNodeLabelReevaluation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	svcs := ensureAll(t, f,
		lbService("selective", withAnnotation(awsTargetNodeLabels, "role=lb")),
		lbService("all"))
	if got := f.cloud.nodesOf("default/selective"); len(got) != 0 {
		t.Fatalf("selective Service got nodes %v before any node has the label", got)
	}
	f.events.reset()

	f.setNodes(node("node-a"), node("node-b", withLabel("role", "lb")))
	failed, err := f.core.syncNodes(t.Context(), svcs)
	if err != nil || len(failed) != 0 {
		t.Fatalf("node pass: failed %v, err %v", failed, err)
	}
	if got := f.cloud.updatesOf("default/selective"); got != 1 {
		t.Errorf("selective Service: %d UpdateLoadBalancer calls, want 1", got)
	}
	if got := f.cloud.nodesOf("default/selective"); !slices.Equal(got, []string{"node-b"}) {
		t.Errorf("selective Service nodes = %v, want [node-b]", got)
	}
	if got := f.cloud.updatesOf("default/all"); got != 0 {
		t.Errorf("Service without a selector: %d UpdateLoadBalancer calls, want 0 (its node set did not change)", got)
	}
	if got := f.events.reasons(); !slices.Equal(got, []string{normal + ReasonUpdatedLoadBalancer}) {
		t.Errorf("events = %q, want one UpdatedLoadBalancer", got)
	}
}

func TestNodePassOneUpdatePerAffectedService(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Workers: 4})
	f.setNodes(node("n1"), node("n2"), node("n3", withLabel("zone", "b")))
	svcs := ensureAll(t, f,
		lbService("all"),
		lbService("zone-b", withAnnotation(awsTargetNodeLabels, "zone=b")),
		lbService("gpu", withAnnotation(awsTargetNodeLabels, "gpu")))

	// Ten node events: four added, two removed, one relabelled, one providerID change, one
	// excluded, one tainted by the autoscaler. Only "all" and "zone-b" are affected: no node
	// ever carries "gpu".
	f.setNodes(
		node("n1", withLabel(v1.LabelNodeExcludeBalancers, "true")),
		node("n3", withLabel("zone", "b"), func(n *v1.Node) { n.Spec.ProviderID = "fake://n3-replaced" }),
		node("n4", withLabel("zone", "b")), node("n5"), node("n6"), node("n7", taint(toBeDeletedTaint)),
		node("n8", withLabel("zone", "a")),
	)
	failed, err := f.core.syncNodes(t.Context(), svcs)
	if err != nil || len(failed) != 0 {
		t.Fatalf("node pass: failed %v, err %v", failed, err)
	}
	want := map[string]struct {
		updates int
		nodes   []string
	}{
		"default/all":    {1, []string{"n3", "n4", "n5", "n6", "n8"}},
		"default/zone-b": {1, []string{"n3", "n4"}},
		"default/gpu":    {0, []string{}},
	}
	for key, w := range want {
		if got := f.cloud.updatesOf(key); got != w.updates {
			t.Errorf("%s: %d UpdateLoadBalancer calls, want %d", key, got, w.updates)
		}
		if got := f.cloud.nodesOf(key); !slices.Equal(got, w.nodes) {
			t.Errorf("%s: nodes %v, want %v", key, got, w.nodes)
		}
	}

	// A second pass with no node change makes no call.
	if _, err := f.core.syncNodes(t.Context(), svcs); err != nil {
		t.Fatal(err)
	}
	if got := f.cloud.count(callUpdate); got != 2 {
		t.Errorf("%d UpdateLoadBalancer calls after an idle pass, want 2", got)
	}
}

func TestNodePassSkipsUnknownAndOtherClass(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	never := lbService("never-synced")
	other := lbService("other-class", withClass("example.com/lb"))
	f.setNodes(node("node-a"), node("node-b"), node("node-c"))
	if _, err := f.core.syncNodes(t.Context(), []*v1.Service{never, other}); err != nil {
		t.Fatal(err)
	}
	if got := f.cloud.count(callUpdate); got != 0 {
		t.Errorf("%d UpdateLoadBalancer calls, want 0", got)
	}
}

// TestNodePassKeepsInvalidServiceCurrent: a provisioned Service whose annotations an edit made
// invalid keeps getting node updates, with the Service as last applied, while the queue's sync
// reports the problem; nothing of the invalid edit reaches the cloud.
func TestNodePassKeepsInvalidServiceCurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	const interval = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval"
	svc := ensureAll(t, f, lbService("later-invalid", withAnnotation(interval, "10")))[0]
	edited := svc.DeepCopy()
	edited.Annotations[interval] = "3" // below AWS's minimum of 5
	f.writer.put(edited)
	if err := f.sync(svcKey(edited)); err == nil {
		t.Fatal("sync of the invalid Service: no error")
	}
	f.events.reset()
	f.setNodes(node("node-a"), node("node-b"), node("node-c"))
	if _, err := f.core.syncNodes(t.Context(), []*v1.Service{edited}); err != nil {
		t.Fatal(err)
	}
	if got := f.cloud.nodesOf(svcKey(edited)); !slices.Equal(got, []string{"node-a", "node-b", "node-c"}) {
		t.Errorf("nodes sent = %v, want the three current nodes", got)
	}
	if got := f.cloud.lastService(svcKey(edited)).Annotations[interval]; got != "10" {
		t.Errorf("the cloud got %s=%q, want the last applied %q", interval, got, "10")
	}
	events := f.events.list()
	if len(events) != 1 || !strings.Contains(events[0].message, "settings last applied") {
		t.Errorf("events = %v, want one UpdatedLoadBalancer saying the settings last applied were used", events)
	}
}

func TestNodePassFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	svcs := ensureAll(t, f, lbService("web"))
	f.events.reset()
	f.setNodes(node("node-a"))
	f.cloud.fail(callUpdate, errors.New("throttled"))
	failed, err := f.core.syncNodes(t.Context(), svcs)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].key != "default/web" || classify(failed[0].err) != classTransient {
		t.Fatalf("failed = %v, want default/web with a transient error", failed)
	}
	evs := f.events.list()
	if len(evs) != 1 || evs[0].reason != ReasonUpdateLoadBalancerFailed || !containsAll(evs[0].message, "[node-a]", "throttled") {
		t.Errorf("want one UpdateLoadBalancerFailed naming the nodes and the error, got %v", evs)
	}
	// The node set is unknown now: the queue's full ensure repairs it, node passes leave it.
	if _, err := f.core.syncNodes(t.Context(), svcs); err != nil {
		t.Fatal(err)
	}
	if got := f.cloud.count(callUpdate); got != 1 {
		t.Errorf("%d UpdateLoadBalancer calls, want 1", got)
	}
}

func TestNodeBatcherCoalesces(t *testing.T) {
	t.Parallel()
	start := time.Unix(1700000000, 0)
	clk := clocktesting.NewFakeClock(start)
	const window = time.Second
	b := newNodeBatcher(window, DefaultNodeBatchMaxWait, clk)
	var mu sync.Mutex
	var passes []time.Time // the clock at each pass
	passDone := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.run(ctx, func(context.Context) {
			mu.Lock()
			passes = append(passes, clk.Now())
			mu.Unlock()
			passDone <- struct{}{}
		})
	}()
	defer func() { cancel(); <-done }()

	for range 10 {
		b.markDirty() // never blocks, however many events arrive
	}
	poll(t, "the batch to open", clk.HasWaiters)
	clk.Step(window / 2)
	b.markDirty() // inside the quiet period: joins the batch and starts it again
	clk.Step(window / 2)
	clk.Step(window / 2)
	<-passDone
	mu.Lock()
	if len(passes) != 1 || passes[0].Before(start.Add(window/2+window)) {
		t.Fatalf("passes at %v, want one, a window after the last event (%v)", passes, start.Add(window/2+window))
	}
	mu.Unlock()

	// The next event opens a new batch.
	b.markDirty()
	poll(t, "the second batch to open", clk.HasWaiters)
	clk.Step(window)
	<-passDone
	mu.Lock()
	defer mu.Unlock()
	if len(passes) != 2 {
		t.Fatalf("passes = %v, want 2", passes)
	}
}

// TestNodeBatcherPolicy replays event schedules through the batching policy (untilDue, in
// steps of 10 ms) and counts the passes: a scale-up of 100 nodes over 10 s is one pass, a
// batch never waits more than maxWait, and a max wait below the window is a fixed window.
func TestNodeBatcherPolicy(t *testing.T) {
	t.Parallel()
	every := func(gap, span time.Duration) []time.Duration {
		var out []time.Duration
		for at := time.Duration(0); at < span; at += gap {
			out = append(out, at)
		}
		return out
	}
	tests := []struct {
		name            string
		window, maxWait time.Duration
		events          []time.Duration
		want            []time.Duration // when each pass runs
	}{
		{"one node", time.Second, 15 * time.Second, []time.Duration{0}, []time.Duration{time.Second}},
		{"100 nodes over 10 s", time.Second, 15 * time.Second, every(100*time.Millisecond, 10*time.Second), []time.Duration{10*time.Second + 900*time.Millisecond}},
		{"two bursts apart", time.Second, 15 * time.Second, []time.Duration{0, 500 * time.Millisecond, 5 * time.Second}, []time.Duration{1500 * time.Millisecond, 6 * time.Second}},
		{"endless churn: every max wait", time.Second, 15 * time.Second, every(500*time.Millisecond, 40*time.Second), []time.Duration{15 * time.Second, 30500 * time.Millisecond, 40500 * time.Millisecond}},
		{"max wait below the window: a fixed window", 5 * time.Second, time.Second, every(time.Second, 12*time.Second), []time.Duration{5 * time.Second, 11 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newNodeBatcher(tt.window, tt.maxWait, clocktesting.NewFakeClock(time.Time{}))
			var passes []time.Duration
			var opened, last time.Duration
			open, next := false, 0
			for now := time.Duration(0); now <= 60*time.Second; now += 10 * time.Millisecond {
				for next < len(tt.events) && tt.events[next] <= now {
					last = tt.events[next]
					if !open {
						open, opened = true, now
					}
					next++
				}
				base := time.Time{}
				if open && b.untilDue(base.Add(opened), base.Add(last), base.Add(now)) <= 0 {
					passes = append(passes, now)
					open = false
				}
			}
			if !slices.Equal(passes, tt.want) {
				t.Errorf("passes at %v, want %v", passes, tt.want)
			}
		})
	}
}

func TestNodeNamesBounded(t *testing.T) {
	t.Parallel()
	var nodes []*v1.Node
	for i := range 25 {
		nodes = append(nodes, node(fmt.Sprintf("n%02d", i)))
	}
	got := nodeNames(nodes)
	if !containsAll(got, "n00", "n19", "<5 more>") || containsAll(got, "n20") {
		t.Errorf("nodeNames = %q", got)
	}
}
