// Package controlplane holds the test side of internal/controlplane: the real etcd and
// kube-apiserver shared by a test package (RunMain), or started for one test (StartForTest).
package controlplane

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/internal/controlplane"
)

// ControlPlane and Options are internal/controlplane's; the aliases keep tests to one import.
type (
	ControlPlane = controlplane.ControlPlane
	Options      = controlplane.Options
)

// UnprivilegedUser is the user name of UnprivilegedRESTConfig's identity, bound to no role.
const UnprivilegedUser = controlplane.UnprivilegedUser

// Start starts a control plane; see internal/controlplane.Start.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	return controlplane.Start(ctx, opts)
}

// StartForTest starts a control plane that is stopped when tb's test ends; it calls tb.Fatal on error.
func StartForTest(tb testing.TB) *ControlPlane {
	tb.Helper()
	cp, err := Start(tb.Context(), Options{})
	if err != nil {
		tb.Fatalf("start control plane: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("control plane logs (test failed):\n%s", cp.LogTails())
		}
		if err := cp.Stop(); err != nil {
			tb.Errorf("stop control plane: %v", err)
		}
	})
	return cp
}

// RunMain is the body of a test package's TestMain that shares one control plane: it starts
// the control plane, calls setup (which usually stores it in a package variable), runs the
// tests and stops it, and returns the exit code for os.Exit. A control plane that cannot
// start fails the package, never skips it: CI builds the binaries first.
func RunMain(m *testing.M, opts Options, setup func(*ControlPlane) error) int {
	began := time.Now()
	cp, err := Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: start control plane: %v\n", err)
		return 1
	}
	fmt.Printf("control plane ready in %s\n", time.Since(began).Round(time.Millisecond))
	code := 1
	if err := setup(cp); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: set up the control plane: %v\n", err)
	} else {
		code = m.Run()
	}
	if err := cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		code = 1
	}
	return code
}

// CreateNamespace creates a namespace named prefix-<random> and returns its name. It is not
// deleted: without a namespace controller it would stay Terminating, and the control plane is
// discarded at the end; a fresh name per call keeps -count=N working.
func CreateNamespace(tb testing.TB, cs kubernetes.Interface, prefix string) string {
	tb.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(tb.Context(),
		&v1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}
