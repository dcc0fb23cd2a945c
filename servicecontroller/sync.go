package servicecontroller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// action is what a sync does with a Service.
type action int

const (
	actSkip action = iota
	actEnsure
	actCleanup
)

// sync reconciles one Service. svc is the informer's copy (never modified here) or nil when
// the Service no longer exists.
func (c *core) sync(ctx context.Context, key string, svc *v1.Service) error {
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("service", key))
	if svc == nil {
		return c.syncGone(ctx, key)
	}
	// st.applied keeps the informer's object itself (never modified; shared with the cache
	// until the Service changes), not a copy: at 5,000 Services the copies were 10 MB.
	cached := svc
	svc = svc.DeepCopy()
	ctx = c.listing.take(ctx, key)
	st := c.lockState(key)
	defer st.mu.Unlock()

	act, err := c.decide(ctx, st, svc)
	if err == nil {
		switch act {
		case actSkip:
			c.dropState(key, st)
			return nil
		case actCleanup:
			start := time.Now()
			err = c.cleanup(c.withAudit(ctx, svc, opDelete), key, st, svc)
			observe(opDelete, start, err)
		case actEnsure:
			start := time.Now()
			err = c.ensure(c.withAudit(ctx, svc, opEnsure), key, st, svc, cached)
			observe(opEnsure, start, err)
		}
	}
	if err != nil {
		c.report(svc, st, err)
	}
	return err
}

// decide picks the action for svc, after deleting the load balancer of a previous Service of
// the same name. It reads the cloud only for a class-less Service with the finalizer in class
// mode, to learn whether its load balancer is ours.
func (c *core) decide(ctx context.Context, st *serviceState, svc *v1.Service) (action, error) {
	if err := c.forgetRecreated(ctx, st, svc); err != nil {
		return actSkip, err
	}
	class := c.opts.LoadBalancerClass
	switch {
	case !servesClass(svc, class):
		if !maybeOrphaned(svc, class) {
			return actSkip, nil
		}
		if st.applied != nil {
			return actCleanup, nil
		}
		_, exists, err := c.cloud.GetLoadBalancer(ctx, c.opts.ClusterName, svc)
		switch {
		case errors.Is(err, cloudprovider.ImplementedElsewhere):
			return actSkip, nil
		case err != nil:
			return actSkip, withOp(opDelete, fmt.Errorf("checking whether the load balancer of this class-less Service is ours: %w", err))
		case exists:
			return actCleanup, nil
		}
		return actSkip, nil
	case needsCleanup(svc, class):
		return actCleanup, nil
	case !wantsLoadBalancer(svc, class) || svc.DeletionTimestamp != nil:
		// No finalizer (a finalizer cannot be added to a Service being deleted): clean up only
		// what we know exists, a load balancer we ensured or an ingress someone wrote.
		if st.applied != nil || len(svc.Status.LoadBalancer.Ingress) > 0 {
			return actCleanup, nil
		}
		return actSkip, nil
	default:
		return actEnsure, nil
	}
}

// forgetRecreated deletes the load balancer of a previous Service with the same name but
// another UID (possible only when our finalizer was removed by someone else) and resets st.
func (c *core) forgetRecreated(ctx context.Context, st *serviceState, svc *v1.Service) error {
	if st.uid == svc.UID {
		return nil
	}
	if st.uid != "" && st.applied != nil {
		klog.FromContext(ctx).Info("Service was re-created, deleting the previous load balancer", "previousUID", st.uid)
		err := c.cloud.EnsureLoadBalancerDeleted(ctx, c.opts.ClusterName, st.applied)
		if err != nil && !errors.Is(err, cloudprovider.ImplementedElsewhere) {
			return withOp(opDelete, fmt.Errorf("deleting the load balancer of the previous Service with UID %s: %w", st.uid, err))
		}
	}
	c.setState(st, "")
	st.uid, st.applied, st.nodes, st.reported, st.warned, st.noNodesWarned = svc.UID, nil, "", "", "", false
	return nil
}

