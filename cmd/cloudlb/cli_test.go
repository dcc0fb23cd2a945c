package main

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/internal/version"
)

// TestHelp: help asked for goes to stdout with exit 0, for the top level and every verb.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string // substring of stdout
	}{
		{[]string{"-h"}, "Usage:\n  cloudlb lint"},
		{[]string{"--help"}, "Usage:\n  cloudlb lint"},
		{[]string{"help"}, "Usage:\n  cloudlb lint"},
		{[]string{"help", "lint"}, "Usage: cloudlb lint"},
		{[]string{"lint", "-h"}, "Usage: cloudlb lint"},
		{[]string{"lint", "--help"}, "-strict"},
		{[]string{"lint", "-f", "testdata/valid.yaml", "--help"}, "Usage: cloudlb lint"},
		{[]string{"plan", "--help"}, "--cloud is required"},
		{[]string{"plan", "-help"}, "-cloud-config string"},
		{[]string{"annotations", "--help"}, "-o markdown"},
		{[]string{"demo", "--help"}, "Usage: cloudlb demo"},
		{[]string{"fakecloud", "--help"}, "Usage: cloudlb fakecloud aws"},
		{[]string{"fakecloud", "-h"}, "cloudlb fakecloud azure"},
		{[]string{"fakecloud", "help"}, "cloudlb fakecloud gce"},
		{[]string{"fakecloud", "aws", "--help"}, "-dns-names string"},
		{[]string{"fakecloud", "azure", "-h"}, "Usage: cloudlb fakecloud azure"},
		{[]string{"fakecloud", "gce", "--help"}, "Usage: cloudlb fakecloud gce"},
		{[]string{"version", "--help"}, "Usage: cloudlb version [-o text|json|yaml]"},
		{[]string{"help", "version"}, "cloudlb --version"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", tc.args...)
			if code != exitOK || errOut != "" || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 0, no stderr, stdout with %q", code, errOut, out, tc.want)
			}
		})
	}
}

// TestUsageErrors: a usage error goes to stderr with exit 2 and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{nil, "Usage:\n  cloudlb lint"},
		{[]string{"frobnicate"}, `unknown verb "frobnicate"`},
		{[]string{"help", "frobnicate"}, `unknown verb "frobnicate"`},
		{[]string{"lint", "--nope"}, "cloudlb lint: flag provided but not defined: -nope\nRun 'cloudlb lint -h' for help.\n"},
		{[]string{"plan", "--nope"}, "cloudlb plan: flag provided but not defined: -nope"},
		{[]string{"annotations", "--nope"}, "cloudlb annotations: flag provided but not defined: -nope"},
		{[]string{"annotations", "extra"}, `cloudlb annotations: unexpected arguments ["extra"]`},
		{[]string{"demo", "--nope"}, "cloudlb demo: flag provided but not defined: -nope"},
		{[]string{"demo", "extra"}, `cloudlb demo: unexpected arguments ["extra"]`},
		{[]string{"demo", "--timeout", "0s"}, "cloudlb demo: --timeout must be positive"},
		{[]string{"fakecloud"}, "Usage: cloudlb fakecloud aws"},
		{[]string{"fakecloud", "--nope"}, `unknown cloud "--nope"`},
		{[]string{"fakecloud", "aws", "--nope"}, "cloudlb fakecloud aws: flag provided but not defined: -nope\nRun 'cloudlb fakecloud aws -h' for help."},
		{[]string{"version", "--nope"}, "cloudlb version: flag provided but not defined: -nope"},
		{[]string{"version", "extra"}, `cloudlb version: unexpected arguments ["extra"]`},
		{[]string{"version", "-o", "markdown"}, `cloudlb version: -o "markdown": allowed: text, json, yaml`},
		{[]string{"--version", "extra"}, `cloudlb version: unexpected arguments ["extra"]`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", tc.args...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, no stdout, stderr with %q", code, out, errOut, exitUsage, tc.wantErr)
			}
		})
	}
}

