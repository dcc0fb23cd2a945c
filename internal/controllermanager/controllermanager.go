// Package controllermanager runs cloudlb-controller-manager as a separate process against a
// control plane (see internal/controlplane), for the demo and the end-to-end tests.
//
// The process runs the fake cloud provider with a --cloud-config written from a fake.Config,
// serves /healthz on a free loopback --secure-port, and is ready once /healthz answers 200.
// Kill simulates a crash (SIGKILL); Stop shuts it down (SIGTERM, then SIGKILL). The child runs
// in its own process group with a parent-death signal, so nothing outlives the caller.
package controllermanager

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/internal/process"
	"github.com/cloudlb/cloudlb/providers/fake"
)

// DefaultStartTimeout bounds Start when Options.StartTimeout is zero.
const DefaultStartTimeout = 30 * time.Second

const (
	// pollInterval is how often /healthz is probed during start-up.
	pollInterval = 50 * time.Millisecond
	// portAttempts is how often Start retries when the free-picked port got taken meanwhile.
	portAttempts = 3
	// cloudConfigName is the file, in the working directory, holding the fake provider's config.
	cloudConfigName = "cloud-config.yaml"
)

// Options configures Start. Kubeconfig is required; the rest has defaults.
type Options struct {
	// Binary is the cloudlb-controller-manager executable; default: next to os.Executable(),
	// else <repo root>/bin (built by `make build`).
	Binary string
	// Kubeconfig is the admin kubeconfig of the control plane. It is also used for delegated
	// authentication and authorization of the secure port.
	Kubeconfig string
	// CloudConfig is written as YAML to the working directory and passed as --cloud-config
	// (--cloud-provider=fake). Set StatePath to share the cloud with other processes or to read
	// it back with fake.New(fake.Config{StatePath: ...}).LoadBalancers().
	CloudConfig fake.Config
	// CloudProvider is --cloud-provider; "" is the fake provider.
	CloudProvider string
	// RawCloudConfig, if set, is written verbatim as --cloud-config instead of CloudConfig
	// (for another provider, such as the aws INI).
	RawCloudConfig string
	// Env is added to the process's environment (KEY=value), e.g. AWS_ENDPOINT_URL.
	Env []string
	// ClusterName is --cluster-name; "" keeps the binary's default ("kubernetes").
	ClusterName string
	// Controllers is --controllers; nil runs only the service controller ("service"), as the
	// fake cloud implements nothing else.
	Controllers []string
	// LeaderElect is --leader-elect.
	LeaderElect bool
	// LeaseName is --leader-elect-resource-name; "" keeps the binary's default.
	LeaseName string
	// LeaseDuration, RenewDeadline and RetryPeriod set the --leader-elect-* timings; zero keeps
	// the binary's defaults (15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ExtraArgs are appended to the command line; a scalar flag given again overrides ours.
	ExtraArgs []string
	// Dir is the parent of the working directory (cloud config, default log) that Start creates
	// and Stop removes; default os.TempDir().
	Dir string
	// LogPath receives the process's output; default <working directory>/cloudlb-controller-manager.log,
	// removed by Stop. Set it to keep the log.
	LogPath string
	// Stdout and Stderr, if set, also receive the process's output, each line prefixed with LogPrefix.
	Stdout, Stderr io.Writer
	// LogPrefix starts each line copied to Stdout and Stderr; default "[cloudlb-controller-manager] ".
	LogPrefix string
	// StartTimeout bounds Start until /healthz answers 200; default DefaultStartTimeout.
	StartTimeout time.Duration
}

