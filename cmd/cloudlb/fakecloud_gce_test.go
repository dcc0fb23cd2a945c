package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer lets the test read what the server goroutine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeFakeGCE(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- serveFakeGCE(ctx, "127.0.0.1:0", &out) }()

	urlRE := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`)
	var url string
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(10 * time.Second)
poll:
	for {
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case <-tick.C:
		case <-timeout:
			break poll
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("no URL printed: %q", out.String())
	}
	resp, err := http.Get(url + "/compute/v1/projects/test-project/global/networks/default")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET default network: %d", resp.StatusCode)
	}
	resp, err = http.Get(url + "/compute/v1/projects/test-project/regions/us-central1/forwardingRules/missing")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET missing rule: %d, want 404", resp.StatusCode)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serveFakeGCE: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveFakeGCE did not return after cancel")
	}
	if !strings.Contains(out.String(), "project test-project, region us-central1") {
		t.Errorf("banner = %q", out.String())
	}
}
