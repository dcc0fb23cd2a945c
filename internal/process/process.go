package process

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultStopGrace is how long a process may take to exit after SIGTERM before Stop SIGKILLs
// it, when Options.StopGrace is zero.
const DefaultStopGrace = 10 * time.Second

// waitDelay bounds the copying of output after the child exited, in case a grandchild still
// holds the pipes.
const waitDelay = 2 * time.Second

// maxTail is how much of the end of the log Tail reads at most.
const maxTail = 64 << 10

// Options configures Start. Name, Path and LogPath are required.
type Options struct {
	// Name identifies the process in errors, e.g. "etcd".
	Name string
	// Path is the executable; Args its arguments (without the program name).
	Path string
	Args []string
	// LogPath receives the process's standard output and error.
	LogPath string
	// AppendLog keeps what LogPath already holds; otherwise it is truncated. LogContains reads
	// only what this process wrote either way.
	AppendLog bool
	// Stdout and Stderr, if set, also receive the output as it is written (see NewLineWriter).
	Stdout, Stderr io.Writer
	// StopGrace is how long Stop waits after SIGTERM before it SIGKILLs the group; default
	// DefaultStopGrace.
	StopGrace time.Duration
	// Env is added to this process's environment (KEY=value; a later entry wins).
	Env []string
}

// Process is a running child in its own process group; release it with Stop.
type Process struct {
	name      string
	cmd       *exec.Cmd
	logPath   string
	logFrom   int64 // size of the log before this process wrote to it
	stopGrace time.Duration

	done    chan struct{} // closed once the process has been reaped
	waitErr error         // result of cmd.Wait, valid after done is closed

	mu       sync.Mutex
	signaled bool // Stop or Kill signalled the process: its exit is expected
	stopOnce sync.Once
	stopErr  error
}

// Start runs the process and returns once it has started; it does not wait for readiness.
func Start(opts Options) (*Process, error) {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if opts.AppendLog {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	logFile, err := os.OpenFile(opts.LogPath, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the %s log: %w", opts.Name, err)
	}
	var logFrom int64
	if fi, err := logFile.Stat(); err == nil {
		logFrom = fi.Size()
	}
	cmd := exec.Command(opts.Path, opts.Args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if len(opts.Env) > 0 {
		cmd.Env = append(os.Environ(), opts.Env...)
	}
	if opts.Stdout != nil {
		cmd.Stdout = io.MultiWriter(logFile, opts.Stdout)
	}
	if opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(logFile, opts.Stderr)
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("run %s: %w", opts.Path, err)
	}
	grace := opts.StopGrace
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	p := &Process{
		name: opts.Name, cmd: cmd, logPath: opts.LogPath, logFrom: logFrom, stopGrace: grace,
		done: make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// PID returns the process ID, which is also its process group ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// LogPath returns the file holding the process's output.
func (p *Process) LogPath() string { return p.logPath }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has terminated.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitError describes an exit as unexpected; call it only after Exited returns true.
func (p *Process) ExitError() error {
	if p.waitErr == nil {
		return fmt.Errorf("%s exited unexpectedly with status 0", p.name)
	}
	return fmt.Errorf("%s exited unexpectedly: %w", p.name, p.waitErr)
}

// Wait blocks until the process is reaped and returns the result of exec.Cmd.Wait: nil for
// a clean exit, an *exec.ExitError otherwise.
func (p *Process) Wait() error {
	<-p.done
	return p.waitErr
}

// Kill SIGKILLs the process group, as a crash would, and waits until the process is reaped.
// Stop afterwards reports no error for this exit.
func (p *Process) Kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.done
	return nil
}

// Stop sends SIGTERM to the process group, SIGKILLs it after the stop grace and waits until
// the process is reaped. It is idempotent and reports, with ExitError, an exit that neither
// Stop nor Kill caused.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		expected := p.signaled
		p.mu.Unlock()
		if p.Exited() {
			if !expected {
				p.stopErr = p.ExitError()
			}
			return
		}
		p.stopErr = p.terminate()
	})
	return p.stopErr
}

// terminate sends SIGTERM, SIGKILLs after the stop grace and waits for the process to be reaped.
func (p *Process) terminate() error {
	if err := p.signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("terminate %s: %w", p.name, err)
	}
	timer := time.NewTimer(p.stopGrace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s after %s: %w", p.name, p.stopGrace, err)
	}
	<-p.done
	return nil
}

// signal sends sig to the process group unless the process is already gone.
func (p *Process) signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	p.mu.Lock()
	p.signaled = true
	p.mu.Unlock()
	// Setpgid made the child its group's leader, so -pid addresses the whole group.
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// LogContains reports whether the part of the log this process wrote contains s.
func (p *Process) LogContains(s string) bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && int64(len(data)) >= p.logFrom && bytes.Contains(data[p.logFrom:], []byte(s))
}

// Tail returns the last n lines of the log, for error messages; it reads at most the last
// 64 KiB.
func (p *Process) Tail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxTail {
		if _, err := f.Seek(-maxTail, io.SeekEnd); err != nil {
			return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
