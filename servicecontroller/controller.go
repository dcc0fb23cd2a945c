package servicecontroller

import (
	"context"
	"errors"
	"fmt"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// eventComponent is the Event source, as upstream, so existing tooling keeps matching.
const eventComponent = "service-controller"

// Controller reconciles LoadBalancer Services: informers and a rate-limited work queue around
// the reconcile core.
type Controller struct {
	opts     Options
	core     *core
	client   kubernetes.Interface
	services corelisters.ServiceLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	batcher  *nodeBatcher
	clock    clock.WithTicker

	broadcaster record.EventBroadcaster
}

// New builds a Controller for the given informers. It registers event handlers on them; the
// caller starts the informer factory and then calls Run.
func New(opts Options, cloud cloudprovider.LoadBalancer, client kubernetes.Interface, services coreinformers.ServiceInformer, nodes coreinformers.NodeInformer) (*Controller, error) {
	switch {
	case cloud == nil:
		return nil, errors.New("service controller: no cloud load balancer interface")
	case client == nil:
		return nil, errors.New("service controller: no Kubernetes client")
	case services == nil || nodes == nil:
		return nil, errors.New("service controller: the Service and Node informers are required")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, inf := range []cache.SharedIndexInformer{services.Informer(), nodes.Informer()} {
		if err := setTransform(inf); err != nil {
			klog.Background().V(2).Info("Informer already started, its objects are cached whole", "err", err)
		}
	}
	broadcaster := record.NewBroadcaster()
	recorder := broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: eventComponent})
	nodeLister := nodes.Lister()
	clk := clock.RealClock{}
	c := &Controller{
		opts:        opts,
		client:      client,
		services:    services.Lister(),
		synced:      []cache.InformerSynced{services.Informer().HasSynced, nodes.Informer().HasSynced},
		queue:       newQueue(opts, clk),
		batcher:     newNodeBatcher(opts.NodeBatchWindow, opts.NodeBatchMaxWait, clk),
		clock:       clk,
		broadcaster: broadcaster,
		core: newCore(opts, cloud, &apiWriter{client: client}, recorder, func() ([]*v1.Node, error) {
			return nodeLister.List(labels.Everything())
		}),
	}
	if _, err := services.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.onServiceAdd,
		UpdateFunc: c.onServiceUpdate,
		DeleteFunc: c.onServiceDelete,
	}); err != nil {
		return nil, fmt.Errorf("service controller: adding the Service event handler: %w", err)
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.batcher.markDirty() },
		UpdateFunc: c.onNodeUpdate,
		DeleteFunc: func(any) { c.batcher.markDirty() },
	}); err != nil {
		return nil, fmt.Errorf("service controller: adding the Node event handler: %w", err)
	}
	return c, nil
}

// Run starts the workers, the node batcher and drift repair once the informer caches have
// synced, and blocks until ctx is done. Call it once.
func (c *Controller) Run(ctx context.Context) {
	logger := klog.FromContext(ctx)
	defer c.queue.ShutDown()
	c.broadcaster.StartStructuredLogging(3)
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()

	logger.Info("Starting service controller", "workers", c.opts.Workers, "loadBalancerClass", c.opts.LoadBalancerClass,
		"nodeBatchWindow", c.opts.NodeBatchWindow, "driftRepairPeriod", c.opts.DriftRepairPeriod)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.synced...) {
		return
	}
	c.beginListing(ctx)
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Go(func() { c.runWorker(ctx) })
	}
	wg.Go(func() { c.batcher.run(ctx, c.nodePass) })
	if c.opts.DriftRepairPeriod > 0 {
		wg.Go(func() { c.runDriftRepair(ctx) })
	}
	<-ctx.Done()
	logger.Info("Stopping service controller")
	c.queue.ShutDown()
	wg.Wait()
}

func (c *Controller) onServiceAdd(obj any) {
	svc, ok := obj.(*v1.Service)
	if ok && c.interesting(svc) {
		c.enqueue(svc)
	}
}

// onServiceUpdate enqueues only changes that matter: our own finalizer and status patches,
// label edits and informer resyncs do not (drift repair covers the rest).
func (c *Controller) onServiceUpdate(oldObj, curObj any) {
	old, ok1 := oldObj.(*v1.Service)
	cur, ok2 := curObj.(*v1.Service)
	if !ok1 || !ok2 {
		return
	}
	class := c.opts.LoadBalancerClass
	if needsUpdate(old, cur, class) || needsCleanup(cur, class) ||
		maybeOrphaned(cur, class) && !maybeOrphaned(old, class) {
		c.enqueue(cur)
	}
}

// onServiceDelete lets the core forget the Service (and delete a load balancer whose
// finalizer someone removed by hand). Upstream has no delete handler.
func (c *Controller) onServiceDelete(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	if c.core.peekState(key) != nil {
		c.queue.Add(key)
	}
}

func (c *Controller) onNodeUpdate(oldObj, curObj any) {
	old, ok1 := oldObj.(*v1.Node)
	cur, ok2 := curObj.(*v1.Node)
	if ok1 && ok2 && nodeChangeRelevant(old, cur) {
		c.batcher.markDirty()
	}
}

// interesting reports whether a Service seen for the first time needs a sync.
func (c *Controller) interesting(svc *v1.Service) bool {
	class := c.opts.LoadBalancerClass
	return wantsLoadBalancer(svc, class) || needsCleanup(svc, class) || maybeOrphaned(svc, class)
}

func (c *Controller) enqueue(svc *v1.Service) {
	c.queue.Add(cache.MetaObjectToName(svc).String())
}

// nodePass runs one node pass over every Service and sends failures to the queue.
func (c *Controller) nodePass(ctx context.Context) {
	services, err := c.services.List(labels.Everything())
	if err == nil {
		var failed []keyError
		failed, err = c.core.syncNodes(ctx, services)
		for _, f := range failed {
			requeue(klog.FromContext(ctx), c.queue, f.key, f.err, c.opts.MinRetryDelay)
		}
	}
	if err != nil {
		klog.FromContext(ctx).Error(err, "Node pass failed, trying again after the next window")
		c.batcher.markDirty()
	}
}
