package process_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudlb/cloudlb/internal/process"
)

func TestFindRepoRoot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	nested := filepath.Join(root, "tools", "other", "pkg")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(root, "go.mod"):                   "// the repository\nmodule " + process.ModulePath + " // main\n\ngo 1.26\n",
		filepath.Join(root, "tools", "other", "go.mod"): "module example.com/other\n",
	}
	for path, data := range files {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		from    string
		want    string
		wantErr bool
	}{
		{name: "the root itself", from: root, want: root},
		{name: "past another module's go.mod", from: nested, want: root},
		{name: "outside the repository", from: filepath.Dir(root), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := process.FindRepoRoot(tt.from)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("FindRepoRoot(%s) = %q, %v; want %q, error %t", tt.from, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	t.Parallel()
	root, err := process.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "process")); err != nil {
		t.Errorf("RepoRoot() = %s, which does not hold this package: %v", root, err)
	}
}

func TestFreePorts(t *testing.T) {
	t.Parallel()
	ports, err := process.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Errorf("ports = %v, want 3 distinct positive ports", ports)
		}
		seen[p] = true
	}
}
