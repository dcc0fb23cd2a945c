// Package servicecontroller is cloudlb's service controller: it reconciles Services of type
// LoadBalancer into cloud load balancers through a cloudprovider.LoadBalancer.
//
// It keeps the upstream k8s.io/cloud-provider contract users rely on (the
// service.kubernetes.io/load-balancer-cleanup finalizer added before the first cloud write and
// removed only after the cloud is clean, spec.loadBalancerClass filtering, the needsUpdate field
// list, the node predicates, RetryError, ImplementedElsewhere) and improves on it: node label
// selectors re-evaluated on node label changes, node events batched until quiet (at most NodeBatchMaxWait), periodic drift
// repair spread over the period, quiet no-op resyncs, three error classes, status patches only
// when the ingress changed, and Prometheus metrics.
//
// Layout: core.go holds the plain reconcile core and its ports; sync.go reconciles one Service;
// nodesync.go batches node events; needsupdate.go and predicates.go are pure decisions;
// controller.go, queue.go and drift.go are the informer and work-queue plumbing; status.go talks
// to the API server; errors.go classifies errors and translates them to the queue; events.go
// declares the Event reasons; metrics.go the metrics.
package servicecontroller
