package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/providers"
)

// Phase is what one provider did in one phase.
type Phase struct {
	Counts
	// Services is how many Services the phase synced (the per-Service figures divide by it).
	Services int
	// Wall is the phase's elapsed time.
	Wall time.Duration
	// Retries is how many failed syncs were run again.
	Retries int
	// NA, when set, says why the phase was not run for this provider.
	NA string
}

// PerService is the calls per Service of the phase.
func (p Phase) PerService() float64 {
	if p.Services == 0 {
		return 0
	}
	return float64(p.Total()) / float64(p.Services)
}

// Row is one phase for both providers.
type Row struct {
	Step           string
	Ours, Upstream Phase
}

// restartPhase names the pass of a freshly built provider over the converged Services.
const restartPhase = "restart pass"

// fleet is the Services of one run: n Classic and n NLB, with distinct UIDs and NodePorts.
type fleet struct {
	classic, nlb []*v1.Service
}

func newFleet(prefix string, n int) fleet {
	f := fleet{classic: make([]*v1.Service, n), nlb: make([]*v1.Service, n)}
	for i := range n {
		f.classic[i] = service(prefix, fmt.Sprintf("clb%04d", i), i, nil)
		f.nlb[i] = service(prefix, fmt.Sprintf("nlb%04d", i), n+i, map[string]string{lbType: "nlb"})
	}
	return f
}

func (f fleet) all() []*v1.Service { return append(append([]*v1.Service(nil), f.classic...), f.nlb...) }

// attempts bounds the syncs of one Service in one phase. The service controller requeues a
// Service whose sync failed; the harness retries at once, up to this many times in all.
// Upstream needs it at 10 workers: concurrent NLB creates race to add the same ICMP rule to
// the node group and the loser gets InvalidPermission.Duplicate.
const attempts = 5

// forEach calls do for every Service on workers goroutines, as the service controller's
// workers do, retrying a failed Service (attempts), and returns how many syncs were
// retried and the first error that outlived its retries.
func forEach(workers int, svcs []*v1.Service, do func(*v1.Service) error) (int, error) {
	next := make(chan *v1.Service)
	var (
		wg      sync.WaitGroup
		once    sync.Once
		first   error
		retried atomic.Int64
	)
	for range max(workers, 1) {
		wg.Go(func() {
			for s := range next {
				err := do(s)
				for range attempts - 1 {
					if err == nil {
						break
					}
					retried.Add(1)
					err = do(s)
				}
				if err != nil {
					once.Do(func() { first = fmt.Errorf("%s: %w", s.Name, err) })
				}
			}
		})
	}
	for _, s := range svcs {
		next <- s
	}
	close(next)
	wg.Wait()
	return int(retried.Load()), first
}

// errNA marks a phase the provider cannot run.
type errNA string

func (e errNA) Error() string { return string(e) }

// runner runs the phases of one provider on its own fakeaws.
type runner struct {
	e       *env
	workers int
	phases  []Phase
	steps   []string
	// progress, when set, sees each phase as it ends.
	progress func(step string, p Phase)
}

// phase runs do over svcs and records the calls and time it took; do's errNA marks the
// phase not available instead of failing the run.
func (r *runner) phase(name string, svcs int, do func() (int, error)) error {
	r.e.srv.ResetCalls()
	start := time.Now()
	retries, err := do()
	wall := time.Since(start)
	p := Phase{Counts: r.e.counts(), Services: svcs, Wall: wall, Retries: retries}
	if na, ok := errors.AsType[errNA](err); ok {
		p = Phase{Services: svcs, NA: string(na)}
	} else if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r.steps = append(r.steps, name)
	r.phases = append(r.phases, p)
	if r.progress != nil {
		r.progress(name, p)
	}
	return nil
}

// provider is one side of the comparison.
type provider struct {
	// build makes an instance of the provider on the env's fake.
	build func(*env) (cloudprovider.LoadBalancer, error)
	// list: the restart pass lists first (providers.Lister) and is not available without it.
	list bool
}

