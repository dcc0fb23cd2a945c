package controllermanager

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloudlb/cloudlb/internal/process"
)

// BinaryName is the file name of the controller manager executable.
const BinaryName = "cloudlb-controller-manager"

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
	if root, err := process.RepoRoot(); err == nil {
		path := filepath.Join(root, "bin", BinaryName)
		if p, err := checkExecutable(path); err == nil {
			return p, nil
		}
		looked = append(looked, path)
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
