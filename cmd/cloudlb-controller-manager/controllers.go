package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	"k8s.io/cloud-provider/app/config"
	"k8s.io/cloud-provider/names"
	genericcontrollermanager "k8s.io/controller-manager/app"
	"k8s.io/controller-manager/controller"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/servicecontroller"
)

// serviceControllerClientName is the user agent (and, with --use-service-account-credentials,
// the kube-system ServiceAccount) of our service controller; upstream's name, so RBAC written
// for the upstream controller keeps working.
const serviceControllerClientName = "service-controller"

// defaultControllers is the default of --controllers: only the service controller. cloudlb is
// the load-balancer part of a cloud-controller-manager; its providers serve nothing else
// (providers.LoadBalancerOnly), so the cloud's own cloud-controller-manager keeps the node
// and route controllers. --controllers=* and the upstream names remain explicit choices.
func defaultControllers() []string { return []string{"service"} }

// errCloudLacks is the error of an upstream controller named in --controllers whose cloud
// interface the provider does not serve.
var errCloudLacks = errors.New("the cloud provider does not serve what the controller needs")

// cloudNeed is the cloudprovider.Interface part an upstream controller calls besides load
// balancers.
type cloudNeed struct {
	part   string
	serves func(cloudprovider.Interface) bool
}

// cloudNeeds are the upstream controllers that call more of the cloud than its load balancers.
func cloudNeeds() map[string]cloudNeed {
	instances := cloudNeed{"Instances", func(c cloudprovider.Interface) bool {
		_, v1 := c.Instances()
		_, v2 := c.InstancesV2()
		return v1 || v2
	}}
	return map[string]cloudNeed{
		names.CloudNodeController:          instances,
		names.CloudNodeLifecycleController: instances,
		names.NodeRouteController:          {"Routes", func(c cloudprovider.Interface) bool { _, ok := c.Routes(); return ok }},
	}
}

// controllerConstructors returns upstream's default controllers with the service controller
// replaced by ours under the same name, so --controllers and its aliases work unchanged. Ours
// runs under sd, so a signal stops it and main waits for it. The upstream node and route
// controllers first check that the provider serves what they call (requireCloud).
func controllerConstructors(o *cloudlbOptions, sd *shutdown) map[string]app.ControllerInitFuncConstructor {
	// A copy: app.DefaultInitFuncConstructors is upstream's package-level map.
	constructors := maps.Clone(app.DefaultInitFuncConstructors)
	constructors[names.ServiceLBController] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: serviceControllerClientName},
		Constructor: serviceControllerConstructor{o: o, sd: sd}.newInitFunc,
	}
	for name, need := range cloudNeeds() {
		c := constructors[name]
		c.Constructor = requireCloud(name, need, c.Constructor)
		constructors[name] = c
	}
	return constructors
}

// requireCloud wraps the constructor of an upstream controller that needs more of the cloud
// than load balancers. When the provider lacks it, a controller named in --controllers is an
// error: the operator asked for something that cannot run (upstream would only log a warning
// and leave, say, new Nodes tainted uninitialized forever). One enabled only through "*" is
// skipped with a log line that says where it belongs.
func requireCloud(name string, need cloudNeed, next app.InitFuncConstructor) app.InitFuncConstructor {
	return func(initContext app.ControllerInitContext, completed *config.CompletedConfig, cloud cloudprovider.Interface) app.InitFunc {
		if cloud == nil || need.serves(cloud) {
			return next(initContext, completed, cloud)
		}
		return func(ctx context.Context, _ genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
			if slices.Contains(completed.ComponentConfig.Generic.Controllers, name) {
				return nil, false, fmt.Errorf("--controllers names %s, but cloud provider %q has no %s (cloudlb serves load balancers only): "+
					"run %s in the cloud's own cloud-controller-manager and leave it out of cloudlb's --controllers: %w",
					name, cloud.ProviderName(), need.part, name, errCloudLacks)
			}
			klog.FromContext(ctx).Info("Not starting a controller enabled by --controllers=*: the cloud provider serves load balancers only; the cloud's own cloud-controller-manager runs it",
				"controller", name, "provider", cloud.ProviderName(), "missing", need.part)
			return nil, false, nil
		}
	}
}

// serviceControllerConstructor builds our service controller from cloudlb's flags and runs it
// under sd.
type serviceControllerConstructor struct {
	o  *cloudlbOptions
	sd *shutdown
}

// newInitFunc is our app.InitFuncConstructor: it runs after the flags are parsed, so c.o holds
// the user's values.
func (c serviceControllerConstructor) newInitFunc(initContext app.ControllerInitContext, completed *config.CompletedConfig, cloud cloudprovider.Interface) app.InitFunc {
	o := c.o
	return func(ctx context.Context, _ genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
		logger := klog.FromContext(ctx)
		if cloud == nil {
			logger.Info("No cloud provider; not starting the service controller")
			return nil, false, nil
		}
		lb, ok := cloud.LoadBalancer()
		if !ok {
			// Like upstream: a cloud without load balancers is not an error, the controller is just skipped.
			logger.Info("Cloud provider does not support load balancers; not starting the service controller", "provider", cloud.ProviderName())
			return nil, false, nil
		}
		shared := completed.ComponentConfig
		client := completed.ClientBuilder.ClientOrDie(initContext.ClientName)
		cp := shared.KubeCloudShared.CloudProvider
		clusterName, err := newClusterIdentity(cp.Name, cp.CloudConfigFile, shared.KubeCloudShared.ClusterName, o.clusterNameSet, cloud).
			resolve(ctx, logger, client)
		if err != nil {
			// Refuse to start: without an identity every cloud object tagged for the default
			// "kubernetes" would be taken as ours, and shared objects would be duplicated.
			return nil, false, err
		}
		opts := servicecontroller.Options{
			ClusterName:       clusterName,
			LoadBalancerClass: o.LoadBalancerClass,
			AnnotationCloud:   annotationCloudFor(shared.KubeCloudShared.CloudProvider.Name),
			Workers:           int(shared.ServiceController.ConcurrentServiceSyncs),
			NodeBatchWindow:   o.NodeBatchWindow,
			NodeBatchMaxWait:  o.NodeBatchMaxWait,
			DriftRepairPeriod: o.DriftRepairPeriod,
		}
		ctrl, err := servicecontroller.New(opts,
			lb,
			client,
			completed.SharedInformers.Core().V1().Services(),
			completed.SharedInformers.Core().V1().Nodes())
		if err != nil {
			// Unlike upstream (which logs and skips), a constructor error here is a configuration
			// error; running without the one controller this binary exists for would hide it.
			return nil, false, fmt.Errorf("create the service controller: %w", err)
		}
		logger.Info("Starting cloudlb service controller", "clusterName", opts.ClusterName, "loadBalancerClass", opts.LoadBalancerClass,
			"annotationCloud", opts.AnnotationCloud, "workers", opts.Workers, "nodeBatchWindow", opts.NodeBatchWindow, "nodeBatchMaxWait", opts.NodeBatchMaxWait, "driftRepairPeriod", opts.DriftRepairPeriod)
		c.sd.goRun(ctx, ctrl.Run)
		return nil, true, nil
	}
}