// TestOutputFlagIsShared: every verb that prints results takes -o text|json|yaml with the same
// help, and its json and yaml hold the same data.
func TestOutputFlagIsShared(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		verb     string
		args     []string
		wantCode int
	}{
		{"lint", []string{"-f", "testdata/invalid.yaml"}, exitInvalid},
		{"plan", []string{"--cloud", "aws", "-f", "testdata/plan/tls-clb.yaml"}, exitOK},
		{"annotations", []string{"--cloud", "gce"}, exitOK},
	} {
		t.Run(tc.verb, func(t *testing.T) {
			t.Parallel()
			_, help, _ := runCLI(t, "", tc.verb, "-h")
			if want := "  -o string\n    \t" + outputUsage + ` (default "text")`; !strings.Contains(help, want) {
				t.Errorf("%s -h lacks %q:\n%s", tc.verb, want, help)
			}
			var fromJSON, fromYAML []map[string]any
			for _, f := range outputFormats {
				code, out, errOut := runCLI(t, "", append([]string{tc.verb, "-o", f}, tc.args...)...)
				if code != tc.wantCode || out == "" {
					t.Fatalf("-o %s: exit %d, want %d; stdout %q, stderr %q", f, code, tc.wantCode, out, errOut)
				}
				switch f {
				case "json":
					if err := json.Unmarshal([]byte(out), &fromJSON); err != nil {
						t.Errorf("-o json is not JSON: %v\n%s", err, out)
					}
				case "yaml":
					if err := yaml.Unmarshal([]byte(out), &fromYAML); err != nil {
						t.Errorf("-o yaml is not YAML: %v\n%s", err, out)
					}
				}
			}
			if len(fromJSON) == 0 || len(fromJSON) != len(fromYAML) {
				t.Errorf("json has %d entries, yaml %d", len(fromJSON), len(fromYAML))
			}
		})
	}
}

func TestPlural(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		word string
		want string
	}{
		{0, "error", "0 errors"},
		{1, "error", "1 error"},
		{2, "warning", "2 warnings"},
		{1, "LoadBalancer Service", "1 LoadBalancer Service"},
	} {
		if got := plural(tc.n, tc.word); got != tc.want {
			t.Errorf("plural(%d, %q) = %q, want %q", tc.n, tc.word, got, tc.want)
		}
	}
}

// TestVersion: "cloudlb version" and "cloudlb --version" print this binary's build: the one line
// of internal/version in text, every field in json and yaml.
func TestVersion(t *testing.T) {
	t.Parallel()
	info := version.Get()
	text := "cloudlb " + info.String() + "\n"
	for _, tc := range []struct {
		args     []string
		wantText string // exact stdout; "" when decoded instead
		decode   func([]byte, any) error
	}{
		{args: []string{"version"}, wantText: text},
		{args: []string{"version", "-o", "text"}, wantText: text},
		{args: []string{"--version"}, wantText: text},
		{args: []string{"-version"}, wantText: text},
		{args: []string{"version", "-o", "json"}, decode: json.Unmarshal},
		{args: []string{"version", "-o", "yaml"}, decode: func(b []byte, v any) error { return yaml.UnmarshalStrict(b, v) }},
		{args: []string{"--version", "-o", "json"}, decode: json.Unmarshal},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", tc.args...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q; want exit 0 and no stderr", code, errOut)
			}
			if tc.decode == nil {
				if out != tc.wantText {
					t.Errorf("stdout = %q\nwant %q", out, tc.wantText)
				}
				return
			}
			var got version.Info
			if err := tc.decode([]byte(out), &got); err != nil {
				t.Fatalf("decode: %v\n%s", err, out)
			}
			if got != info {
				t.Errorf("decoded %+v\nwant %+v", got, info)
			}
		})
	}
}
