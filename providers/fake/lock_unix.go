//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fake

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile opens (creating it if needed) and flocks path, shared or exclusive; the returned
// function releases the lock. Each call opens its own file description, so goroutines of one
// process exclude each other as processes do. The kernel drops the lock of a killed process.
func lockFile(path string, exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the fake cloud lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// Closing the only descriptor of the open file description releases the flock.
	return func() { _ = f.Close() }, nil
}
