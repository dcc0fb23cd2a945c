package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// The real helm and kustomize come from tools/helm/build.sh, which `make testbin` runs; like the
// control plane's binaries they are looked up in $CLOUDLB_TESTBIN, and a missing one fails the
// tests rather than skipping them.
const (
	helmBin      = "helm"
	kustomizeBin = "kustomize"
)

var (
	// chartDir is <repo root>/charts/cloudlb.
	chartDir = filepath.Join("..", "..", "charts", "cloudlb")
	// toolHome isolates helm from the user's configuration, caches and clusters; set by TestMain.
	toolHome string

	renders   sync.Map // kustomization directory -> *kustomizeRender
	binOnce   sync.Once
	binDirErr error
	// binDir holds cloudlb-controller-manager and cloudlb-nodeproxy built from this checkout; set by TestMain.
	binDir string
)

// kustomizeRender is the cached output of one `kustomize build`.
type kustomizeRender struct {
	once sync.Once
	raw  []byte
	objs []manifest
	err  error
}

// toolPath returns the absolute path of helm or kustomize in $CLOUDLB_TESTBIN (default
// <repo root>/bin/testbin), failing t when it is not there.
func toolPath(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("CLOUDLB_TESTBIN")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "testbin")
	}
	path, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		t.Fatalf("%s not found in %s (run `make testbin`, which runs tools/helm/build.sh, or set CLOUDLB_TESTBIN): %v", name, dir, err)
	}
	return path
}

// runTool runs a tool with the isolated environment and returns its standard output; the error
// carries its standard error.
func runTool(t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), toolPath(t, name), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(toolHome, "config"), "HELM_CACHE_HOME="+filepath.Join(toolHome, "cache"),
		"HELM_DATA_HOME="+filepath.Join(toolHome, "data"), "KUBECONFIG="+filepath.Join(toolHome, "no-kubeconfig"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// decodeObjects splits a multi-document YAML stream into objects; source names it in messages.
func decodeObjects(source string, raw []byte) ([]manifest, error) {
	var out []manifest
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode %s: %w", source, err)
		}
		if len(obj) > 0 {
			out = append(out, manifest{file: source, obj: &unstructured.Unstructured{Object: obj}})
		}
	}
}

