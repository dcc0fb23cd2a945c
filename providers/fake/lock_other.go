//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fake

import "errors"

// lockFile is not available without flock(2): the fake cloud then runs in memory only.
func lockFile(string, bool) (func(), error) {
	return nil, errors.New("statePath needs flock(2), which this system lacks; leave statePath empty")
}
