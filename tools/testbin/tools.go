//go:build tools

// Package testbin pins the commands built by `make testbin`.
package testbin

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
)
