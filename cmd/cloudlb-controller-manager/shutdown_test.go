package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestShutdownStopsControllers(t *testing.T) {
	t.Parallel()
	sd := newShutdown()
	var stopped atomic.Bool
	// The parent context never ends: as under the upstream app's leader election.
	sd.goRun(context.Background(), func(ctx context.Context) {
		<-ctx.Done()
		stopped.Store(true)
	})
	select {
	case <-sd.stop():
		t.Fatal("stop channel closed before the shutdown")
	default:
	}
	if !sd.finish(10 * time.Second) {
		t.Fatal("finish: the controller did not return")
	}
	if !stopped.Load() {
		t.Error("finish returned before the controller did")
	}
	select {
	case <-sd.stop():
	default:
		t.Error("stop channel still open after finish")
	}
	// A controller that would start now (a leadership won during the shutdown) is not started.
	ran := false
	sd.goRun(context.Background(), func(context.Context) { ran = true })
	if !sd.finish(time.Second) || ran {
		t.Errorf("goRun after the shutdown ran the controller (%t)", ran)
	}
}

func TestShutdownGivesUpOnAStuckController(t *testing.T) {
	t.Parallel()
	sd := newShutdown()
	release := make(chan struct{})
	defer close(release)
	sd.goRun(context.Background(), func(context.Context) { <-release })
	if sd.finish(20 * time.Millisecond) {
		t.Error("finish reported a stuck controller as stopped")
	}
}
