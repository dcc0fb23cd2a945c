package controlplane

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
	// stopGrace is how long a process may take to exit after SIGTERM before it is SIGKILLed.
	stopGrace = 10 * time.Second
	// tailLines is how many log lines a start-up error includes per process.
	tailLines = 40
)

// process is one running child (etcd or kube-apiserver) in its own process group.
type process struct {
	name     string
	cmd      *exec.Cmd
	logPath  string
	done     chan struct{} // closed once the process has been reaped
	waitErr  error         // result of cmd.Wait, valid after done is closed
	stopOnce sync.Once
	stopErr  error
}

// startProcess runs bin with args, sending its output to logPath and, if set,
// line-prefixed to stdout/stderr.
func startProcess(name, bin string, args []string, logPath string, stdout, stderr io.Writer) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if stdout != nil {
		cmd.Stdout = io.MultiWriter(logFile, stdout)
	}
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(logFile, stderr)
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 2 * time.Second // bound output copying if someone else holds the pipes
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has terminated.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes an unexpected exit; call only after exited returns true.
func (p *process) exitError() error {
	if p.waitErr == nil {
		return fmt.Errorf("%s exited unexpectedly with status 0", p.name)
	}
	return fmt.Errorf("%s exited unexpectedly: %w", p.name, p.waitErr)
}

// stop sends SIGTERM to the process group, SIGKILLs it after stopGrace and waits
// for the process to be reaped. It is idempotent and reports an exit that
// happened before stop was called.
func (p *process) stop() error {
	p.stopOnce.Do(func() {
		if p.exited() {
			p.stopErr = p.exitError()
			return
		}
		pgid := p.cmd.Process.Pid // Setpgid makes the child its group's leader
		if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			p.stopErr = fmt.Errorf("terminate %s: %w", p.name, err)
		}
		timer := time.NewTimer(stopGrace)
		defer timer.Stop()
		select {
		case <-p.done:
		case <-timer.C:
			if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				p.stopErr = fmt.Errorf("kill %s: %w", p.name, err)
			}
			<-p.done
		}
	})
	return p.stopErr
}

// logContains reports whether the process log contains s.
func (p *process) logContains(s string) bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && bytes.Contains(data, []byte(s))
}

// tail returns the last n lines of the process log, for error messages.
func (p *process) tail(n int) string {
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

// lineWriter forwards complete lines to w with a prefix. All lineWriters of one
// control plane share mu, so lines of etcd and kube-apiserver never interleave.
// Errors from w are dropped: a failing log sink must not block the child.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

// newLineWriter returns nil if w is nil, so the caller can skip the sink.
func newLineWriter(mu *sync.Mutex, w io.Writer, prefix string) io.Writer {
	if w == nil {
		return nil
	}
	return &lineWriter{mu: mu, w: w, prefix: prefix}
}

// Write implements io.Writer.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		_, _ = io.WriteString(l.w, l.prefix+string(l.buf[:i+1]))
		l.buf = l.buf[i+1:]
	}
	l.buf = append([]byte(nil), l.buf...)
	return len(p), nil
}
