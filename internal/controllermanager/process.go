package controllermanager

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cloudlb/cloudlb/internal/process"
)

// tailLines is how many log lines an error includes.
const tailLines = 40

// Process is a running cloudlb-controller-manager; release it with Stop.
type Process struct {
	proc *process.Process
	args []string
	dir  string // working directory, removed by Stop
	url  string // https://127.0.0.1:<secure port>

	stopOnce sync.Once
	stopErr  error
}

// URL returns the base URL of the secure port, https://127.0.0.1:<port> (self-signed certificate).
func (p *Process) URL() string { return p.url }

// PID returns the process ID, which is also its process group ID.
func (p *Process) PID() int { return p.proc.PID() }

// Args returns the command-line arguments the process was started with.
func (p *Process) Args() []string { return append([]string(nil), p.args...) }

// LogPath returns the file holding the process's output.
func (p *Process) LogPath() string { return p.proc.LogPath() }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.proc.Done() }

// Exited reports whether the process has terminated.
func (p *Process) Exited() bool { return p.proc.Exited() }

// Wait blocks until the process is reaped and returns how it exited: nil for status 0, an
// *exec.ExitError otherwise (also for a death by signal).
func (p *Process) Wait() error { return p.proc.Wait() }

// Kill simulates a crash: it SIGKILLs the process group and waits until the process is reaped.
// Call Stop afterwards to remove the working directory.
func (p *Process) Kill() error { return p.proc.Kill() }

// Stop sends SIGTERM to the process group, SIGKILLs it after 10 s, waits until it is reaped
// and removes the working directory. It is idempotent, and reports an exit that was neither
// caused by Kill nor by Stop, with the tail of the log.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		var errs []error
		exitedBefore := p.Exited()
		if err := p.proc.Stop(); err != nil {
			if exitedBefore { // an unexpected exit: the log tells why
				err = fmt.Errorf("%w\n--- last %d lines of %s ---\n%s", err, tailLines, p.LogPath(), p.Tail(tailLines))
			}
			errs = append(errs, err)
		}
		if err := os.RemoveAll(p.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove working directory: %w", err))
		}
		if err := errors.Join(errs...); err != nil {
			p.stopErr = fmt.Errorf("stop cloudlb-controller-manager: %w", err)
		}
	})
	return p.stopErr
}

// Tail returns the last n lines of the log, for error messages.
func (p *Process) Tail(n int) string { return p.proc.Tail(n) }

// CloudConfigPath returns the --cloud-config file written for the process.
func (p *Process) CloudConfigPath() string { return filepath.Join(p.dir, cloudConfigName) }
