package controlplane

// PIDs returns the process IDs of etcd and kube-apiserver, for tests.
func PIDs(cp *ControlPlane) (etcd, apiserver int) {
	return cp.etcd.cmd.Process.Pid, cp.apiserver.cmd.Process.Pid
}
