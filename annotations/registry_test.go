package annotations

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// regContexts is every context a default may depend on.
var regContexts = func() []Context {
	var out []Context
	for _, local := range []bool{false, true} {
		for _, v := range []string{"", "clb", "nlb", "internal", "external"} {
			out = append(out, Context{Local: local, Variant: v})
		}
	}
	return out
}()

func TestRegistryDescriptorsAreComplete(t *testing.T) {
	t.Parallel()
	types := map[Type]bool{Bool: true, Int: true, String: true, Enum: true, List: true, CIDRList: true, Map: true, PortList: true}
	changes := map[Change]bool{InPlace: true, Replace: true, Rejected: true, NoChange: true}
	for _, d := range All() {
		t.Run(d.Key, func(t *testing.T) {
			if d.Doc == "" || !strings.HasSuffix(strings.TrimSpace(d.Doc), ".") && !strings.HasSuffix(d.Doc, ")") {
				t.Errorf("doc %q: want one sentence ending in a period", d.Doc)
			}
			if !types[d.Type] {
				t.Errorf("type %q unknown", d.Type)
			}
			if !changes[d.Change] {
				t.Errorf("change %q unknown", d.Change)
			}
			if d.Cloud != Core && d.Cloud != AWS && d.Cloud != Azure && d.Cloud != GCE {
				t.Errorf("cloud %q unknown", d.Cloud)
			}
			if d.Type == Enum && len(d.Allowed) == 0 {
				t.Error("enum without allowed values")
			}
			if d.Range != nil && d.Range.Min > d.Range.Max {
				t.Errorf("range %d-%d is empty", d.Range.Min, d.Range.Max)
			}
			if !strings.Contains(d.Key, "/") {
				t.Error("key has no domain prefix")
			}
			for _, ctx := range regContexts {
				raw, ok := d.DefaultFor(ctx)
				if !ok {
					continue
				}
				if _, err := decode(d, raw); err != nil {
					t.Errorf("default %q under %+v does not validate: %v", raw, ctx, err)
				}
			}
			for legacy, canonical := range d.ValueAliases {
				if _, err := decode(d, canonical); err != nil {
					t.Errorf("value alias %q -> %q does not validate: %v", legacy, canonical, err)
				}
			}
			if got, _, ok := Lookup(d.Key); !ok || got != d {
				t.Errorf("Lookup(%q) = %v, %v", d.Key, got, ok)
			}
			for _, a := range d.Aliases {
				if got, _, ok := Lookup(a); !ok || got != d {
					t.Errorf("Lookup(alias %q) = %v, %v", a, got, ok)
				}
			}
		})
	}
}

func TestRegistryCoversEveryCloud(t *testing.T) {
	t.Parallel()
	for _, c := range append([]Cloud{Core}, Clouds...) {
		if n := len(ForCloud(c)); n == 0 {
			t.Errorf("cloud %s has no keys", c)
		}
	}
}

// TestDocsAreFresh fails when docs/annotations.md no longer matches the registry.
func TestDocsAreFresh(t *testing.T) {
	t.Parallel()
	var want bytes.Buffer
	if err := WriteMarkdown(&want, AnyCloud); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "docs", "annotations.md")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run `make generate`)", path, err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("%s is stale: run `make generate` and commit the result", path)
	}
}

func TestParseBoolSpellings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    bool
		wantErr bool
	}{
		{"true", true, false}, {"TRUE", true, false}, {"True", true, false}, {" true ", true, false},
		{"false", false, false}, {"False", false, false},
		{"1", false, true}, {"yes", false, true}, {"t", false, true}, {"on", false, true},
	} {
		got, err := parseBool(strings.TrimSpace(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseBool(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestDecodeLists(t *testing.T) {
	t.Parallel()
	list := &Descriptor{Key: "x/y", Type: List, Format: FormatIPv4}
	ports := &Descriptor{Key: "x/p", Type: PortList}
	kv := &Descriptor{Key: "x/m", Type: Map, MapKeys: []string{"a", "b"}}
	cidrs := &Descriptor{Key: "x/c", Type: CIDRList}
	for _, tc := range []struct {
		d       *Descriptor
		in      string
		want    string // fmt %v of the value
		wantErr string
	}{
		{list, " 10.0.0.1 , 10.0.0.2", "[10.0.0.1 10.0.0.2]", ""},
		{list, "10.0.0.1,,10.0.0.2", "", "empty list item"},
		{list, "10.0.0.1,::1", "", `item "::1"`},
		{ports, "443, 8443", "{false [443 8443] []}", ""},
		{ports, "*", "{true [] []}", ""},
		{ports, "https,443", "{false [443] [https]}", ""},
		{ports, "*,443", "", "cannot be combined"},
		{ports, "70000", "", "out of range"},
		{ports, "Bad_Name", "", "neither a port number nor a port name"},
		{kv, "a=1, b = 2", "map[a:1 b:2]", ""},
		{kv, "a=1,c=2", "", `unknown key "c"`},
		{kv, "a=1,a=2", "", "appears twice"},
		{kv, "=1", "", "empty key"},
		{cidrs, "10.0.0.0/8, 2001:db8::/32", "[10.0.0.0/8 2001:db8::/32]", ""},
		{cidrs, "10.0.0.1/8", "", "host bits set (did you mean 10.0.0.0/8?)"},
		{cidrs, "10.0.0.0/33", "", "is not a CIDR"},
	} {
		v, err := decode(tc.d, tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("decode(%s, %q) err = %v, want %q", tc.d.Type, tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("decode(%s, %q): %v", tc.d.Type, tc.in, err)
			continue
		}
		if got := strings.ReplaceAll(fmtValue(v), "<nil>", ""); got != tc.want {
			t.Errorf("decode(%s, %q) = %s, want %s", tc.d.Type, tc.in, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"kitten", "sitting", 3}, {"", "abc", 3}, {"same", "same", 0}, {"interval", "intervall", 1},
	} {
		if got := editDistance(tc.a, tc.b, 100); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if got := editDistance("aaaaaaaa", "bbbbbbbb", 3); got != 3 {
		t.Errorf("early exit: got %d, want the limit 3", got)
	}
}
