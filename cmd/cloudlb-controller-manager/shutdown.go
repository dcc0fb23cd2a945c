package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// controllerStopTimeout bounds how long main waits for our controllers to return after a
// signal: in-flight cloud calls see a cancelled context, so they end quickly; the bound stays
// well below a Pod's default 30 s termination grace period.
const controllerStopTimeout = 5 * time.Second

// shutdown turns SIGTERM and SIGINT into a clean stop.
//
// k8s.io/cloud-provider/app (v0.37.2) takes only a stop channel: closing it stops the secure
// port, flushes the event broadcaster and makes the command return. It cannot release the
// leader-election Lease: app.leaderElectAndRun calls leaderelection.RunOrDie with
// context.TODO() and without ReleaseOnCancel, and its lock identity (hostname plus a random
// UUID) never leaves the package. Nor does it cancel the context the controllers run under
// when leading. So shutdown also cancels our own controllers and lets main wait for them;
// the next leader still waits for the Lease to expire (--leader-elect-lease-duration).
type shutdown struct {
	ctx     context.Context // cancelled on the first signal, or by finish
	cancel  context.CancelFunc
	running sync.WaitGroup // the controllers started by goRun
}

// newShutdown returns a shutdown that no signal triggers yet (see onSignals).
func newShutdown() *shutdown {
	ctx, cancel := context.WithCancel(context.Background())
	return &shutdown{ctx: ctx, cancel: cancel}
}

// onSignals triggers the shutdown on the first SIGTERM or SIGINT and exits at once on the
// second, for an operator who does not want to wait.
func (s *shutdown) onSignals() {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
	go func() {
		sig := <-signals
		klog.InfoS("Shutting down: stopping the controllers (the leader-election Lease is not released)", "signal", sig.String())
		s.cancel()
		sig = <-signals
		klog.InfoS("Second signal, exiting at once", "signal", sig.String())
		klog.FlushAndExit(klog.ExitFlushTimeout, 1)
	}()
}

// stop is closed when the shutdown begins: the upstream command's stop channel.
func (s *shutdown) stop() <-chan struct{} { return s.ctx.Done() }

// goRun runs run in a goroutine under ctx, which the shutdown also cancels, and tracks it for
// finish. Once the shutdown has begun it starts nothing.
func (s *shutdown) goRun(ctx context.Context, run func(context.Context)) {
	if s.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	stopAfter := context.AfterFunc(s.ctx, cancel)
	s.running.Go(func() {
		defer cancel()
		defer stopAfter()
		run(ctx)
	})
}

// finish cancels the controllers started by goRun and waits up to timeout for them to
// return; it reports whether they did.
func (s *shutdown) finish(timeout time.Duration) bool {
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}
