package main

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app/config"
	"k8s.io/cloud-provider/names"
	"k8s.io/cloud-provider/options"
	genericcontrollermanager "k8s.io/controller-manager/app"

	"github.com/cloudlb/cloudlb/providers/fake"
)

// staticClientBuilder hands out one clientset whatever the controller's name.
type staticClientBuilder struct{ client kubernetes.Interface }

var _ cloudprovider.ControllerClientBuilder = staticClientBuilder{}

func (b staticClientBuilder) Config(string) (*rest.Config, error)         { return &rest.Config{}, nil }
func (b staticClientBuilder) ConfigOrDie(string) *rest.Config             { return &rest.Config{} }
func (b staticClientBuilder) Client(string) (kubernetes.Interface, error) { return b.client, nil }
func (b staticClientBuilder) ClientOrDie(string) kubernetes.Interface     { return b.client }

// completedConfig returns the part of a CompletedConfig the service controller reads.
func completedConfig(t *testing.T, client kubernetes.Interface, clusterName string) (*config.CompletedConfig, informers.SharedInformerFactory) {
	t.Helper()
	component, err := options.NewDefaultComponentConfig()
	if err != nil {
		t.Fatalf("default component config: %v", err)
	}
	component.KubeCloudShared.ClusterName = clusterName
	component.KubeCloudShared.CloudProvider.Name = fake.ProviderName
	component.ServiceController.ConcurrentServiceSyncs = 2
	factory := informers.NewSharedInformerFactory(client, 0)
	c := &config.Config{ComponentConfig: *component, ClientBuilder: staticClientBuilder{client}, SharedInformers: factory}
	return c.Complete(), factory
}

// noLoadBalancerCloud is a cloud without load balancers; only the methods the constructor calls are implemented.
type noLoadBalancerCloud struct{ cloudprovider.Interface }

func (noLoadBalancerCloud) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return nil, false }
func (noLoadBalancerCloud) ProviderName() string                             { return "nolb" }

func TestServiceControllerSkippedWithoutLoadBalancers(t *testing.T) {
	t.Parallel()
	completed, _ := completedConfig(t, kubefake.NewClientset(), "kubernetes")
	ctor := controllerConstructors(newCloudlbOptions(), newShutdown())[names.ServiceLBController]
	initFn := ctor.Constructor(ctor.InitContext, completed, noLoadBalancerCloud{})
	_, started, err := initFn(t.Context(), genericcontrollermanager.ControllerContext{})
	if err != nil || started {
		t.Errorf("init = (started %v, %v), want (false, nil)", started, err)
	}
}

// TestServiceControllerUsesFlags runs the constructor the command registers against a fake API
// and the fake cloud, with --load-balancer-class and --cluster-name set: a Service of that class
// getting a load balancer tagged with the cluster name proves the flags reach our controller
// (the upstream controller never serves a Service that has a class).
func TestServiceControllerUsesFlags(t *testing.T) {
	t.Parallel()
	const class, clusterName = "example.com/cloudlb", "flags-test"
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-a"},
		Status: v1.NodeStatus{
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
			Addresses:  []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "10.0.0.10"}},
		},
	}
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "2b7c1c7e-0000-4000-8000-000000000001"},
		Spec: v1.ServiceSpec{
			Type:              v1.ServiceTypeLoadBalancer,
			LoadBalancerClass: new(class),
			Ports:             []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080}},
		},
	}
	client := kubefake.NewClientset(node, svc)
	completed, factory := completedConfig(t, client, clusterName)
	cloud, err := fake.New(fake.Config{})
	if err != nil {
		t.Fatalf("fake.New: %v", err)
	}

	o := newCloudlbOptions()
	o.LoadBalancerClass = class
	o.NodeBatchWindow = 10 * time.Millisecond
	o.DriftRepairPeriod = 0
	ctor := controllerConstructors(o, newShutdown())[names.ServiceLBController]
	ctx, cancel := context.WithCancel(t.Context())
	_, started, err := ctor.Constructor(ctor.InitContext, completed, cloud)(ctx, genericcontrollermanager.ControllerContext{})
	if err != nil || !started {
		cancel()
		t.Fatalf("init = (started %v, %v), want (true, nil)", started, err)
	}
	factory.Start(ctx.Done())
	defer func() {
		cancel() // before Shutdown, which waits for the informers to stop
		factory.Shutdown()
	}()

	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := client.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(got.Status.LoadBalancer.Ingress) > 0, nil
	})
	if err != nil {
		t.Fatalf("Service of class %q never got an ingress: %v", class, err)
	}
	lbs, err := cloud.LoadBalancers()
	if err != nil {
		t.Fatalf("LoadBalancers: %v", err)
	}
	if len(lbs) != 1 || lbs[0].Service != "default/web" || lbs[0].ClusterName != clusterName {
		t.Errorf("cloud load balancers = %+v, want one for default/web owned by cluster %q", lbs, clusterName)
	}
}
