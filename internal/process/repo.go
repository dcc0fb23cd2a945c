package process

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the module whose go.mod marks the repository root.
const ModulePath = "github.com/cloudlb/cloudlb"

// RepoRoot walks up from the working directory to the repository root: the directory whose
// go.mod declares ModulePath. Test binaries run in their package's directory, so this finds
// bin/ wherever the test is.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository root: %w", err)
	}
	return FindRepoRoot(wd)
}

// FindRepoRoot walks up from dir to the directory whose go.mod declares ModulePath.
func FindRepoRoot(dir string) (string, error) {
	for d := dir; ; {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && moduleName(data) == ModulePath {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod for module %s in %s or its parents", ModulePath, dir)
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
