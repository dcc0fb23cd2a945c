//go:build unix && !linux

package process

import "syscall"

// sysProcAttr puts the child in its own process group so Stop and Kill signal the whole
// group; parent-death signals are Linux-only.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
