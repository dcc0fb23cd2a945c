package fake

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// writerEnv makes the test binary, started by TestStateSurvivesKill, write to the state file
// named by its value until it is killed.
const writerEnv = "CLOUDLB_FAKE_WRITER_STATE"

// TestStateSurvivesKill kills a process that is writing the state file as fast as it can and
// checks that the state left behind is whole and usable by a new process.
func TestStateSurvivesKill(t *testing.T) {
	if path := os.Getenv(writerEnv); path != "" {
		writeUntilKilled(t, path)
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "fake.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStateSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), writerEnv+"="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	observer := newCloud(t, Config{StatePath: path})
	deadline := time.Now().Add(30 * time.Second)
	for {
		lbs, err := observer.LoadBalancers()
		if err != nil {
			t.Fatalf("reading the state while it is written: %v", err)
		}
		if len(lbs) >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the writer made only %d load balancers in 30s", len(lbs))
		}
		time.Sleep(time.Millisecond) // polling the writer's progress
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	restarted := newCloud(t, Config{StatePath: path})
	lbs, err := restarted.LoadBalancers()
	if err != nil {
		t.Fatalf("state after the kill: %v", err)
	}
	seen := map[string]bool{}
	for _, lb := range lbs {
		if seen[lb.IP] || lb.IP == "" {
			t.Errorf("address %q of %s is empty or given twice", lb.IP, lb.Name)
		}
		seen[lb.IP] = true
	}
	// The dead writer's lock is gone: a write succeeds at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := restarted.EnsureLoadBalancer(ctx, testCluster, newService("after-kill"), nil); err != nil {
		t.Errorf("Ensure after the kill: %v", err)
	}
}

// writeUntilKilled creates and deletes load balancers in a loop; it gives up after a minute in
// case its parent died without killing it.
func writeUntilKilled(t *testing.T, path string) {
	c := newCloud(t, Config{StatePath: path})
	ctx := context.Background()
	started := time.Now()
	for i := 0; time.Since(started) < time.Minute; i++ {
		svc := newService(fmt.Sprintf("svc-%d", i%64))
		if i%3 == 2 {
			if err := c.EnsureLoadBalancerDeleted(ctx, testCluster, svc); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := c.EnsureLoadBalancer(ctx, testCluster, svc, nodes(fmt.Sprintf("n%d", i%5))); err != nil {
			t.Fatal(err)
		}
	}
}
