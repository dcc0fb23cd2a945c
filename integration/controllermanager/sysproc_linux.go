package controllermanager

import "syscall"

// sysProcAttr puts the child in its own process group (so Kill and Stop signal the whole
// group) and has the kernel SIGKILL it if the thread that started it dies, so no controller
// manager outlives a crashed test binary or demo.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
