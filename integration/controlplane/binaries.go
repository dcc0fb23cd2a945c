package controlplane

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BinDirEnv names the environment variable that overrides the directory holding the binaries.
const BinDirEnv = "CLOUDLB_TESTBIN"

// modulePath identifies the repository root while walking up from the working directory.
const modulePath = "github.com/cloudlb/cloudlb"

// resolveBinDir returns the absolute directory holding etcd and kube-apiserver:
// explicit if set, else $CLOUDLB_TESTBIN, else <repo root>/bin/testbin.
func resolveBinDir(explicit string) (string, error) {
	dir := explicit
	if dir == "" {
		dir = os.Getenv(BinDirEnv)
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("locate binaries: %w", err)
		}
		root, err := findModuleRoot(wd)
		if err != nil {
			return "", fmt.Errorf("locate binaries: %w", err)
		}
		dir = filepath.Join(root, "bin", "testbin")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("locate binaries: %w", err)
	}
	return abs, nil
}

// findModuleRoot walks up from dir to the directory whose go.mod declares modulePath.
func findModuleRoot(dir string) (string, error) {
	for d := dir; ; {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && moduleName(data) == modulePath {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod for module %s in %s or its parents; set %s to the directory with etcd and kube-apiserver (run `make testbin` to build them)",
				modulePath, dir, BinDirEnv)
		}
		d = parent
	}
}

// moduleName returns the module path declared in a go.mod file, or "".
func moduleName(gomod []byte) string {
	for line := range strings.SplitSeq(string(gomod), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`)
		}
	}
	return ""
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
