package controlplane

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloudlb/cloudlb/internal/process"
)

// BinDirEnv names the environment variable that overrides the directory holding the binaries.
const BinDirEnv = "CLOUDLB_TESTBIN"

// resolveBinDir returns the absolute directory holding etcd and kube-apiserver:
// explicit if set, else $CLOUDLB_TESTBIN, else <repo root>/bin/testbin.
func resolveBinDir(explicit string) (string, error) {
	dir := explicit
	if dir == "" {
		dir = os.Getenv(BinDirEnv)
	}
	if dir == "" {
		root, err := process.RepoRoot()
		if err != nil {
			return "", fmt.Errorf("locate binaries: %w; set %s to the directory with etcd and kube-apiserver (run `make testbin` to build them)", err, BinDirEnv)
		}
		dir = filepath.Join(root, "bin", "testbin")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("locate binaries: %w", err)
	}
	return abs, nil
}

// findBinary returns the path of the executable name in dir, or an error telling how to build it.
func findBinary(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s binary not found (run `make testbin` to build it, or set %s): %w", name, BinDirEnv, err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file (run `make testbin` to rebuild it)", path)
	}
	return path, nil
}
