package servicecontroller

import (
	"context"
	"slices"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// patchLog records the patches a fake clientset receives.
type patchLog struct {
	mu      sync.Mutex
	patches []k8stesting.PatchAction
}

func (l *patchLog) list() []k8stesting.PatchAction {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.patches)
}

// newPatchClient returns a fake clientset holding objs that records every Service patch;
// conflicts fail that many first patches with a Conflict, after running before (if set).
func newPatchClient(conflicts int, before func(*fake.Clientset), objs ...runtime.Object) (*fake.Clientset, *patchLog) {
	client := fake.NewClientset(objs...)
	log := &patchLog{}
	client.PrependReactor("patch", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		log.mu.Lock()
		defer log.mu.Unlock()
		log.patches = append(log.patches, a.(k8stesting.PatchAction))
		if conflicts > 0 {
			conflicts--
			if before != nil {
				before(client)
			}
			return true, nil, apierrors.NewConflict(v1.Resource("services"), "web", nil)
		}
		return false, nil, nil
	})
	return client, log
}

func TestAddFinalizerKeepsOthers(t *testing.T) {
	t.Parallel()
	svc := lbService("web", func(s *v1.Service) { s.Finalizers = []string{"example.com/other"}; s.ResourceVersion = "7" })
	client, log := newPatchClient(0, nil, svc)
	w := &apiWriter{client: client}
	got, err := w.AddFinalizer(t.Context(), svc)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"example.com/other", Finalizer}; !slices.Equal(got.Finalizers, want) {
		t.Errorf("finalizers = %v, want %v", got.Finalizers, want)
	}
	p := log.list()
	if len(p) != 1 || p[0].GetPatchType() != types.MergePatchType || p[0].GetSubresource() != "" {
		t.Fatalf("want one merge patch on the Service, got %v", p)
	}
	want := `{"metadata":{"resourceVersion":"7","finalizers":["example.com/other","service.kubernetes.io/load-balancer-cleanup"]}}`
	if got := string(p[0].GetPatch()); got != want {
		t.Errorf("patch = %s, want %s (with the resourceVersion precondition)", got, want)
	}
}

func TestAddFinalizerRetriesOnConflict(t *testing.T) {
	t.Parallel()
	svc := lbService("web")
	// While our first patch is in flight another controller adds its finalizer.
	client, log := newPatchClient(1, func(c *fake.Clientset) {
		cur := svc.DeepCopy()
		cur.Finalizers, cur.ResourceVersion = []string{"example.com/other"}, "2"
		if err := c.Tracker().Update(v1.SchemeGroupVersion.WithResource("services"), cur, cur.Namespace); err != nil {
			panic(err)
		}
	}, svc)
	w := &apiWriter{client: client}
	got, err := w.AddFinalizer(t.Context(), svc)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"example.com/other", Finalizer}; !slices.Equal(got.Finalizers, want) {
		t.Errorf("finalizers = %v, want %v (the other controller's finalizer kept)", got.Finalizers, want)
	}
	if n := len(log.list()); n != 2 {
		t.Errorf("%d patches, want 2", n)
	}
}

func TestAddFinalizerGivesUpAfterRetries(t *testing.T) {
	t.Parallel()
	svc := lbService("web")
	client, _ := newPatchClient(maxConflictRetries+1, nil, svc)
	if _, err := (&apiWriter{client: client}).AddFinalizer(t.Context(), svc); !apierrors.IsConflict(err) {
		t.Errorf("want the Conflict after %d retries, got %v", maxConflictRetries, err)
	}
}

func TestRemoveFinalizer(t *testing.T) {
	t.Parallel()
	svc := lbService("web", func(s *v1.Service) { s.Finalizers = []string{"a/one", Finalizer, "b/two"} })
	client, log := newPatchClient(0, nil, svc)
	w := &apiWriter{client: client}
	if err := w.RemoveFinalizer(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	got, err := client.CoreV1().Services("default").Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a/one", "b/two"}; !slices.Equal(got.Finalizers, want) {
		t.Errorf("finalizers = %v, want %v", got.Finalizers, want)
	}
	if n := len(log.list()); n != 1 {
		t.Errorf("%d patches, want 1", n)
	}

	// Gone already: not an error.
	if err := w.RemoveFinalizer(t.Context(), lbService("missing", withFinalizer)); err != nil {
		t.Errorf("RemoveFinalizer of a missing Service: %v", err)
	}
}

func TestPatchStatus(t *testing.T) {
	t.Parallel()
	svc := lbService("web", func(s *v1.Service) {
		s.Status.Conditions = []metav1.Condition{{Type: "Example", Status: metav1.ConditionTrue, Reason: "Kept"}}
	})
	client, log := newPatchClient(0, nil, svc)
	w := &apiWriter{client: client}
	proxy := v1.LoadBalancerIPModeProxy
	steps := []struct {
		status    v1.LoadBalancerStatus
		wantPatch string
	}{
		{
			v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: "203.0.113.10", IPMode: &proxy}, {Hostname: "web.lb.example"}}},
			`{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.10","ipMode":"Proxy"},{"hostname":"web.lb.example"}]}}}`,
		},
		{v1.LoadBalancerStatus{}, `{"status":{"loadBalancer":{"ingress":null}}}`},
	}
	for i, s := range steps {
		if err := w.PatchStatus(t.Context(), svc, &s.status); err != nil {
			t.Fatal(err)
		}
		p := log.list()[i]
		if p.GetSubresource() != "status" || p.GetPatchType() != types.MergePatchType || string(p.GetPatch()) != s.wantPatch {
			t.Errorf("step %d: %s patch on %q: %s, want a merge patch on status: %s", i, p.GetPatchType(), p.GetSubresource(), p.GetPatch(), s.wantPatch)
		}
		got, err := client.CoreV1().Services("default").Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !ingressEqual(got.Status.LoadBalancer.Ingress, s.status.Ingress) || len(got.Status.Conditions) != 1 {
			t.Errorf("step %d: status = %+v", i, got.Status)
		}
	}
	if err := w.PatchStatus(t.Context(), lbService("missing"), &v1.LoadBalancerStatus{}); err != nil {
		t.Errorf("PatchStatus of a missing Service: %v", err)
	}
}
