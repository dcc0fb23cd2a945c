package main

import (
	"bytes"
	"encoding/json"
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
		stdin     string
		wantCode  int
		wantLines []string // exact stdout lines, in order
		wantErr   string   // substring of stderr
	}{
		{name: "valid multi-document file", args: []string{"lint", "-f", "testdata/valid.yaml"}, wantCode: exitOK, wantErr: "1 LoadBalancer Service checked (1 other Service skipped): 0 errors, 0 warnings"},
		{name: "errors and warnings", args: []string{"lint", "-f", "testdata/invalid.yaml"}, wantCode: exitInvalid, wantLines: []string{
			`testdata/invalid.yaml: default/bad: service.beta.kubernetes.io/load-balancer-source-ranges: "10.0.0.0/8,nope": "nope" is not a CIDR (allowed: comma-separated CIDRs)`,
			`testdata/invalid.yaml: default/bad: service.beta.kubernetes.io/openstack-internal-load-balancer: "true": warning: belongs to OpenStack, ignored`,
		}, wantErr: "1 LoadBalancer Service checked: 1 error, 1 warning\n"},
		{name: "list items", args: []string{"lint", "testdata/list.yaml"}, wantCode: exitInvalid, wantLines: []string{
			`testdata/list.yaml: ns1/b: spec.ports[0].port: "70000": port out of range (allowed: 1-65535)`,
		}},
		{name: "directory recursion", args: []string{"lint", "-f", "testdata/dir"}, wantCode: exitInvalid, wantErr: "2 LoadBalancer Services checked (1 other Service skipped): 1 error, 1 warning"},
		{name: "unknown field", args: []string{"lint", "-f", "testdata/wrongtype.yaml"}, wantCode: exitInvalid, wantLines: []string{
			`testdata/wrongtype.yaml: default/typo: (object): "": does not decode as a v1 Service: json: unknown field "portz"`,
		}},
		{name: "misspelt spec.type", args: []string{"lint", "-f", "testdata/badtype.yaml"}, wantCode: exitInvalid, wantLines: []string{
			`testdata/badtype.yaml: default/web: spec.type: "Loadbalancer": unknown Service type; types are case-sensitive (allowed: ClusterIP, NodePort, LoadBalancer, ExternalName)`,
		}, wantErr: "1 LoadBalancer Service checked: 1 error, 0 warnings"},
		// A typo'd key is a warning: exit 0 unless --strict, which says why it failed.
		{name: "typo warns", args: []string{"lint", "-f", "testdata/typo.yaml"}, wantCode: exitOK, wantLines: []string{
			`testdata/typo.yaml: default/web: service.beta.kubernetes.io/aws-load-balancer-typ: "nlb": warning: unknown annotation, did you mean service.beta.kubernetes.io/aws-load-balancer-type?`,
		}, wantErr: "1 LoadBalancer Service checked: 0 errors, 1 warning\n"},
		{name: "strict fails on warnings", args: []string{"lint", "--strict", "-f", "testdata/typo.yaml"}, wantCode: exitInvalid,
			wantErr: "1 LoadBalancer Service checked: 0 errors, 1 warning; --strict: warnings fail\n"},
		// A value upstream accepted keeps upstream's meaning; the warning proposes the canonical one.
		{name: "upstream's lenient value", args: []string{"lint", "--cloud", "aws", "-"}, wantCode: exitOK,
			stdin:     "apiVersion: v1\nkind: Service\nmetadata: {name: old, annotations: {service.beta.kubernetes.io/aws-load-balancer-internal: \"0.0.0.0/0\"}}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\n",
			wantLines: []string{`<stdin>: default/old: service.beta.kubernetes.io/aws-load-balancer-internal: "0.0.0.0/0": warning: read as "true", as the upstream aws provider reads it; write "true" (allowed: true, false (any case))`},
			wantErr:   "1 LoadBalancer Service checked: 0 errors, 1 warning\n"},
		{name: "strict after the file", args: []string{"lint", "testdata/typo.yaml", "--strict"}, wantCode: exitInvalid, wantErr: "--strict: warnings fail"},
		{name: "strict on a clean file", args: []string{"lint", "--strict", "-f", "testdata/valid.yaml"}, wantCode: exitOK, wantErr: "0 errors, 0 warnings\n"},
		{name: "strict does not hide errors", args: []string{"lint", "--strict", "-f", "testdata/invalid.yaml"}, wantCode: exitInvalid, wantErr: "1 error, 1 warning; --strict: warnings fail"},
		// Input that holds nothing to check is a usage error naming the file and what it holds.
		{name: "deployment only", args: []string{"lint", "-f", "testdata/noservice/deployment.yaml"}, wantCode: exitUsage,
			wantErr: `cloudlb lint: testdata/noservice/deployment.yaml: no Service to check: found Deployment "web" (apps/v1, document 1), ConfigMap "web-config" (v1, document 2)`},
		{name: "directory without a Service", args: []string{"lint", "-f", "testdata/noservice"}, wantCode: exitUsage,
			wantErr: "cloudlb lint: testdata/noservice: no Service to check in its 1 manifest file"},
		{name: "empty file", args: []string{"lint", "-f", "testdata/empty.yaml"}, wantCode: exitUsage, wantErr: "cloudlb lint: testdata/empty.yaml: empty: no Kubernetes object in it"},
		{name: "empty stdin", args: []string{"lint", "-f", "-"}, wantCode: exitUsage, wantErr: "cloudlb lint: <stdin>: empty"},
		{name: "stdin without a Service", args: []string{"lint", "-"}, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", wantCode: exitUsage,
			wantErr: `cloudlb lint: <stdin>: no Service to check: found Pod "p" (v1, document 1)`},
		{name: "not an object", args: []string{"lint", "-"}, stdin: "apiVersion: v1\nkind: Service\n---\n- a\n", wantCode: exitUsage,
			wantErr: "cloudlb lint: <stdin>:4: document 2: not a Kubernetes object: want a mapping with apiVersion and kind, got a list"},
		{name: "lower-case kind in a List", args: []string{"lint", "-"}, wantCode: exitUsage,
			stdin:   "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: SERVICE\n  metadata: {name: b}\n",
			wantErr: `cloudlb lint: <stdin>:5: document 1: item 1: kind "SERVICE" is not a Service`},
		{name: "JSON on stdin", args: []string{"lint", "-"}, wantCode: exitOK, wantErr: "1 LoadBalancer Service checked: 0 errors, 0 warnings",
			stdin: `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}`},
		{name: "comments only", args: []string{"lint", "-f", "testdata/comments.yaml"}, wantCode: exitUsage, wantErr: "testdata/comments.yaml: empty"},
		{name: "lower-case kind", args: []string{"lint", "-f", "testdata/lowercase-kind.yaml"}, wantCode: exitUsage,
			wantErr: `cloudlb lint: testdata/lowercase-kind.yaml:11: document 2: kind "service" is not a Service: kinds are case-sensitive (kind: Service)`},
		{name: "malformed yaml", args: []string{"lint", "-f", "testdata/malformed.yaml"}, wantCode: exitUsage, wantErr: "cloudlb lint: testdata/malformed.yaml:3: document 1: invalid YAML: "},
		// The line is the file's, not the document's (line 7 of the third document).
		{name: "yaml error line in a multi-document file", args: []string{"lint", "-f", "testdata/badline.yaml"}, wantCode: exitUsage,
			wantErr: "cloudlb lint: testdata/badline.yaml:20: document 3: invalid YAML: found a tab character"},
		{name: "missing file", args: []string{"lint", "-f", "testdata/nope.yaml"}, wantCode: exitUsage, wantErr: "cloudlb lint: testdata/nope.yaml: no such file or directory"},
		{name: "no input", args: []string{"lint"}, wantCode: exitUsage, wantErr: "no input"},
		{name: "bad cloud", args: []string{"lint", "--cloud", "ibm", "-f", "testdata/valid.yaml"}, wantCode: exitUsage, wantErr: `unknown cloud "ibm"`},
		{name: "bad output", args: []string{"lint", "-o", "xml", "-f", "testdata/valid.yaml"}, wantCode: exitUsage, wantErr: `-o "xml": allowed: text, json, yaml`},
		{name: "bad flag", args: []string{"lint", "--nope"}, wantCode: exitUsage, wantErr: "cloudlb lint: flag provided but not defined: -nope\nRun 'cloudlb lint -h' for help."},
		{name: "unknown verb", args: []string{"frobnicate"}, wantCode: exitUsage, wantErr: "unknown verb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, tc.stdin, tc.args...)
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
	if code, _, errOut := runCLI(t, "", "annotations", "-o", "xml"); code != exitUsage || !strings.Contains(errOut, "allowed: text, json, yaml, markdown, table") {
		t.Errorf("-o xml: exit %d, stderr %q; want %d and the allowed formats", code, errOut, exitUsage)
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
		if want := " 0 errors, " + plural(allowed, "warning"); !strings.Contains(errOut, want) || strings.HasPrefix(errOut, "0 ") {
			t.Errorf("%v: %s, want%s", args, errOut, want)
		}
	}
}