// Start runs cloudlb-controller-manager and returns once its /healthz answers 200; ctx bounds
// only the start-up. The caller must call Stop (also after Kill) to release the process and
// its working directory.
func Start(ctx context.Context, opts Options) (_ *Process, err error) {
	if opts.Kubeconfig == "" {
		return nil, errors.New("start cloudlb-controller-manager: Options.Kubeconfig is required")
	}
	bin, err := ResolveBinary(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("start cloudlb-controller-manager: %w", err)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("/healthz not ready within %s", timeout))
	defer cancel()

	dir, err := os.MkdirTemp(opts.Dir, "cloudlb-controller-manager-")
	if err != nil {
		return nil, fmt.Errorf("start cloudlb-controller-manager: create working directory: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	cloudConfig := filepath.Join(dir, cloudConfigName)
	if opts.RawCloudConfig != "" {
		if err := os.WriteFile(cloudConfig, []byte(opts.RawCloudConfig), 0o600); err != nil {
			return nil, fmt.Errorf("start cloudlb-controller-manager: write the cloud config: %w", err)
		}
	} else if err := writeCloudConfig(cloudConfig, opts.CloudConfig); err != nil {
		return nil, fmt.Errorf("start cloudlb-controller-manager: %w", err)
	}
	logPath := opts.LogPath
	if logPath == "" {
		logPath = filepath.Join(dir, "cloudlb-controller-manager.log")
	}
	prefix := opts.LogPrefix
	if prefix == "" {
		prefix = "[cloudlb-controller-manager] "
	}

	for attempt := 1; ; attempt++ {
		ports, err := process.FreePorts(1)
		if err != nil {
			return nil, fmt.Errorf("start cloudlb-controller-manager: %w", err)
		}
		args := buildArgs(opts, cloudConfig, ports[0])
		var outMu sync.Mutex // one lock for both writers, so their lines never interleave
		proc, err := process.Start(process.Options{
			Name:      BinaryName,
			Path:      bin,
			Args:      args,
			LogPath:   logPath,
			AppendLog: true, // a caller's LogPath may collect several runs
			Env:       opts.Env,
			Stdout:    process.NewLineWriter(&outMu, opts.Stdout, prefix),
			Stderr:    process.NewLineWriter(&outMu, opts.Stderr, prefix),
		})
		if err != nil {
			return nil, fmt.Errorf("start cloudlb-controller-manager: %w", err)
		}
		p := &Process{proc: proc, args: args, dir: dir, url: "https://127.0.0.1:" + strconv.Itoa(ports[0])}
		err = p.waitHealthy(ctx)
		if err == nil {
			return p, nil
		}
		tail := p.Tail(tailLines) // before the shutdown appends to the log
		retry := attempt < portAttempts && p.Exited() && proc.LogContains("address already in use")
		_ = proc.Stop() // the error is err, with the tail
		if retry {
			continue
		}
		return nil, fmt.Errorf("start cloudlb-controller-manager: %w\n--- last %d lines of %s ---\n%s", err, tailLines, logPath, tail)
	}
}

// buildArgs returns the command line for opts; the extra arguments come last so they win.
func buildArgs(opts Options, cloudConfig string, port int) []string {
	controllers := opts.Controllers
	if controllers == nil {
		controllers = []string{"service"}
	}
	provider := opts.CloudProvider
	if provider == "" {
		provider = fake.ProviderName
	}
	args := []string{
		"--cloud-provider=" + provider,
		"--cloud-config=" + cloudConfig,
		"--kubeconfig=" + opts.Kubeconfig,
		// Without these the secure port would look for in-cluster credentials to delegate
		// authentication and authorization (for /metrics; /healthz is always allowed).
		"--authentication-kubeconfig=" + opts.Kubeconfig,
		"--authorization-kubeconfig=" + opts.Kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--controllers=" + strings.Join(controllers, ","),
		"--leader-elect=" + strconv.FormatBool(opts.LeaderElect),
	}
	if opts.ClusterName != "" {
		args = append(args, "--cluster-name="+opts.ClusterName)
	}
	if opts.LeaseName != "" {
		args = append(args, "--leader-elect-resource-name="+opts.LeaseName)
	}
	for flag, d := range map[string]time.Duration{
		"--leader-elect-lease-duration": opts.LeaseDuration,
		"--leader-elect-renew-deadline": opts.RenewDeadline,
		"--leader-elect-retry-period":   opts.RetryPeriod,
	} {
		if d > 0 {
			args = append(args, flag+"="+d.String())
		}
	}
	return append(args, opts.ExtraArgs...)
}

// writeCloudConfig writes cfg as the fake provider's YAML --cloud-config.
func writeCloudConfig(path string, cfg fake.Config) error {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("marshal the fake cloud config: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write the fake cloud config: %w", err)
	}
	return nil
}

// waitHealthy polls /healthz until it answers 200, ctx ends or the process exits.
func (p *Process) waitHealthy(ctx context.Context) error {
	// The serving certificate is self-signed in memory by the process; there is nothing to
	// verify it against, and the connection never leaves loopback.
	transport := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 2 * time.Second}
	var lastErr error
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		if p.Exited() {
			return false, p.proc.ExitError()
		}
		lastErr = healthz(ctx, client, p.url)
		return lastErr == nil, nil
	})
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && lastErr != nil {
			return fmt.Errorf("%w (last check: %w)", cause, lastErr)
		}
		return err
	}
	return nil
}

// healthz returns nil when GET base/healthz answers 200.
func healthz(ctx context.Context, client *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /healthz: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