// ensure creates or updates the load balancer of a Service that wants one.
func (c *core) ensure(ctx context.Context, key string, st *serviceState, svc, cached *v1.Service) error {
	// Parse before anything else: an invalid Service gets no finalizer and no cloud call.
	cfg, problems := annotations.Parse(svc, c.annotationCloud())
	if err := problems.Err(key); err != nil {
		return withOp(opEnsure, err)
	}
	c.warnOnce(svc, st, problems.Warnings())
	if st.state == "" {
		c.setState(st, statePending)
	}

	// A resync of an unchanged Service (drift repair, restart, leader change) stays quiet.
	changed := c.isChange(st, svc)
	if changed {
		c.events.Event(svc, v1.EventTypeNormal, ReasonEnsuringLoadBalancer, "Ensuring load balancer")
	}
	if !hasFinalizer(svc) {
		updated, err := c.writer.AddFinalizer(ctx, svc)
		if err != nil {
			return withOp(opEnsure, fmt.Errorf("adding finalizer %s: %w", Finalizer, err))
		}
		if len(updated.Status.LoadBalancer.Ingress) == 0 {
			// Nothing was provisioned for it yet: the provider may skip the reads that
			// look for load balancers of its own (providers.WithFirstEnsure).
			ctx = providers.WithFirstEnsure(ctx)
		}
		svc = updated
	}
	all, err := c.nodes()
	if err != nil {
		return withOp(opEnsure, fmt.Errorf("listing nodes: %w", err))
	}
	nodes := eligibleNodes(all, cfg.NodeLabels())
	c.observeNodes(svc, st, nodes)

	status, err := c.ensureLB(ctx, svc, cfg, nodes)
	refused := providers.AsReplacementRefused(err)
	if refused != nil && refused.Status != nil {
		// The guard kept the load balancer and converged the rest: a success with a Warning.
		status, err = refused.Status, nil
	}
	switch {
	case errors.Is(err, cloudprovider.ImplementedElsewhere):
		// As upstream: the finalizer stays (it was added above), the status is someone else's.
		klog.FromContext(ctx).V(4).Info("Load balancer is implemented elsewhere, not writing status")
		st.applied, st.nodes, st.reported = cached, newNodeSet(nodes), ""
		c.setState(st, "")
		return nil
	case err != nil:
		st.nodes = ""
		return withOp(opEnsure, err)
	case status == nil:
		st.nodes = ""
		return withOp(opEnsure, errors.New("the provider returned no status and no error"))
	}
	st.applied, st.nodes = cached, newNodeSet(nodes)
	if refused == nil {
		st.reported = ""
	}

	ingressChanged := !ingressEqual(svc.Status.LoadBalancer.Ingress, status.Ingress)
	if ingressChanged {
		if err := c.writer.PatchStatus(ctx, svc, status); err != nil {
			return withOp(opEnsure, fmt.Errorf("patching status: %w", err))
		}
	}
	c.setState(st, stateProvisioned)
	if changed || ingressChanged {
		c.events.Event(svc, v1.EventTypeNormal, ReasonEnsuredLoadBalancer, ensuredMessage(status))
	}
	if refused != nil {
		c.reportOnce(svc, st, v1.EventTypeWarning, ReasonReplacementRefused, refused.Error())
	}
	return nil
}

// observeNodes emits the UnAvailableLoadBalancer Warning when svc has no eligible node and it
// was not emitted since an eligible node was last seen (the caller holds st.mu).
func (c *core) observeNodes(svc *v1.Service, st *serviceState, nodes []*v1.Node) {
	if len(nodes) > 0 {
		st.noNodesWarned = false
		return
	}
	if st.noNodesWarned {
		return
	}
	st.noNodesWarned = true
	c.events.Event(svc, v1.EventTypeWarning, ReasonUnAvailableLoadBalancer, noNodesMessage)
}

// isChange reports whether an ensure of svc is a real change rather than a resync: it was
// never ensured and shows no sign of having been (finalizer and ingress), or it changed per
// needsUpdate since it was last ensured in this process.
func (c *core) isChange(st *serviceState, svc *v1.Service) bool {
	if st.applied != nil {
		return needsUpdate(st.applied, svc, c.opts.LoadBalancerClass)
	}
	return !hasFinalizer(svc) || len(svc.Status.LoadBalancer.Ingress) == 0
}

// warnOnce emits the annotation warnings once per distinct set.
func (c *core) warnOnce(svc *v1.Service, st *serviceState, warnings annotations.Problems) {
	if len(warnings) == 0 {
		st.warned = ""
		return
	}
	msg := annotationWarningMessage(warnings)
	if msg == st.warned {
		return
	}
	st.warned = msg
	c.events.Event(svc, v1.EventTypeWarning, ReasonAnnotationWarning, msg)
}

