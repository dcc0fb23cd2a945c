package servicecontroller

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	fakecloud "github.com/cloudlb/cloudlb/providers/fake"
)

func TestStripUnused(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	tests := []struct {
		name  string
		obj   any
		check func(any) bool
	}{
		{"a Service loses managedFields, keeps its spec", &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", ManagedFields: managed}, Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer}},
			func(o any) bool {
				s := o.(*v1.Service)
				return s.ManagedFields == nil && s.Spec.Type == v1.ServiceTypeLoadBalancer
			}},
		{"a Node loses managedFields and images, keeps conditions and providerID", &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", ManagedFields: managed},
			Spec:   v1.NodeSpec{ProviderID: "aws:///us-east-1a/i-1"},
			Status: v1.NodeStatus{Images: []v1.ContainerImage{{Names: []string{"img"}}}, Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}}},
			func(o any) bool {
				n := o.(*v1.Node)
				return n.ManagedFields == nil && n.Status.Images == nil && len(n.Status.Conditions) == 1 && n.Spec.ProviderID != ""
			}},
		{"anything else passes untouched", "tombstone", func(o any) bool { return o == "tombstone" }},
	}
	for _, tt := range tests {
		got, err := stripUnused(tt.obj)
		if err != nil || !tt.check(got) {
			t.Errorf("%s: got %+v, %v", tt.name, got, err)
		}
	}
}

// New installs the transform, so the controller's caches never hold managedFields.
func TestNewStripsCachedObjects(t *testing.T) {
	svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}}}
	client := fake.NewClientset(svc)
	factory := informers.NewSharedInformerFactory(client, 0)
	cloud, err := fakecloud.New(fakecloud.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{}, cloud, client, factory.Core().V1().Services(), factory.Core().V1().Nodes()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	var cached *v1.Service
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cached, err = factory.Core().V1().Services().Lister().Services("ns").Get("web"); err == nil {
			break
		}
	}
	if cached == nil || cached.ManagedFields != nil {
		t.Errorf("cached Service %+v: want it without managedFields", cached)
	}
}
