package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cloudlb/cloudlb/internal/process"
)

const (
	// pollInterval is how often readiness conditions are re-checked.
	pollInterval = 50 * time.Millisecond
	// portAttempts is how often a process is restarted when a free-picked port got taken meanwhile.
	portAttempts = 3
	// etcdQuotaBytes caps etcd's backend at 512 MiB: plenty for tests, small enough to surface runaway writes.
	etcdQuotaBytes = 512 << 20
)

// startEtcd runs a single-member etcd on free loopback ports and waits until it is healthy.
func (cp *ControlPlane) startEtcd(ctx context.Context, bin string) error {
	dataDir := filepath.Join(cp.dir, "etcd-data")
	for attempt := 1; ; attempt++ {
		ports, err := process.FreePorts(2)
		if err != nil {
			return err
		}
		clientURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
		peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
		if err := os.RemoveAll(dataDir); err != nil {
			return fmt.Errorf("clean data dir: %w", err)
		}
		args := []string{
			"--name=controlplane",
			"--data-dir=" + dataDir,
			"--listen-client-urls=" + clientURL,
			"--advertise-client-urls=" + clientURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=controlplane=" + peerURL,
			"--initial-cluster-state=new",
			"--initial-cluster-token=cloudlb-controlplane",
			"--unsafe-no-fsync=true",
			"--quota-backend-bytes=" + strconv.Itoa(etcdQuotaBytes),
		}
		p, err := cp.startChild("etcd", bin, args)
		if err != nil {
			return err
		}
		cp.etcd = p
		err = poll(ctx, []*process.Process{p}, func(ctx context.Context) error { return etcdHealthy(ctx, clientURL) })
		if err == nil {
			cp.etcdURL = clientURL
			return nil
		}
		if attempt < portAttempts && p.Exited() && p.LogContains("address already in use") {
			_ = p.Stop() // reaped already; clears the unexpected-exit report
			continue
		}
		return err
	}
}

// etcdHealthy returns nil once etcd's /health endpoint reports {"health":"true"}.
func etcdHealthy(ctx context.Context, clientURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return err
	}
	var health struct {
		Health string `json:"health"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &health) != nil || health.Health != "true" {
		return fmt.Errorf("GET /health: %s: %s", resp.Status, body)
	}
	return nil
}

// poll calls check every pollInterval until it returns nil, ctx ends, or one of
// procs exits. The returned error includes check's last error.
func poll(ctx context.Context, procs []*process.Process, check func(context.Context) error) error {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		for _, p := range procs {
			if p.Exited() {
				return p.ExitError()
			}
		}
		attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		lastErr := check(attemptCtx)
		cancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(context.Cause(ctx), fmt.Errorf("last check: %w", lastErr))
		case <-ticker.C:
		}
	}
}