// cleanup deletes the load balancer, then removes the finalizer, then clears the status. The
// finalizer goes only after EnsureLoadBalancerDeleted succeeded; removing it before the status
// patch means the informer events our own writes cause never show the finalizer again, so
// they cannot queue a second cleanup.
func (c *core) cleanup(ctx context.Context, key string, st *serviceState, svc *v1.Service) error {
	c.events.Event(svc, v1.EventTypeNormal, ReasonDeletingLoadBalancer, "Deleting load balancer")
	err := c.cloud.EnsureLoadBalancerDeleted(ctx, c.opts.ClusterName, svc)
	if err != nil && !errors.Is(err, cloudprovider.ImplementedElsewhere) {
		return withOp(opDelete, err)
	}
	if hasFinalizer(svc) {
		if err := c.writer.RemoveFinalizer(ctx, svc); err != nil {
			return withOp(opDelete, fmt.Errorf("removing finalizer %s: %w", Finalizer, err))
		}
	}
	if len(svc.Status.LoadBalancer.Ingress) > 0 {
		if err := c.writer.PatchStatus(ctx, svc, &v1.LoadBalancerStatus{}); err != nil {
			return withOp(opDelete, fmt.Errorf("clearing status: %w", err))
		}
	}
	c.events.Event(svc, v1.EventTypeNormal, ReasonDeletedLoadBalancer, "Deleted load balancer")
	c.dropState(key, st)
	return nil
}

// syncGone handles a Service that no longer exists. With our finalizer that only happens after
// our cleanup; if we still remember ensuring it, someone removed the finalizer by hand and the
// load balancer would leak, so it is deleted from the remembered copy.
func (c *core) syncGone(ctx context.Context, key string) error {
	st := c.peekState(key)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.applied != nil {
		klog.FromContext(ctx).Info("Service is gone but its load balancer was not cleaned up, deleting it")
		start := time.Now()
		err := c.cloud.EnsureLoadBalancerDeleted(c.withAudit(ctx, st.applied, opDelete), c.opts.ClusterName, st.applied)
		if errors.Is(err, cloudprovider.ImplementedElsewhere) {
			err = nil
		}
		err = withOp(opDelete, err)
		observe(opDelete, start, err)
		if err != nil {
			c.report(st.applied, st, err)
			return err
		}
		c.events.Event(st.applied, v1.EventTypeNormal, ReasonDeletedLoadBalancer, "Deleted load balancer")
	}
	c.dropState(key, st)
	return nil
}

// report emits the Event for a failed sync and moves the Service's gauge state. User errors
// and waits are reported once per distinct message; transient errors every time (the event
// correlator aggregates repeats).
func (c *core) report(svc *v1.Service, st *serviceState, err error) {
	op := opOf(err)
	switch classify(err) {
	case classUser:
		c.setState(st, stateInvalid)
		reason, msg := failureReason(op), failureMessage(op, err)
		var invalid *annotations.InvalidError
		if errors.As(err, &invalid) {
			reason, msg = ReasonInvalidAnnotation, invalidAnnotationMessage(invalid.Problems)
		}
		c.reportOnce(svc, st, v1.EventTypeWarning, reason, msg)
	case classWait:
		c.setState(st, statePending)
		msg := "Waiting for load balancer: " + unwrapOp(err).Error()
		c.reportOnce(svc, st, v1.EventTypeNormal, ReasonWaitingForLoadBalancer, msg)
	case classTransient:
		c.setState(st, stateFailed)
		st.reported = ""
		c.events.Event(svc, v1.EventTypeWarning, failureReason(op), failureMessage(op, err))
	}
}

// reportOnce emits an Event unless it repeats the last user-error or wait message of the
// Service, so retries and drift repair of an unchanged problem stay quiet.
func (c *core) reportOnce(svc *v1.Service, st *serviceState, eventType, reason, msg string) {
	if msg == st.reported {
		return
	}
	st.reported = msg
	c.events.Event(svc, eventType, reason, msg)
}

// ingressEqual compares ingress lists semantically, ignoring order (providers need not
// report addresses in a stable order, and a reordering is not a change).
func ingressEqual(a, b []v1.LoadBalancerIngress) bool {
	if len(a) != len(b) {
		return false
	}
	return apiequality.Semantic.DeepEqual(sortedIngress(a), sortedIngress(b))
}

func sortedIngress(in []v1.LoadBalancerIngress) []v1.LoadBalancerIngress {
	out := slices.Clone(in)
	slices.SortFunc(out, func(x, y v1.LoadBalancerIngress) int {
		return cmp.Or(cmp.Compare(x.IP, y.IP), cmp.Compare(x.Hostname, y.Hostname))
	})
	return out
}
