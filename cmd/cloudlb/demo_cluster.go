package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/examples"
	"github.com/cloudlb/cloudlb/internal/controlplane"
	"github.com/cloudlb/cloudlb/providers/fake"
)

const (
	// demoNamespace is where the embedded manifests live.
	demoNamespace = "demo"
	// demoPollInterval is how often the demo re-reads Services and Events while it waits.
	demoPollInterval = 100 * time.Millisecond
)

// demoNodes returns the Nodes the demo registers. There is no kubelet: they are API objects
// only, which is all the service controller reads. The last one is excluded from load
// balancers by the well-known label, so the table's load balancers show two backends.
func demoNodes() []*v1.Node {
	var nodes []*v1.Node
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("demo-node-%d", i)
		n := &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelHostname: name}},
			Spec:       v1.NodeSpec{ProviderID: fake.ProviderName + "://" + name},
			Status: v1.NodeStatus{Addresses: []v1.NodeAddress{
				{Type: v1.NodeInternalIP, Address: fmt.Sprintf("192.0.2.%d", 10+i)},
				{Type: v1.NodeHostName, Address: name},
			}},
		}
		if i == 3 {
			n.Labels[v1.LabelNodeExcludeBalancers] = "true"
		}
		nodes = append(nodes, n)
	}
	return nodes
}

// demoManifests returns the embedded Services, in file order, and the namespace/name keys of
// those whose annotations do not validate: the controller must refuse them with an Event.
func demoManifests() ([]*v1.Service, map[string]bool, error) {
	files, err := fs.Glob(examples.Demo, "demo/*.yaml")
	if err != nil || len(files) == 0 {
		return nil, nil, fmt.Errorf("read the embedded demo manifests: none found (%v)", err)
	}
	var svcs []*v1.Service
	invalid := map[string]bool{}
	for _, f := range files {
		data, err := fs.ReadFile(examples.Demo, f)
		if err != nil {
			return nil, nil, fmt.Errorf("read the embedded %s: %w", f, err)
		}
		contents, err := readStream(f, bytes.NewReader(data))
		if err != nil {
			return nil, nil, err
		}
		for _, d := range contents.services {
			if d.DecodeErr != nil {
				return nil, nil, fmt.Errorf("%s: %s: %w", f, d.Name, d.DecodeErr)
			}
			// The same check the controller makes with the fake provider (annotations of any cloud).
			if _, problems := annotations.Parse(d.Service, annotations.AnyCloud); problems.HasErrors() {
				invalid[d.Name] = true
			}
			svcs = append(svcs, d.Service)
		}
	}
	return svcs, invalid, nil
}

// demoBinDir returns the directory that should hold etcd and kube-apiserver: $CLOUDLB_TESTBIN,
// else testbin next to this executable (bin/cloudlb, bin/testbin), else "" for the control
// plane's own default (<repo root>/bin/testbin, found from the working directory).
func demoBinDir() string {
	if dir := os.Getenv(controlplane.BinDirEnv); dir != "" {
		return dir
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Join(filepath.Dir(exe), "testbin")
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
	}
	return ""
}

// checkTestbin fails early, with the fix, when dir lacks etcd or kube-apiserver.
func checkTestbin(dir string) error {
	if dir == "" {
		return nil // the control plane's own lookup says how to fix a miss
	}
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			return fmt.Errorf("%s not found in %s: run make testbin", name, dir)
		}
	}
	return nil
}

// createNodes registers the demo Nodes; providerIDs, if set, replace their providerIDs by name.
func createNodes(ctx context.Context, cs kubernetes.Interface, providerIDs map[string]string) error {
	for _, n := range demoNodes() {
		if id, ok := providerIDs[n.Name]; ok {
			n.Spec.ProviderID = id
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
	}
	return nil
}

// applyServices creates the demo namespace and the Services.
func applyServices(ctx context.Context, cs kubernetes.Interface, svcs []*v1.Service) error {
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", demoNamespace, err)
	}
	for _, svc := range svcs {
		if _, err := cs.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
	}
	return nil
}

