package fakecore

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kind is what a call does, as the fake classifies it.
type Kind uint8

const (
	// Read changes nothing (Describe*, Get, List, ...).
	Read Kind = iota
	// Write changes state, or would when not faulted.
	Write
	// Poll reads the status of a long-running operation (ARM async operations, Compute
	// operations); it is neither counted among Reads nor among Writes.
	Poll
)

// Tally is a copy of the counters since the last ResetCalls, keyed by plain strings for
// code that serves every fake.
type Tally struct {
	// Calls counts every call by operation key, faulted ones included.
	Calls map[string]int
	// Reads, Writes and Polls count the calls by Kind.
	Reads, Writes, Polls int
	// Throttled counts the calls answered with an injected throttling error; Failed those
	// answered with another injected error, at once or in their operation; Lost the writes
	// that ran and whose answer was lost.
	Throttled, Failed, Lost int
	// Buckets counts the writes of each request-rate bucket (Config.Bucket; "" when it is
	// nil), so that a benchmark can tell how many tokens each bucket gave out.
	Buckets map[string]BucketTally
}

// BucketTally counts the writes of one request-rate bucket.
type BucketTally struct {
	// Writes counts the bucket's writes, faulted ones included.
	Writes int
	// RateLimited counts those refused by Faults.WriteRateLimit; Writes - RateLimited took a
	// token from the bucket (when a limit is set).
	RateLimited int
}

// String renders the calls sorted, "key N" a line.
func (t Tally) String() string { return Summary(t.Calls) }

// Calls returns a copy of the call counters by operation key, faulted calls included.
func (e *Endpoint[K]) Calls() map[K]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.calls)
}

// CallCount is the number of calls of one operation.
func (e *Endpoint[K]) CallCount(op K) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[op]
}

// Writes is the number of calls of Kind Write, faulted ones included.
func (e *Endpoint[K]) Writes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.kinds[Write]
}

// Reads is the number of calls of Kind Read (operation polls are not reads).
func (e *Endpoint[K]) Reads() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.kinds[Read]
}

// Tally returns every counter at once.
func (e *Endpoint[K]) Tally() Tally {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := Tally{Calls: make(map[string]int, len(e.calls)), Reads: e.kinds[Read], Writes: e.kinds[Write], Polls: e.kinds[Poll],
		Throttled: e.throttled, Failed: e.failed, Lost: e.lost, Buckets: maps.Clone(e.bucketWrites)}
	for k, n := range e.calls {
		t.Calls[string(k)] = n
	}
	return t
}

// ResetCalls zeroes every counter; Config.OnCall keeps seeing calls.
func (e *Endpoint[K]) ResetCalls() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetLocked()
}

func (e *Endpoint[K]) resetLocked() {
	e.calls = map[K]int{}
	e.kinds = map[Kind]int{}
	e.throttled, e.failed, e.lost = 0, 0, 0
	e.bucketWrites = map[string]BucketTally{}
	if e.next == nil {
		e.next = map[K][]error{}
	}
}

// countInjected counts the fault of an Outcome, under e.mu.
func (e *Endpoint[K]) countInjected(o Outcome) {
	switch {
	case o.Lose:
		e.lost++
	case o.Err == ErrThrottled:
		e.throttled++
	case o.Err != nil:
		e.failed++
	}
}

// Summary renders call counters sorted by key, "key N" a line.
func Summary[K ~string](calls map[K]int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(calls)) {
		fmt.Fprintf(&b, "%s %d\n", k, calls[k])
	}
	return b.String()
}
