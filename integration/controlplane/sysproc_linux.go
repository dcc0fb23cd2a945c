package controlplane

import "syscall"

// sysProcAttr puts the child in its own process group (so Stop can signal the
// whole group) and has the kernel SIGKILL it if the thread that started it dies,
// so no etcd or kube-apiserver outlives a crashed test binary.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
