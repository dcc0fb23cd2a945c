// Package controlplane starts a real etcd and a real kube-apiserver on free
// loopback ports, for integration tests and demos.
//
// The binaries are built by `make testbin` into <repo root>/bin/testbin; set
// CLOUDLB_TESTBIN or Options.BinDir to use another directory. There is no
// kube-controller-manager, scheduler or kubelet: objects are stored and
// validated (Services get ClusterIPs and NodePorts) but nothing reconciles them.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cloudlb/cloudlb/internal/process"
)

// DefaultStartTimeout bounds Start when Options.StartTimeout is zero.
const DefaultStartTimeout = 60 * time.Second

// tailLines is how many log lines a start-up error includes per process.
const tailLines = 40

// Options configures Start; the zero value is ready to use.
type Options struct {
	// Dir is the parent of the temporary working directory that Start creates and Stop removes; default os.TempDir().
	Dir string
	// BinDir holds the etcd and kube-apiserver binaries; default $CLOUDLB_TESTBIN, else <repo root>/bin/testbin.
	BinDir string
	// Stdout, if set, also receives both processes' standard output, each line prefixed with the process name.
	Stdout io.Writer
	// Stderr, if set, also receives both processes' standard error, each line prefixed with the process name.
	Stderr io.Writer
	// ExtraAPIServerFlags are appended to the kube-apiserver command line: scalar flags override the defaults, list flags add to them.
	ExtraAPIServerFlags []string
	// StartTimeout bounds the time from Start until the control plane is ready; default DefaultStartTimeout.
	StartTimeout time.Duration
}

// ControlPlane is a running etcd and kube-apiserver; release it with Stop.
type ControlPlane struct {
	opts          Options
	dir           string
	outMu         sync.Mutex // serializes writes to opts.Stdout and opts.Stderr
	etcd          *process.Process
	apiserver     *process.Process
	etcdURL       string
	admin, nobody *rest.Config
	kubeconfig    string
	stopOnce      sync.Once
	stopErr       error
}

// Start launches etcd and kube-apiserver and returns once the API server is ready
// and the default namespace exists; ctx bounds only the start-up.
func Start(ctx context.Context, opts Options) (_ *ControlPlane, err error) {
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("control plane not ready within %s", timeout))
	defer cancel()

	binDir, err := resolveBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	etcdBin, err := findBinary(binDir, "etcd")
	if err != nil {
		return nil, err
	}
	apiserverBin, err := findBinary(binDir, "kube-apiserver")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.Dir, "cloudlb-controlplane-")
	if err != nil {
		return nil, fmt.Errorf("create working directory: %w", err)
	}
	cp := &ControlPlane{opts: opts, dir: dir}
	defer func() {
		if err != nil {
			tails := cp.LogTails() // before shutdown noise is appended
			// An early exit is already reported by err; Stop's error would repeat it.
			_ = cp.Stop()
			if tails != "" {
				err = fmt.Errorf("%w\n%s", err, tails)
			}
		}
	}()

	// Generate the service account key while etcd starts.
	type credsResult struct {
		creds *credentials
		err   error
	}
	credsCh := make(chan credsResult, 1)
	go func() {
		creds, err := writeCredentials(dir)
		credsCh <- credsResult{creds, err}
	}()
	etcdErr := cp.startEtcd(ctx, etcdBin)
	res := <-credsCh
	if etcdErr != nil {
		return nil, fmt.Errorf("start etcd: %w", etcdErr)
	}
	if res.err != nil {
		return nil, fmt.Errorf("start kube-apiserver: %w", res.err)
	}
	if err := cp.startAPIServer(ctx, apiserverBin, res.creds); err != nil {
		return nil, fmt.Errorf("start kube-apiserver: %w", err)
	}
	return cp, nil
}

// PIDs returns the process IDs of etcd and kube-apiserver.
func (cp *ControlPlane) PIDs() (etcd, apiserver int) {
	return cp.etcd.PID(), cp.apiserver.PID()
}

// RESTConfig returns a new copy of the admin (group system:masters) client configuration.
func (cp *ControlPlane) RESTConfig() *rest.Config {
	return rest.CopyConfig(cp.admin)
}

// UnprivilegedRESTConfig returns a new copy of a client configuration for user "nobody", who is bound to no role.
func (cp *ControlPlane) UnprivilegedRESTConfig() *rest.Config {
	return rest.CopyConfig(cp.nobody)
}

// KubeconfigPath returns the path of an admin kubeconfig file, valid until Stop.
func (cp *ControlPlane) KubeconfigPath() string {
	return cp.kubeconfig
}

// Stop terminates kube-apiserver and etcd (SIGTERM, then SIGKILL after 10 s), waits for them
// and removes the working directory; it is idempotent and reports an earlier unexpected exit.
func (cp *ControlPlane) Stop() error {
	cp.stopOnce.Do(func() {
		err := cp.killProcesses()
		if rmErr := os.RemoveAll(cp.dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove working directory: %w", rmErr))
		}
		if err != nil {
			cp.stopErr = fmt.Errorf("stop control plane: %w", err)
		}
	})
	return cp.stopErr
}

// killProcesses stops kube-apiserver, then etcd (so the API server never runs without storage).
func (cp *ControlPlane) killProcesses() error {
	var errs []error
	for _, p := range []*process.Process{cp.apiserver, cp.etcd} {
		if p != nil {
			errs = append(errs, p.Stop())
		}
	}
	return errors.Join(errs...)
}

// LogTails returns the last lines of each started process's log.
func (cp *ControlPlane) LogTails() string {
	var b strings.Builder
	for _, p := range []*process.Process{cp.etcd, cp.apiserver} {
		if p != nil {
			fmt.Fprintf(&b, "--- last %d lines of %s ---\n%s\n", tailLines, p.LogPath(), p.Tail(tailLines))
		}
	}
	return b.String()
}

// startChild runs etcd or kube-apiserver with its log in the working directory and its output,
// prefixed with its name, copied to Options.Stdout and Options.Stderr. Both children share
// outMu, so their lines never interleave.
func (cp *ControlPlane) startChild(name, bin string, args []string) (*process.Process, error) {
	prefix := "[" + name + "] "
	return process.Start(process.Options{
		Name:    name,
		Path:    bin,
		Args:    args,
		LogPath: filepath.Join(cp.dir, name+".log"),
		Stdout:  process.NewLineWriter(&cp.outMu, cp.opts.Stdout, prefix),
		Stderr:  process.NewLineWriter(&cp.outMu, cp.opts.Stderr, prefix),
	})
}