// kustomizeBuild renders the kustomization in dir with the real kustomize (once per package run)
// and returns its raw output and its objects.
func kustomizeBuild(t *testing.T, dir string) ([]byte, []manifest) {
	t.Helper()
	v, _ := renders.LoadOrStore(dir, &kustomizeRender{})
	r := v.(*kustomizeRender)
	r.once.Do(func() {
		r.raw, r.err = runTool(t, kustomizeBin, "build", dir)
		if r.err == nil {
			r.objs, r.err = decodeObjects("kustomize build "+dir, r.raw)
		}
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.objs) == 0 {
		t.Fatalf("kustomize build %s: no objects", dir)
	}
	return r.raw, r.objs
}

// helmTemplate renders charts/cloudlb with the real helm; args are helm's (values files relative
// to the chart directory, --set, --namespace).
func helmTemplate(t *testing.T, release string, args ...string) ([]byte, []manifest, error) {
	t.Helper()
	full := append([]string{"template", release, chartDir}, args...)
	for i, a := range full {
		if i > 0 && full[i-1] == "-f" {
			full[i] = filepath.Join(chartDir, a)
		}
	}
	raw, err := runTool(t, helmBin, full...)
	if err != nil {
		return nil, nil, err
	}
	objs, err := decodeObjects("helm "+strings.Join(full, " "), raw)
	return raw, objs, err
}

// kustomizationRoots returns every directory under deploy/ that `kustomize build` renders: those
// with a kustomization.yaml that is not a Component (components only make sense inside one).
func kustomizationRoots(t *testing.T) []string {
	t.Helper()
	var roots []string
	err := filepath.WalkDir(deployDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "kustomization.yaml" {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var k struct{ Kind string }
		if err := yaml.Unmarshal(raw, &k); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if k.Kind != "Component" {
			roots = append(roots, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return roots
}

// find returns the object of kind and name (any namespace), or nil.
func find(ms []manifest, kind, name string) *manifest {
	for i := range ms {
		if ms[i].obj.GetKind() == kind && ms[i].obj.GetName() == name {
			return &ms[i]
		}
	}
	return nil
}

// ofKind returns the objects of kind.
func ofKind(ms []manifest, kind string) []manifest {
	var out []manifest
	for _, m := range ms {
		if m.obj.GetKind() == kind {
			out = append(out, m)
		}
	}
	return out
}

// convert decodes an object into its typed form, failing t.
func convert[T any](t *testing.T, m manifest) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.obj.Object, out); err != nil {
		t.Fatalf("%s: %v", m, err)
	}
	return out
}

// onlyDeployment returns the one Deployment of a rendering.
func onlyDeployment(t *testing.T, ms []manifest) *appsv1.Deployment {
	t.Helper()
	ds := ofKind(ms, "Deployment")
	if len(ds) != 1 {
		t.Fatalf("%d Deployments rendered, want 1", len(ds))
	}
	return convert[appsv1.Deployment](t, ds[0])
}

// flagValues returns the values of every --name=value in args, in order.
func flagValues(args []string, name string) []string {
	var out []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// flagValue returns the last value of --name (the one the binary uses) and whether it is set.
func flagValue(args []string, name string) (string, bool) {
	vs := flagValues(args, name)
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// cloudConfigSource is where the cloud config file comes from.
type cloudConfigSource struct {
	kind      string // "Secret" or "ConfigMap"
	name, key string
}

// checkCloudConfigMounted checks that --cloud-config names a file of a read-only mount whose
// volume takes it from want's Secret or ConfigMap key; ms must hold that Secret when the rendering
// creates it.
func checkCloudConfigMounted(t *testing.T, d *appsv1.Deployment, ms []manifest, want cloudConfigSource) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	path, ok := flagValue(c.Args, "cloud-config")
	if !ok {
		t.Errorf("no --cloud-config in %q", c.Args)
		return
	}
	var mount *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil {
		t.Errorf("--cloud-config=%s is under no volume mount of %+v", path, c.VolumeMounts)
		return
	}
	if !mount.ReadOnly {
		t.Errorf("cloud config mount %s is not read-only", mount.MountPath)
	}
	rel := strings.TrimPrefix(path, strings.TrimSuffix(mount.MountPath, "/")+"/")
	i := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == mount.Name })
	if i < 0 {
		t.Errorf("no volume %s for the mount at %s", mount.Name, mount.MountPath)
		return
	}
	v := d.Spec.Template.Spec.Volumes[i]
	var gotKind, gotName string
	var items []corev1.KeyToPath
	switch {
	case v.Secret != nil:
		gotKind, gotName, items = "Secret", v.Secret.SecretName, v.Secret.Items
	case v.ConfigMap != nil:
		gotKind, gotName, items = "ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items
	default:
		t.Errorf("volume %s is neither a Secret nor a ConfigMap: %+v", v.Name, v.VolumeSource)
		return
	}
	// Without items every key is a file of its name.
	gotKey := rel
	if len(items) > 0 {
		j := slices.IndexFunc(items, func(it corev1.KeyToPath) bool { return it.Path == rel })
		if j < 0 {
			t.Errorf("volume %s does not project %s: items %+v", v.Name, rel, items)
			return
		}
		gotKey = items[j].Key
	}
	if got := (cloudConfigSource{gotKind, gotName, gotKey}); got != want {
		t.Errorf("--cloud-config=%s comes from %+v, want %+v", path, got, want)
	}
	if s := find(ms, "Secret", want.name); s != nil {
		data, _, _ := unstructured.NestedStringMap(s.obj.Object, "data")
		if data[want.key] == "" {
			t.Errorf("the rendered Secret %s has no %s", want.name, want.key)
		}
	}
}

// checkLeaderElection checks that the Lease the args name (namespace and name, with the binary's
// defaults) is one the ServiceAccount's Role lets it get and update.
func checkLeaderElection(t *testing.T, d *appsv1.Deployment, ms []manifest) {
	t.Helper()
	args := d.Spec.Template.Spec.Containers[0].Args
	ns, ok := flagValue(args, "leader-elect-resource-namespace")
	if !ok {
		ns = "kube-system"
	}
	name, ok := flagValue(args, "leader-elect-resource-name")
	if !ok {
		name = "cloudlb-controller-manager"
	}
	sa := d.Spec.Template.Spec.ServiceAccountName
	for _, rb := range ofKind(ms, "RoleBinding") {
		b := convert[rbacv1.RoleBinding](t, rb)
		if b.Namespace != ns || b.RoleRef.Kind != "Role" || !slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
			return s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == d.Namespace
		}) {
			continue
		}
		r := find(ms, "Role", b.RoleRef.Name)
		if r == nil || r.obj.GetNamespace() != ns {
			continue
		}
		for _, rule := range convert[rbacv1.Role](t, *r).Rules {
			if slices.Contains(rule.Resources, "leases") && slices.Contains(rule.ResourceNames, name) &&
				slices.Contains(rule.Verbs, "get") && slices.Contains(rule.Verbs, "update") {
				return
			}
		}
	}
	t.Errorf("no Role bound to ServiceAccount %s/%s lets it get and update the Lease %s/%s", d.Namespace, sa, ns, name)
}

// checkFlagsParse runs each container's binary, built from this checkout, with the container's
// arguments and --help: cobra parses every flag before it prints the help, so a misspelt flag or
// a value of the wrong type fails.
func checkFlagsParse(t *testing.T, ms []manifest) {
	t.Helper()
	dir := buildBinaries(t)
	for _, m := range ms {
		var spec corev1.PodSpec
		switch m.obj.GetKind() {
		case "Deployment":
			spec = convert[appsv1.Deployment](t, m).Spec.Template.Spec
		case "DaemonSet":
			spec = convert[appsv1.DaemonSet](t, m).Spec.Template.Spec
		default:
			continue
		}
		for _, c := range spec.Containers {
			bin := filepath.Join(dir, c.Name)
			out, err := exec.CommandContext(t.Context(), bin, append(slices.Clone(c.Args), "--help")...).CombinedOutput()
			if err != nil {
				lines := strings.Split(strings.TrimSpace(string(out)), "\n")
				t.Errorf("%s: %s does not accept the arguments %q: %v: %s", m, c.Name, c.Args, err, lines[len(lines)-1])
			}
		}
	}
}

// buildBinaries builds cloudlb-controller-manager and cloudlb-nodeproxy once per package run and
// returns their directory.
func buildBinaries(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		build := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./cmd/cloudlb-controller-manager", "./cmd/cloudlb-nodeproxy")
		build.Dir = filepath.Join("..", "..")
		if out, err := build.CombinedOutput(); err != nil {
			binDirErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binDirErr != nil {
		t.Fatal(binDirErr)
	}
	return binDir
}
