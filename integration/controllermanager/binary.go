package controllermanager

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const (
	// BinaryName is the file name of the controller manager executable.
	BinaryName = "cloudlb-controller-manager"
	// modulePath identifies the repository root while walking up from the working directory.
	modulePath = "github.com/cloudlb/cloudlb"
)

// ResolveBinary returns the absolute path of the controller manager executable Start would
// run: explicit if set, else the one next to the running executable (bin/cloudlb runs
// bin/cloudlb-controller-manager), else <repo root>/bin/cloudlb-controller-manager (test
// binaries run from a build cache directory). The error says to run `make build`.
func ResolveBinary(explicit string) (string, error) {
	if explicit != "" {
		return checkExecutable(explicit)
	}
	var looked []string
	if exe, err := os.Executable(); err == nil {
		path := filepath.Join(filepath.Dir(exe), BinaryName)
		if p, err := checkExecutable(path); err == nil {
			return p, nil
		}
		looked = append(looked, path)
	}
	if wd, err := os.Getwd(); err == nil {
		if root, ok := findModuleRoot(wd); ok {
			path := filepath.Join(root, "bin", BinaryName)
			if p, err := checkExecutable(path); err == nil {
				return p, nil
			}
			looked = append(looked, path)
		}
	}
	return "", fmt.Errorf("%s binary not found (looked for %s): run `make build`", BinaryName, strings.Join(looked, ", "))
}

// checkExecutable returns the absolute path if it names an executable file.
func checkExecutable(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("locate %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s does not exist: run `make build`", abs)
	case err != nil:
		return "", fmt.Errorf("locate %s: %w", abs, err)
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("%s is not an executable file: run `make build`", abs)
	}
	return abs, nil
}

// findModuleRoot walks up from dir to the directory whose go.mod declares modulePath.
func findModuleRoot(dir string) (string, bool) {
	for d := dir; ; {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && moduleName(data) == modulePath {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
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
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`)
		}
	}
	return ""
}
