package process

import (
	"bytes"
	"io"
	"sync"
)

// lineWriter forwards complete lines to w with a prefix. Errors from w are dropped: a failing
// log sink must not block the child.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

// NewLineWriter returns a writer that copies complete lines to w, each prefixed with prefix,
// or nil if w is nil (so the result can go straight into Options.Stdout). Writers sharing mu
// never interleave their lines: pass one mutex for all writers of one destination.
func NewLineWriter(mu *sync.Mutex, w io.Writer, prefix string) io.Writer {
	if w == nil {
		return nil
	}
	return &lineWriter{mu: mu, w: w, prefix: prefix}
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
