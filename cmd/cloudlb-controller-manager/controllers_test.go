package main

import (
	"context"
	"errors"
	"slices"
	"strings"
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
	"k8s.io/cloud-provider/app"
	"k8s.io/cloud-provider/app/config"
	"k8s.io/cloud-provider/names"
	"k8s.io/cloud-provider/options"
	genericcontrollermanager "k8s.io/controller-manager/app"
	cmconfig "k8s.io/controller-manager/config"
	"k8s.io/controller-manager/controller"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

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

// TestControllersFlag resolves --controllers as upstream does (aliases, "*", "-name"): by
// default only the service controller runs; the upstream controllers stay explicit choices.
func TestControllersFlag(t *testing.T) {
	t.Parallel()
	all := app.ControllerNames(controllerConstructors(newCloudlbOptions(), newShutdown()))
	nodeAndRoute := []string{names.CloudNodeController, names.CloudNodeLifecycleController, names.NodeRouteController}
	for _, tc := range []struct {
		name string
		flag []string
		want []string
	}{
		{"default", defaultControllers(), []string{names.ServiceLBController}},
		{"star", []string{"*"}, all},
		{"star without service", []string{"*", "-service"}, nodeAndRoute},
		{"named", []string{"service", "cloud-node"}, []string{names.CloudNodeController, names.ServiceLBController}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := options.NewCloudControllerManagerOptions()
			if err != nil {
				t.Fatal(err)
			}
			o.Generic.Controllers = tc.flag
			var cfg cmconfig.GenericControllerManagerConfiguration
			if err := o.Generic.ApplyTo(&cfg, all, app.ControllersDisabledByDefault.List(), names.CCMControllerAliases()); err != nil {
				t.Fatal(err)
			}
			var enabled []string
			for _, name := range all {
				if genericcontrollermanager.IsControllerEnabled(name, app.ControllersDisabledByDefault, cfg.Controllers) {
					enabled = append(enabled, name)
				}
			}
			slices.Sort(enabled)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(enabled, want) {
				t.Errorf("--controllers=%s enables %v, want %v", strings.Join(tc.flag, ","), enabled, want)
			}
		})
	}
}

// TestUpstreamControllersNeedTheCloud starts the upstream node and route controllers over a
// provider that serves load balancers only: named in --controllers they refuse to start,
// naming what is missing and where the controller belongs; enabled by "*" they are skipped
// with a log line.
func TestUpstreamControllersNeedTheCloud(t *testing.T) {
	t.Parallel()
	cloud, err := fake.New(fake.Config{})
	if err != nil {
		t.Fatalf("fake.New: %v", err)
	}
	ctors := controllerConstructors(newCloudlbOptions(), newShutdown())
	for name, part := range map[string]string{
		names.CloudNodeController: "Instances", names.CloudNodeLifecycleController: "Instances", names.NodeRouteController: "Routes",
	} {
		for _, tc := range []struct {
			how         string
			controllers []string
			wantErr     bool
		}{
			{"named", []string{names.ServiceLBController, name}, true},
			{"star", []string{"*"}, false},
		} {
			t.Run(name+"/"+tc.how, func(t *testing.T) {
				t.Parallel()
				completed, _ := completedConfig(t, kubefake.NewClientset(), "kubernetes")
				completed.ComponentConfig.Generic.Controllers = tc.controllers
				logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.BufferLogs(true)))
				ctx := klog.NewContext(t.Context(), logger)
				ctor := ctors[name]
				_, started, err := ctor.Constructor(ctor.InitContext, completed, cloud)(ctx, genericcontrollermanager.ControllerContext{})
				if started {
					t.Fatal("started a controller the provider cannot serve")
				}
				if tc.wantErr {
					if !errors.Is(err, errCloudLacks) {
						t.Fatalf("err = %v, want errCloudLacks", err)
					}
					for _, want := range []string{name, `"fake"`, "no " + part, "cloud's own cloud-controller-manager"} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q does not say %q", err, want)
						}
					}
					return
				}
				if err != nil {
					t.Fatalf("err = %v, want nil (skipped)", err)
				}
				logged := logger.GetSink().(ktesting.Underlier).GetBuffer().String()
				for _, want := range []string{"Not starting a controller enabled by --controllers=*", name, part} {
					if !strings.Contains(logged, want) {
						t.Errorf("log %q does not say %q", logged, want)
					}
				}
			})
		}
	}
}

// fullCloud serves instances and routes, as a provider with node controllers would; only the
// methods requireCloud calls are implemented.
type fullCloud struct{ cloudprovider.Interface }

func (fullCloud) Instances() (cloudprovider.Instances, bool)     { return nil, true }
func (fullCloud) InstancesV2() (cloudprovider.InstancesV2, bool) { return nil, false }
func (fullCloud) Routes() (cloudprovider.Routes, bool)           { return nil, true }
func (fullCloud) ProviderName() string                           { return "full" }

// TestRequireCloudPassesThrough hands a cloud that serves what the controller needs to the
// upstream constructor unchanged, whatever --controllers says.
func TestRequireCloudPassesThrough(t *testing.T) {
	t.Parallel()
	completed, _ := completedConfig(t, kubefake.NewClientset(), "kubernetes")
	completed.ComponentConfig.Generic.Controllers = []string{names.CloudNodeController}
	called := false
	next := func(app.ControllerInitContext, *config.CompletedConfig, cloudprovider.Interface) app.InitFunc {
		called = true
		return func(context.Context, genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
			return nil, true, nil
		}
	}
	initFn := requireCloud(names.CloudNodeController, cloudNeeds()[names.CloudNodeController], next)(app.ControllerInitContext{}, completed, fullCloud{})
	if _, started, err := initFn(t.Context(), genericcontrollermanager.ControllerContext{}); !called || !started || err != nil {
		t.Errorf("upstream constructor called %v, started %v, err %v; want the upstream controller", called, started, err)
	}
}