// takeSnapshot reads the demo namespace's Services and Events and the fake cloud's state.
func takeSnapshot(ctx context.Context, cs kubernetes.Interface, cloud demoCloud) (demoSnapshot, error) {
	svcs, err := cs.CoreV1().Services(demoNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return demoSnapshot{}, fmt.Errorf("list services: %w", err)
	}
	events, err := cs.CoreV1().Events(demoNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return demoSnapshot{}, fmt.Errorf("list events: %w", err)
	}
	lbs, err := cloud.LoadBalancers()
	if err != nil {
		return demoSnapshot{}, fmt.Errorf("read the cloud: %w", err)
	}
	return demoSnapshot{Services: svcs.Items, Events: events.Items, LBs: lbs}, nil
}

// waitConverged polls until nothing is pending or ctx ends; it returns the last snapshot and,
// on timeout, an error listing what is still pending.
func waitConverged(ctx context.Context, cs kubernetes.Interface, cloud demoCloud, want []string, invalid map[string]bool) (demoSnapshot, error) {
	var snap demoSnapshot
	var pending []string
	var lastErr error
	err := wait.PollUntilContextCancel(ctx, demoPollInterval, true, func(ctx context.Context) (bool, error) {
		s, err := takeSnapshot(ctx, cs, cloud)
		if err != nil {
			lastErr = err // the next poll retries; report it only if it persists
			return false, nil
		}
		snap, pending, lastErr = s, demoPending(s, want, invalid), nil
		return len(pending) == 0, nil
	})
	if err == nil {
		return snap, nil
	}
	if cause := context.Cause(ctx); cause != nil {
		err = cause
	}
	if lastErr != nil {
		return snap, fmt.Errorf("%w; last read failed: %w", err, lastErr)
	}
	return snap, fmt.Errorf("%w; still pending: %s", err, strings.Join(pending, "; "))
}

// waitEnsuredEvents gives the controller up to grace to record an EnsuredLoadBalancer Event
// on every Service with an ingress: the status patch lands before the Event, which is sent
// asynchronously, and the table's LAST EVENT should not lag behind the INGRESS column. It
// returns the newest snapshot; a missing Event is shown in the table, not treated as an error.
func waitEnsuredEvents(ctx context.Context, cs kubernetes.Interface, cloud demoCloud, snap demoSnapshot, grace time.Duration) demoSnapshot {
	_ = wait.PollUntilContextTimeout(ctx, demoPollInterval, grace, true, func(ctx context.Context) (bool, error) {
		if missingEnsuredEvents(snap) == 0 {
			return true, nil
		}
		if s, err := takeSnapshot(ctx, cs, cloud); err == nil {
			snap = s
		}
		return missingEnsuredEvents(snap) == 0, nil
	})
	return snap
}

// backendSummary says which nodes back the load balancers and confirms the excluded ones are
// left out; it returns an error if an excluded node is a backend.
func backendSummary(lbs []fake.LoadBalancer) (string, error) {
	return backendSummaryIn("the fake cloud", lbs)
}

// backendSummaryIn is backendSummary naming the cloud.
func backendSummaryIn(cloud string, lbs []fake.LoadBalancer) (string, error) {
	var backends []string
	for _, lb := range lbs {
		backends = append(backends, lb.Nodes...)
	}
	slices.Sort(backends)
	backends = slices.Compact(backends)
	var excluded []string
	var errs []error
	for _, n := range demoNodes() {
		if n.Labels[v1.LabelNodeExcludeBalancers] != "true" {
			continue
		}
		excluded = append(excluded, n.Name)
		if slices.Contains(backends, n.Name) {
			errs = append(errs, fmt.Errorf("node %s is labelled %s=true but backs a load balancer", n.Name, v1.LabelNodeExcludeBalancers))
		}
	}
	if len(backends) == 0 {
		backends = []string{"(none)"}
	}
	return fmt.Sprintf("Backends in %s: %s; excluded by %s=true: %s",
		cloud, strings.Join(backends, ", "), v1.LabelNodeExcludeBalancers, strings.Join(excluded, ", ")), errors.Join(errs...)
}
