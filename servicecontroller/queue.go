package servicecontroller

import (
	"context"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// queueName labels the standard workqueue metrics, as upstream's Service queue.
const queueName = "service"

// newQueue builds the Service work queue: per-Service exponential backoff from MinRetryDelay
// to MaxRetryDelay and no overall token bucket, as upstream (a shared bucket would let one
// failing Service delay all the others).
func newQueue(opts Options, clk clock.WithTicker) workqueue.TypedRateLimitingInterface[string] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](opts.MinRetryDelay, opts.MaxRetryDelay),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: queueName, Clock: clk},
	)
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNext(ctx) {
	}
}

// processNext syncs one Service key; it returns false once the queue is shut down.
func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	logger := klog.FromContext(ctx)

	svc, err := c.lookup(key)
	if err == nil {
		err = c.core.sync(ctx, key, svc)
	}
	requeue(logger, c.queue, key, err, c.opts.MinRetryDelay)
	return true
}

// lookup returns the cached Service for key, nil when it no longer exists.
func (c *Controller) lookup(key string) (*v1.Service, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil, err
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return svc, err
}