// sequence runs the phases against an instance of p on e, and the restart pass against a
// second one. The phases after the restart pass use the first instance again: they measure
// a warm controller. prefix keeps the providers' load balancer names apart (they derive them from
// the Service UID).
func sequence(ctx context.Context, e *env, p provider, prefix string, n, workers int, progress func(string, Phase)) ([]string, []Phase, error) {
	r := &runner{e: e, workers: workers, progress: progress}
	lb, err := p.build(e)
	if err != nil {
		return nil, nil, err
	}
	// The restarted instance is built now so that its construction is not counted; it
	// makes no call before the restart pass.
	restarted, err := p.build(e)
	if err != nil {
		return nil, nil, fmt.Errorf("second instance: %w", err)
	}
	e.srv.ResetCalls() // construction is not a phase
	three, four := e.nodes(3), e.nodes(4)
	f := newFleet(prefix, n)
	ensure := func(lb cloudprovider.LoadBalancer, ctx context.Context, nodes []*v1.Node) func(*v1.Service) error {
		return func(s *v1.Service) error { _, err := lb.EnsureLoadBalancer(ctx, cluster, s, nodes); return err }
	}
	// A create is the Service's first sync: the controller has just added its finalizer and
	// marks the ensure (providers.WithFirstEnsure; upstream's provider ignores the mark). A
	// retry is not marked, as the controller's requeued sync is not.
	create := func(lb cloudprovider.LoadBalancer, nodes []*v1.Node) func(*v1.Service) error {
		var tried sync.Map
		return func(s *v1.Service) error {
			c := ctx
			if _, again := tried.LoadOrStore(s.UID, true); !again {
				c = providers.WithFirstEnsure(ctx)
			}
			_, err := lb.EnsureLoadBalancer(c, cluster, s, nodes)
			return err
		}
	}
	over := func(svcs []*v1.Service, do func(*v1.Service) error) func() (int, error) {
		return func() (int, error) { return forEach(workers, svcs, do) }
	}
	update := func(s *v1.Service) error { return lb.UpdateLoadBalancer(ctx, cluster, s, four) }
	remove := func(s *v1.Service) error { return lb.EnsureLoadBalancerDeleted(ctx, cluster, s) }
	steps := []struct {
		name string
		svcs []*v1.Service
		do   func() (int, error)
	}{
		{"create Classic", f.classic, over(f.classic, create(lb, three))},
		{"create NLB", f.nlb, over(f.nlb, create(lb, three))},
		{"no-op Classic", f.classic, over(f.classic, ensure(lb, ctx, three))},
		{"no-op NLB", f.nlb, over(f.nlb, ensure(lb, ctx, three))},
		{restartPhase, f.all(), func() (int, error) { return restart(ctx, restarted, p.list, f.all(), three, workers) }},
		{"node add Classic", f.classic, over(f.classic, update)},
		{"node add NLB", f.nlb, over(f.nlb, update)},
		{"delete Classic", f.classic, over(f.classic, remove)},
		{"delete NLB", f.nlb, over(f.nlb, remove)},
	}
	for _, s := range steps {
		if err := r.phase(s.name, len(s.svcs), s.do); err != nil {
			return nil, nil, err
		}
	}
	return r.steps, r.phases, nil
}

// restart takes a second instance of the provider (empty caches, as after a controller
// restart or a change of leader) and ensures every converged Service once more. A provider that
// implements providers.Lister first lists the cluster's load balancers once and each Ensure
// reads the listing from its context, as the controller's first pass does; one that does not
// observes each load balancer on its own, unless list says the pass is meant to measure the
// listing.
func restart(ctx context.Context, lb cloudprovider.LoadBalancer, list bool, svcs []*v1.Service, nodes []*v1.Node, workers int) (int, error) {
	if l, ok := lb.(providers.Lister); ok {
		listing, err := l.ListLoadBalancers(ctx, cluster)
		if err != nil {
			return 0, fmt.Errorf("listing: %w", err)
		}
		ctx = providers.WithListing(ctx, listing)
	} else if list {
		return 0, errNA(fmt.Sprintf("not available: %T does not implement providers.Lister", lb))
	}
	return forEach(workers, svcs, func(s *v1.Service) error {
		_, err := lb.EnsureLoadBalancer(ctx, cluster, s, nodes)
		return err
	})
}
