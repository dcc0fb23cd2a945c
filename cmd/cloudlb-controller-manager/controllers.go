package main

import (
	"context"
	"fmt"
	"maps"

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

// controllerConstructors returns upstream's default controllers with the service controller
// replaced by ours under the same name, so --controllers and its aliases work unchanged. Ours
// runs under sd, so a signal stops it and main waits for it.
func controllerConstructors(o *cloudlbOptions, sd *shutdown) map[string]app.ControllerInitFuncConstructor {
	// A copy: app.DefaultInitFuncConstructors is upstream's package-level map.
	constructors := maps.Clone(app.DefaultInitFuncConstructors)
	constructors[names.ServiceLBController] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: serviceControllerClientName},
		Constructor: serviceControllerConstructor{o: o, sd: sd}.newInitFunc,
	}
	return constructors
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
		opts := servicecontroller.Options{
			ClusterName:       shared.KubeCloudShared.ClusterName,
			LoadBalancerClass: o.LoadBalancerClass,
			AnnotationCloud:   annotationCloudFor(shared.KubeCloudShared.CloudProvider.Name),
			Workers:           int(shared.ServiceController.ConcurrentServiceSyncs),
			NodeBatchWindow:   o.NodeBatchWindow,
			DriftRepairPeriod: o.DriftRepairPeriod,
		}
		ctrl, err := servicecontroller.New(opts,
			lb,
			completed.ClientBuilder.ClientOrDie(initContext.ClientName),
			completed.SharedInformers.Core().V1().Services(),
			completed.SharedInformers.Core().V1().Nodes())
		if err != nil {
			// Unlike upstream (which logs and skips), a constructor error here is a configuration
			// error; running without the one controller this binary exists for would hide it.
			return nil, false, fmt.Errorf("create the service controller: %w", err)
		}
		logger.Info("Starting cloudlb service controller", "clusterName", opts.ClusterName, "loadBalancerClass", opts.LoadBalancerClass,
			"annotationCloud", opts.AnnotationCloud, "workers", opts.Workers, "nodeBatchWindow", opts.NodeBatchWindow, "driftRepairPeriod", opts.DriftRepairPeriod)
		c.sd.goRun(ctx, ctrl.Run)
		return nil, true, nil
	}
}
