package process

import "syscall"

// sysProcAttr puts the child in its own process group (so Stop and Kill signal the whole
// group) and has the kernel SIGKILL it if the thread that started it dies, so no child
// outlives a crashed test binary or demo.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
