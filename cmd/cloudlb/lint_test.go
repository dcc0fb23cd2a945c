package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestLintExitCodesAndLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		args      []string
		wantCode  int
		wantLines []string // exact stdout lines, in order
		wantErr   string   // substring of stderr
	}{
		{name: "valid multi-document file", args: []string{"lint", "-f", "testdata/valid.yaml"}, wantCode: exitOK, wantErr: "1 LoadBalancer Services checked: 0 errors, 0 warnings"},
		{name: "errors and warnings", args: []string{"lint", "-f", "testdata/invalid.yaml"}, wantCode: exitInvalid, wantLines: []string{
			`testdata/invalid.yaml: default/bad: service.beta.kubernetes.io/load-balancer-source-ranges: "10.0.0.0/8,nope": "nope" is not a CIDR (allowed: comma-separated CIDRs)`,
			`testdata/invalid.yaml: default/bad: service.beta.kubernetes.io/openstack-internal-load-balancer: "true": warning: belongs to OpenStack, ignored`,
		}},
		{name: "list items", args: []string{"lint", "testdata/list.yaml"}, wantCode: exitInvalid, wantLines: []string{
			`testdata/list.yaml: ns1/b: spec.ports[0].port: "70000": port out of range (allowed: 1-65535)`,
		}},
		{name: "directory recursion", args: []string{"lint", "-f", "testdata/dir"}, wantCode: exitInvalid, wantErr: "2 LoadBalancer Services checked: 1 errors, 1 warnings"},
		{name: "unknown field", args: []string{"lint", "-f", "testdata/wrongtype.yaml"}, wantCode: exitInvalid, wantLines: []string{
			`testdata/wrongtype.yaml: default/typo: (object): "": does not decode as a v1 Service: json: unknown field "portz"`,
		}},
		{name: "malformed yaml", args: []string{"lint", "-f", "testdata/malformed.yaml"}, wantCode: exitUsage, wantErr: "testdata/malformed.yaml: document 1"},
		{name: "missing file", args: []string{"lint", "-f", "testdata/nope.yaml"}, wantCode: exitUsage, wantErr: "no such file"},
		{name: "no input", args: []string{"lint"}, wantCode: exitUsage, wantErr: "no input"},
		{name: "bad cloud", args: []string{"lint", "--cloud", "ibm", "-f", "testdata/valid.yaml"}, wantCode: exitUsage, wantErr: `unknown cloud "ibm"`},
		{name: "bad output", args: []string{"lint", "-o", "xml", "-f", "testdata/valid.yaml"}, wantCode: exitUsage, wantErr: "allowed: text, json"},
		{name: "bad flag", args: []string{"lint", "--nope"}, wantCode: exitUsage},
		{name: "unknown verb", args: []string{"frobnicate"}, wantCode: exitUsage, wantErr: "unknown verb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, out, errOut)
			}
			if tc.wantLines != nil {
				got := strings.Split(strings.TrimRight(out, "\n"), "\n")
				if strings.Join(got, "\n") != strings.Join(tc.wantLines, "\n") {
					t.Errorf("stdout:\n%s\nwant:\n%s", out, strings.Join(tc.wantLines, "\n"))
				}
			}
			if !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.wantErr)
			}
		})
	}
}

func TestLintStdinAndJSON(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile("testdata/invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, string(in), "lint", "-o", "json", "-f", "-")
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d", code, exitInvalid)
	}
	var got []map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(got) != 2 || got[0]["file"] != "<stdin>" || got[0]["service"] != "default/bad" || got[0]["severity"] != "error" ||
		got[0]["key"] != "service.beta.kubernetes.io/load-balancer-source-ranges" || got[0]["allowed"] == "" {
		t.Errorf("json = %v", got)
	}
	code, out, _ = runCLI(t, "", "lint", "-o", "json", "-f", "testdata/valid.yaml")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("clean input: exit %d, json %q; want 0 and []", code, out)
	}
}

func TestAnnotationsVerb(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, "", "annotations", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ds []map[string]any
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]map[string]any{}
	for _, d := range ds {
		byKey[d["key"].(string)] = d
	}
	src := byKey["service.beta.kubernetes.io/load-balancer-source-ranges"]
	if src == nil || src["type"] != "cidr-list" || src["default"] != "0.0.0.0/0" || src["change"] != "in-place" || src["cloud"] != "core" {
		t.Errorf("source-ranges entry = %v", src)
	}
	for _, f := range []string{"markdown", "table"} {
		if code, out, _ := runCLI(t, "", "annotations", "--cloud", "aws", "-o", f); code != exitOK || !strings.Contains(out, "load-balancer-source-ranges") {
			t.Errorf("-o %s: exit %d, output %q", f, code, out)
		}
	}
	if code, _, _ := runCLI(t, "", "annotations", "-o", "yaml"); code != exitUsage {
		t.Errorf("-o yaml: exit %d, want %d", code, exitUsage)
	}
}

// TestExamplesAreClean keeps examples/ free of errors and warnings for their own cloud and for
// every-key-against-its-cloud checking. The one exception: a docs-*.yaml copy of a
// Kubernetes docs example may use a field Kubernetes deprecated (spec.loadBalancerIP), and
// lint must say so.
func TestExamplesAreClean(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"core", "aws", "azure", "gce"} {
		args := []string{"lint", "-f", "../../examples/" + dir}
		if dir != "core" {
			args = append(args, "--cloud", dir)
		}
		code, out, errOut := runCLI(t, "", args...)
		if code != exitOK {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		allowed := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			switch {
			case line == "":
			case strings.Contains(line, "/docs-") && strings.Contains(line, "spec.loadBalancerIP") && strings.Contains(line, "warning: deprecated by Kubernetes"):
				allowed++
			default:
				t.Errorf("%v: %s", args, line)
			}
		}
		if want := fmt.Sprintf(" 0 errors, %d warnings", allowed); !strings.Contains(errOut, want) || strings.HasPrefix(errOut, "0 ") {
			t.Errorf("%v: %s, want%s", args, errOut, want)
		}
	}
}
