package contract

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var errUnknownOp = errors.New("unknown operation")

// prefixed maps "svc:Op" to "svc:Op" and refuses anything else, like a suite's table.
func prefixed(op string) ([]string, error) {
	if !strings.HasPrefix(op, "svc:") {
		return nil, errUnknownOp
	}
	return []string{op}, nil
}

func TestPermissionsCheck(t *testing.T) {
	t.Parallel()
	implied := map[string]string{"svc:Join": "a referenced resource"}
	for _, tc := range []struct {
		name    string
		granted []string
		implied map[string]string
		served  []string
		want    []string // substrings of the error, none when empty
		wantErr error
	}{
		{name: "exact", granted: []string{"svc:Get", "svc:Put", "svc:Join"}, implied: implied, served: []string{"svc:Get", "svc:Put"}},
		{name: "missing", granted: []string{"svc:Get", "svc:Join"}, implied: implied, served: []string{"svc:Get", "svc:Put"},
			want: []string{"f does not grant svc:Put, which the provider needed for svc:Put"}},
		{name: "unused", granted: []string{"svc:Get", "svc:Delete", "svc:Join"}, implied: implied, served: []string{"svc:Get"},
			want: []string{"f grants svc:Delete, which no call"}},
		{name: "implied not granted", granted: []string{"svc:Get"}, implied: implied, served: []string{"svc:Get"},
			want: []string{"f does not grant svc:Join (a referenced resource)"}},
		{name: "implied but called", granted: []string{"svc:Join"}, implied: implied, served: []string{"svc:Join"},
			want: []string{"svc:Join is on the allow-list of implied permissions, but svc:Join calls need it"}},
		{name: "implied without a reason", granted: []string{"svc:Join"}, implied: map[string]string{"svc:Join": " "},
			want: []string{"svc:Join gives no reason"}},
		{name: "granted twice", granted: []string{"svc:Get", "svc:Get"}, served: []string{"svc:Get"}, want: []string{"f grants svc:Get twice"}},
		{name: "unknown operation", granted: []string{"svc:Get"}, served: []string{"svc:Get", "other:Op"}, wantErr: errUnknownOp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Permissions{File: "f", Granted: tc.granted, Permission: prefixed, Implied: tc.implied}.Check(tc.served)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if len(tc.want) == 0 && err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to say %q", err, w)
				}
			}
		})
	}
}

func TestServedCountsOnlyTheProvider(t *testing.T) {
	t.Parallel()
	var s Served
	hook := func(w http.ResponseWriter, r *http.Request) { s.Record(r, r.URL.Path) }
	provider := httptest.NewServer(s.Provider(http.HandlerFunc(hook)))
	defer provider.Close()
	user := httptest.NewServer(http.HandlerFunc(hook))
	defer user.Close()
	for _, u := range []string{provider.URL + "/b", provider.URL + "/a", user.URL + "/c", provider.URL + "/a"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := s.Operations(); !slices.Equal(got, []string{"/a", "/b"}) {
		t.Errorf("Operations() = %v, want the provider's /a and /b", got)
	}
}

func TestUnreached(t *testing.T) {
	t.Parallel()
	if err := Unreached([]string{"a", "b"}, []string{"a", "b", "poll"}); err != nil {
		t.Errorf("every callable verb served: %v", err)
	}
	if err := Unreached([]string{"a", "b"}, []string{"a"}); err == nil || !strings.Contains(err.Error(), "the provider can call b") {
		t.Errorf("b never served: err = %v", err)
	}
}

func TestInterfaceMethods(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := "package p\n\ntype api interface {\n\tGet() error\n\tPut(int) error\n}\n\ntype other interface{ X() }\n"
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p_test.go"), []byte("package p\n\ntype api2 interface{ Hidden() }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := InterfaceMethods(dir, "api")
	if err != nil || !slices.Equal(got["api"], []string{"Get", "Put"}) || len(got) != 1 {
		t.Errorf("InterfaceMethods = %v, %v; want api: [Get Put]", got, err)
	}
	if _, err := InterfaceMethods(dir, "api2"); err == nil {
		t.Error("an interface declared only in a test file was found")
	}
}
