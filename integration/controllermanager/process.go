package controllermanager

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

const (
	// stopGrace is how long the process may take to exit after SIGTERM before it is SIGKILLed.
	stopGrace = 10 * time.Second
	// tailLines is how many log lines an error includes.
	tailLines = 40
)

// Process is a running cloudlb-controller-manager; release it with Stop.
type Process struct {
	cmd     *exec.Cmd
	args    []string
	logPath string
	logFrom int64  // size of the log before this process wrote to it
	dir     string // working directory, removed by Stop
	url     string // https://127.0.0.1:<secure port>

	done    chan struct{} // closed once the process has been reaped
	waitErr error         // result of cmd.Wait, valid after done is closed

	mu       sync.Mutex
	signaled bool // Kill or Stop signalled the process: its exit is expected
	stopOnce sync.Once
	stopErr  error
}

// startProcess runs bin with args in its own process group, sending its output to logPath
// and, if set, line-prefixed to stdout/stderr.
func startProcess(bin string, args []string, logPath string, stdout, stderr io.Writer, prefix string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the log: %w", err)
	}
	var logFrom int64
	if fi, err := logFile.Stat(); err == nil {
		logFrom = fi.Size()
	}
	cmd := exec.Command(bin, args...)
	var mu sync.Mutex // one lock for both writers, so their lines never interleave
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if stdout != nil {
		cmd.Stdout = io.MultiWriter(logFile, &lineWriter{mu: &mu, w: stdout, prefix: prefix})
	}
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(logFile, &lineWriter{mu: &mu, w: stderr, prefix: prefix})
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 2 * time.Second // bound output copying if a grandchild holds the pipes
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	p := &Process{cmd: cmd, args: args, logPath: logPath, logFrom: logFrom, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// URL returns the base URL of the secure port, https://127.0.0.1:<port> (self-signed certificate).
func (p *Process) URL() string { return p.url }

// PID returns the process ID, which is also its process group ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Args returns the command-line arguments the process was started with.
func (p *Process) Args() []string { return append([]string(nil), p.args...) }

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

// Kill simulates a crash: it SIGKILLs the process group and waits until the process is reaped.
// Call Stop afterwards to remove the working directory.
func (p *Process) Kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill cloudlb-controller-manager: %w", err)
	}
	<-p.done
	return nil
}

// Stop sends SIGTERM to the process group, SIGKILLs it after 10 s, waits until it is reaped
// and removes the working directory. It is idempotent, and reports an exit that was neither
// caused by Kill nor by Stop, with the tail of the log.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		expected := p.signaled
		p.mu.Unlock()
		var errs []error
		if p.Exited() && !expected {
			errs = append(errs, fmt.Errorf("%w\n--- last %d lines of %s ---\n%s", p.exitError(), tailLines, p.logPath, p.Tail(tailLines)))
		}
		errs = append(errs, p.terminate())
		if err := os.RemoveAll(p.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove working directory: %w", err))
		}
		if err := errors.Join(errs...); err != nil {
			p.stopErr = fmt.Errorf("stop cloudlb-controller-manager: %w", err)
		}
	})
	return p.stopErr
}

// terminate sends SIGTERM, SIGKILLs after stopGrace and waits for the process to be reaped.
func (p *Process) terminate() error {
	if err := p.signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("terminate: %w", err)
	}
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill after %s: %w", stopGrace, err)
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

// exitError describes how the process ended; call only after Exited returns true.
func (p *Process) exitError() error {
	if p.waitErr == nil {
		return errors.New("cloudlb-controller-manager exited unexpectedly with status 0")
	}
	return fmt.Errorf("cloudlb-controller-manager exited unexpectedly: %w", p.waitErr)
}

// logContains reports whether this process's part of the log contains s.
func (p *Process) logContains(s string) bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && int64(len(data)) >= p.logFrom && bytes.Contains(data[p.logFrom:], []byte(s))
}

// Tail returns the last n lines of the log, for error messages.
func (p *Process) Tail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	defer f.Close()
	const maxTail = 64 << 10
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

// lineWriter forwards complete lines to w with a prefix. Errors from w are dropped: a failing
// log sink must not block the child.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

// Write implements io.Writer.
func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		_, _ = io.WriteString(l.w, l.prefix+string(l.buf[:i+1]))
		l.buf = l.buf[i+1:]
	}
	l.buf = append([]byte(nil), l.buf...)
	return len(b), nil
}
