package fakeazure

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// rawCall sends one HTTP request as a non-SDK client would.
func rawCall(t *testing.T, method, url, auth, body string, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp, m
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestWireErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	base := e.url + "/subscriptions/" + e.subID() + "/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/p"
	for _, tc := range []struct {
		name, method, url, auth string
		status                  int
		code                    string
	}{
		{"no token", http.MethodGet, base + "?api-version=2025-05-01", "", http.StatusUnauthorized, "AuthenticationFailed"},
		{"no api-version", http.MethodGet, base, "Bearer x", http.StatusBadRequest, "MissingApiVersionParameter"},
		{"other subscription", http.MethodGet, strings.Replace(base, e.subID(), "11111111-1111-1111-1111-111111111111", 1) + "?api-version=1", "Bearer x", http.StatusNotFound, "SubscriptionNotFound"},
		{"unknown type", http.MethodGet, strings.Replace(base, "publicIPAddresses", "natGateways", 1) + "?api-version=1", "Bearer x", http.StatusNotFound, "InvalidResourceType"},
		{"missing", http.MethodGet, base + "?api-version=1", "Bearer x", http.StatusNotFound, "ResourceNotFound"},
		{"bad json", http.MethodPut, base + "?api-version=1", "Bearer x", http.StatusBadRequest, "InvalidRequestContent"},
		{"post", http.MethodPost, base + "?api-version=1", "Bearer x", http.StatusMethodNotAllowed, "MethodNotAllowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == http.MethodPut {
				body = "{not json"
			}
			resp, m := rawCall(t, tc.method, tc.url, tc.auth, body, nil)
			if resp.StatusCode != tc.status || errCode(m) != tc.code {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, errCode(m), tc.status, tc.code)
			}
		})
	}
}

// The first answer of a PUT and DELETE carries the async headers, and IDs keep the
// creator's case while lookups ignore case.
func TestWireLongRunningAndCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	url := e.url + "/subscriptions/" + e.subID() + "/resourceGroups/Cluster-RG/providers/Microsoft.Network/publicIPAddresses/Front-IP?api-version=2025-05-01"
	resp, m := rawCall(t, http.MethodPut, url, "Bearer x", `{"location":"westeurope","tags":{"a":"b"}}`, nil)
	props, _ := m["properties"].(map[string]any)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Azure-AsyncOperation") == "" || props["provisioningState"] != "Updating" {
		t.Fatalf("PUT: %d, async %q, state %v", resp.StatusCode, resp.Header.Get("Azure-AsyncOperation"), props["provisioningState"])
	}
	op, status := resp.Header.Get("Azure-AsyncOperation"), ""
	for range 3 {
		_, m := rawCall(t, http.MethodGet, op, "Bearer x", "", nil)
		status, _ = m["status"].(string)
		if status != "InProgress" {
			break
		}
	}
	if status != "Succeeded" {
		t.Fatalf("operation status = %q", status)
	}
	lower := strings.ToLower(url)
	resp, m = rawCall(t, http.MethodGet, lower, "Bearer x", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(m["id"].(string), "/resourceGroups/Cluster-RG/providers/Microsoft.Network/publicIPAddresses/Front-IP") {
		t.Fatalf("case-insensitive GET: %d id %v", resp.StatusCode, m["id"])
	}
	resp, _ = rawCall(t, http.MethodPut, lower, "Bearer x", `{"location":"westeurope"}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("update in other case: %d, want 200", resp.StatusCode)
	}

	res := e.srv.Resources()
	if len(res) != 1 || res[0].Name != "Front-IP" || res[0].ResourceGroup != "Cluster-RG" || res[0].Type != "Microsoft.Network/publicIPAddresses" {
		t.Fatalf("Resources() = %+v", res)
	}
	raw, ok := e.srv.Get(strings.ToUpper(res[0].ID))
	if !ok || !strings.Contains(string(raw), `"etag":"W/\"`) {
		t.Fatalf("Get(id) = %s, %v", raw, ok)
	}

	resp, _ = rawCall(t, http.MethodDelete, url, "Bearer x", "", nil)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") == "" || resp.Header.Get("Azure-AsyncOperation") == "" {
		t.Fatalf("DELETE: %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	loc := resp.Header.Get("Location")
	var final int
	for range 3 {
		r, _ := rawCall(t, http.MethodGet, loc, "Bearer x", "", nil)
		if final = r.StatusCode; final != http.StatusAccepted {
			break
		}
	}
	if final != http.StatusNoContent {
		t.Fatalf("operation result = %d, want 204", final)
	}
	if resp, _ := rawCall(t, http.MethodDelete, url, "Bearer x", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE of a missing resource: %d, want 204", resp.StatusCode)
	}
}

func TestResourcesAndGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	vn := e.vnet("vnet", "10.0.0.0/16", map[string]string{"nodes": "10.0.1.0/24"})
	e.pip("pip", map[string]*string{"k8s-azure-service": ptr("default/web")})
	if _, err := e.putNSG("nsg", allowRule("a", 100, "80")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range e.srv.Resources() {
		got = append(got, r.Type+" "+r.Name)
		if r.Name == "pip" && r.Tags["k8s-azure-service"] != "default/web" {
			t.Errorf("pip tags = %v", r.Tags)
		}
	}
	want := "[Microsoft.Network/networkSecurityGroups nsg Microsoft.Network/publicIPAddresses pip Microsoft.Network/virtualNetworks vnet]"
	if strings.Join(got, " ") != strings.Trim(want, "[]") {
		t.Fatalf("Resources() = %v, want %s", got, want)
	}
	raw, ok := e.srv.Get(str(vn.ID) + "/subnets/NODES")
	var sn map[string]any
	if !ok || json.Unmarshal(raw, &sn) != nil || sn["name"] != "nodes" {
		t.Fatalf("Get(subnet) = %s %v", raw, ok)
	}
	if _, ok := e.srv.Get(str(vn.ID) + "/subnets/none"); ok {
		t.Fatal("Get found a missing subnet")
	}
}

func TestStartAndClose(t *testing.T) {
	t.Parallel()
	srv := New(Options{})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := rawCall(t, http.MethodGet, url+"/subscriptions/"+srv.SubscriptionID()+"/providers/Microsoft.Network/loadBalancers?api-version=1", "Bearer x", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ListAll on the started server: %d", resp.StatusCode)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("server still answers after Close")
	}
}
