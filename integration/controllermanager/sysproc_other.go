//go:build unix && !linux

package controllermanager

import "syscall"

// sysProcAttr puts the child in its own process group so Kill and Stop signal the whole
// group; parent-death signals are Linux-only.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
