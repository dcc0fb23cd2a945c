// Package process runs the child processes of the integration harnesses (etcd, kube-apiserver,
// cloudlb-controller-manager) and holds what starting them needs: the repository root, where
// `make build testbin` puts the binaries, and free loopback ports.
//
// A child runs in its own process group with a parent-death signal (on Linux), so Stop and Kill
// reach everything it started and nothing outlives a crashed caller. Its output goes to a log
// file and, optionally, line-prefixed to other writers.
package process
