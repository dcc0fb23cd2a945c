package controlplane

// PIDs returns the process IDs of etcd and kube-apiserver, for tests.
func PIDs(cp *ControlPlane) (etcd, apiserver int) {
	return cp.etcd.PID(), cp.apiserver.PID()
}
