package azure

import (
	"sync"
	"testing"
)

func TestKeyedMutexIsPerKey(t *testing.T) {
	t.Parallel()
	var k keyedMutex
	unlockA := k.lock("lb:rg/demo")
	// A process-wide lock would deadlock here.
	unlockB := k.lock("lb:rg/demo-internal")
	unlockB()
	// The same key is exclusive: a second holder gets it only after the first unlocks.
	var order []string
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		u := k.lock("lb:rg/demo")
		mu.Lock()
		order = append(order, "second")
		mu.Unlock()
		u()
	}()
	mu.Lock()
	order = append(order, "first")
	mu.Unlock()
	unlockA()
	<-done
	if len(order) != 2 || order[0] != "first" {
		t.Errorf("order %v: the second holder ran while the first held the lock", order)
	}
}
