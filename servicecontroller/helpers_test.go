package servicecontroller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/providers"
)

// journal is the ordered record of every cloud call and API write of one test.
type journal struct {
	mu       sync.Mutex
	entries  []string
	disabled bool // records nothing (memory benchmarks)
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.disabled {
		return
	}
	j.entries = append(j.entries, fmt.Sprintf(format, args...))
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

func (j *journal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = nil
}

// recCloud is a recording cloudprovider.LoadBalancer with per-operation error injection.
type recCloud struct {
	j *journal

	mu        sync.Mutex
	ingress   []v1.LoadBalancerIngress // what EnsureLoadBalancer reports
	exists    bool                     // what GetLoadBalancer reports
	errs      map[string][]error       // queued errors by operation, consumed one per call
	calls     map[string]int           // by operation
	updates   map[string]int           // UpdateLoadBalancer calls by Service key
	lastNodes map[string][]string      // node names of the last Ensure/Update by Service key
	lastSvc   map[string]*v1.Service   // the Service of the last call by Service key
	firsts    map[string][]bool        // providers.FirstEnsure of each Ensure by Service key
}

var _ cloudprovider.LoadBalancer = (*recCloud)(nil)

// Operations of recCloud, as journal entries and error-injection keys.
const (
	callGet    = "cloud:Get"
	callEnsure = "cloud:Ensure"
	callUpdate = "cloud:Update"
	callDelete = "cloud:Delete"
)

func newRecCloud(j *journal) *recCloud {
	return &recCloud{
		j:         j,
		ingress:   []v1.LoadBalancerIngress{{IP: "203.0.113.10"}},
		errs:      map[string][]error{},
		calls:     map[string]int{},
		updates:   map[string]int{},
		lastNodes: map[string][]string{},
		lastSvc:   map[string]*v1.Service{},
		firsts:    map[string][]bool{},
	}
}

// firstsOf is providers.FirstEnsure of each Ensure of key, in order.
func (c *recCloud) firstsOf(key string) []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.firsts[key])
}

// fail makes the next calls of op return errs, one per call.
func (c *recCloud) fail(op string, errs ...error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs[op] = append(c.errs[op], errs...)
}

func (c *recCloud) setIngress(in ...v1.LoadBalancerIngress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ingress = in
}

func (c *recCloud) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

func (c *recCloud) updatesOf(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.updates[key]
}

func (c *recCloud) nodesOf(key string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastNodes[key]
}

func (c *recCloud) lastService(key string) *v1.Service {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSvc[key]
}

func (c *recCloud) call(op string, svc *v1.Service, nodes []*v1.Node) error {
	key := svcKey(svc)
	c.j.add("%s %s", op, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
	c.lastSvc[key] = svc.DeepCopy()
	if nodes != nil || op == callEnsure || op == callUpdate {
		names := []string{}
		for _, n := range nodes {
			names = append(names, n.Name)
		}
		c.lastNodes[key] = names
	}
	if op == callUpdate {
		c.updates[key]++
	}
	if q := c.errs[op]; len(q) > 0 {
		c.errs[op] = q[1:]
		return q[0]
	}
	return nil
}

func (c *recCloud) GetLoadBalancer(_ context.Context, _ string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	if err := c.call(callGet, svc, nil); err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.exists {
		return nil, false, nil
	}
	return &v1.LoadBalancerStatus{Ingress: slices.Clone(c.ingress)}, true, nil
}

func (c *recCloud) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return cloudprovider.DefaultLoadBalancerName(svc)
}

func (c *recCloud) EnsureLoadBalancer(ctx context.Context, _ string, svc *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	c.mu.Lock()
	c.firsts[svcKey(svc)] = append(c.firsts[svcKey(svc)], providers.FirstEnsure(ctx))
	c.mu.Unlock()
	if err := c.call(callEnsure, svc, nodes); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return &v1.LoadBalancerStatus{Ingress: slices.Clone(c.ingress)}, nil
}

func (c *recCloud) UpdateLoadBalancer(_ context.Context, _ string, svc *v1.Service, nodes []*v1.Node) error {
	return c.call(callUpdate, svc, nodes)
}

func (c *recCloud) EnsureLoadBalancerDeleted(_ context.Context, _ string, svc *v1.Service) error {
	return c.call(callDelete, svc, nil)
}

// recWriter is a serviceWriter over an in-memory store of Services, standing in for the API
// server: tests read the next sync's Service from it.
type recWriter struct {
	j *journal

	mu       sync.Mutex
	store    map[string]*v1.Service
	errs     map[string][]error
	statuses []v1.LoadBalancerStatus
}

var _ serviceWriter = (*recWriter)(nil)

// Operations of recWriter.
const (
	writeAddFinalizer    = "api:AddFinalizer"
	writeRemoveFinalizer = "api:RemoveFinalizer"
	writePatchStatus     = "api:PatchStatus"
)

func newRecWriter(j *journal) *recWriter {
	return &recWriter{j: j, store: map[string]*v1.Service{}, errs: map[string][]error{}}
}

func (w *recWriter) put(svc *v1.Service) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.store[svcKey(svc)] = svc.DeepCopy()
}

// get returns the stored Service, nil when it is gone.
func (w *recWriter) get(key string) *v1.Service {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.store[key]; ok {
		return s.DeepCopy()
	}
	return nil
}

func (w *recWriter) fail(op string, errs ...error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs[op] = append(w.errs[op], errs...)
}

func (w *recWriter) patchedStatuses() []v1.LoadBalancerStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.statuses)
}

// write journals op and returns the stored Service to change, or an injected error.
func (w *recWriter) write(op string, svc *v1.Service) (*v1.Service, error) {
	key := svcKey(svc)
	w.j.add("%s %s", op, key)
	if q := w.errs[op]; len(q) > 0 {
		w.errs[op] = q[1:]
		return nil, q[0]
	}
	cur, ok := w.store[key]
	if !ok {
		return nil, apierrors.NewNotFound(v1.Resource("services"), svc.Name)
	}
	return cur, nil
}

func (w *recWriter) AddFinalizer(_ context.Context, svc *v1.Service) (*v1.Service, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, err := w.write(writeAddFinalizer, svc)
	if err != nil {
		return nil, err
	}
	if !hasFinalizer(cur) {
		cur.Finalizers = append(cur.Finalizers, Finalizer)
	}
	return cur.DeepCopy(), nil
}

func (w *recWriter) RemoveFinalizer(_ context.Context, svc *v1.Service) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, err := w.write(writeRemoveFinalizer, svc)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	cur.Finalizers = slices.DeleteFunc(cur.Finalizers, func(f string) bool { return f == Finalizer })
	if cur.DeletionTimestamp != nil && len(cur.Finalizers) == 0 {
		delete(w.store, svcKey(cur))
	}
	return nil
}

func (w *recWriter) PatchStatus(_ context.Context, svc *v1.Service, status *v1.LoadBalancerStatus) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, err := w.write(writePatchStatus, svc)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	w.statuses = append(w.statuses, *status.DeepCopy())
	cur.Status.LoadBalancer = *status.DeepCopy()
	return nil
}

// recEvents is an eventSink recording every Event.
type recEvents struct {
	mu     sync.Mutex
	events []recEvent
}

type recEvent struct {
	object, eventtype, reason, message string
}

func (e recEvent) String() string { return e.eventtype + " " + e.reason + ": " + e.message }

func (r *recEvents) Event(obj runtime.Object, eventtype, reason, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key, _ := cache.MetaNamespaceKeyFunc(obj)
	r.events = append(r.events, recEvent{key, eventtype, reason, message})
}

func (r *recEvents) list() []recEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// reasons returns "Type Reason" for every Event, in order.
func (r *recEvents) reasons() []string {
	var out []string
	for _, e := range r.list() {
		out = append(out, e.eventtype+" "+e.reason)
	}
	return out
}

func (r *recEvents) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

// fixture is a core wired to recording doubles.
type fixture struct {
	t      *testing.T
	j      *journal
	cloud  *recCloud
	writer *recWriter
	events *recEvents
	core   *core

	mu    sync.Mutex
	nodes []*v1.Node
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	j := &journal{}
	f := &fixture{t: t, j: j, cloud: newRecCloud(j), writer: newRecWriter(j), events: &recEvents{}}
	f.nodes = []*v1.Node{node("node-a"), node("node-b")}
	f.core = newCore(opts, f.cloud, f.writer, f.events, func() ([]*v1.Node, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return slices.Clone(f.nodes), nil
	})
	return f
}

// restart replaces the core by a fresh one with no memory, as after a restart or leader change.
func (f *fixture) restart() {
	f.core = newCore(f.core.opts, f.cloud, f.writer, f.events, f.core.nodes)
}

func (f *fixture) setNodes(nodes ...*v1.Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes = nodes
}

// sync reconciles the stored Service of key, as a queue worker would.
func (f *fixture) sync(key string) error {
	return f.core.sync(context.Background(), key, f.writer.get(key))
}

// mustSync syncs and fails the test on error.
func (f *fixture) mustSync(key string) {
	f.t.Helper()
	if err := f.sync(key); err != nil {
		f.t.Fatalf("sync %s: %v", key, err)
	}
}

// add stores svc and returns its key.
func (f *fixture) add(svc *v1.Service) string {
	f.writer.put(svc)
	return svcKey(svc)
}

func svcKey(svc *v1.Service) string { return svc.Namespace + "/" + svc.Name }

// lbService builds a LoadBalancer Service "default/<name>" with UID "uid-<name>".
func lbService(name string, mods ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Spec: v1.ServiceSpec{
			Type:     v1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports: []v1.ServicePort{{
				Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080, TargetPort: intstr.FromInt32(8080),
			}},
			ExternalTrafficPolicy: v1.ServiceExternalTrafficPolicyCluster,
			IPFamilies:            []v1.IPFamily{v1.IPv4Protocol},
		},
	}
	for _, m := range mods {
		m(svc)
	}
	return svc
}

func withFinalizer(svc *v1.Service) { svc.Finalizers = append(svc.Finalizers, Finalizer) }

func withIngress(ips ...string) func(*v1.Service) {
	return func(svc *v1.Service) {
		for _, ip := range ips {
			svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, v1.LoadBalancerIngress{IP: ip})
		}
	}
}

func withClass(class string) func(*v1.Service) {
	return func(svc *v1.Service) { svc.Spec.LoadBalancerClass = &class }
}

func withAnnotation(k, v string) func(*v1.Service) {
	return func(svc *v1.Service) {
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations[k] = v
	}
}

func withType(t v1.ServiceType) func(*v1.Service) {
	return func(svc *v1.Service) { svc.Spec.Type = t }
}

func deleting(svc *v1.Service) {
	now := metav1.NewTime(time.Unix(1700000000, 0))
	svc.DeletionTimestamp = &now
}

// node builds a node with providerID "fake://<name>".
func node(name string, mods ...func(*v1.Node)) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:       v1.NodeSpec{ProviderID: "fake://" + name},
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

func withLabel(k, v string) func(*v1.Node) {
	return func(n *v1.Node) { n.Labels[k] = v }
}

// awsTargetNodeLabels is the annotation a Service selects its backend nodes with.
const awsTargetNodeLabels = "service.beta.kubernetes.io/aws-load-balancer-target-node-labels"

// poll waits until cond holds or fails the test after a timeout.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// contains reports whether s contains every part.
func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
