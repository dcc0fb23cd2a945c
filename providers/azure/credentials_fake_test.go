package azure

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
)

// origin carries a request's real scheme and host from redirect to the fake.
const origin = "X-Test-Origin"

// tokenLifetime is below the five minutes within which MSAL treats a cached token as
// expired, so every credential asks the fake again. Without it a second -count run would get
// the system-assigned identity's token from MSAL's process-wide managed identity cache.
const tokenLifetime = 2 * time.Minute

// fakeCloud serves, behind one TLS listener, what the provider talks to at the clouds' real
// host names: Microsoft Entra ID (instance and tenant discovery, the token endpoint), the
// instance metadata service and Resource Manager (fakeazure). Its transport rewrites each
// request's host to the listener, so the cloud configuration the provider derives from
// azure.json is exercised unchanged.
type fakeCloud struct {
	t   *testing.T
	srv *httptest.Server
	arm *fakeazure.Server

	mu sync.Mutex
	// tokens are the token requests (Entra ID token endpoint or IMDS), in order.
	tokens []tokenRequest
	// issued are the access tokens handed out, in order.
	issued []string
	// armAuth are the Authorization headers ARM received, armCalls its requests.
	armAuth, armCalls []string
	// other are the remaining requests ("GET https://host/path"), e.g. discovery.
	other []string
}

// tokenRequest is what one token request carried.
type tokenRequest struct {
	method string
	// url is the URL as the client sent it, without the query.
	url string
	// values are the form (token endpoint) or the query (IMDS).
	values url.Values
	header http.Header
}

func newFakeCloud(t *testing.T, subscription string) *fakeCloud {
	t.Helper()
	f := &fakeCloud{t: t, arm: fakeazure.New(fakeazure.Options{SubscriptionID: subscription, Location: "westeurope"})}
	f.srv = httptest.NewTLSServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// transport sends every request to the fake, keeping its scheme and host in origin.
func (f *fakeCloud) transport() redirect {
	u, _ := url.Parse(f.srv.URL)
	return redirect{to: u, client: f.srv.Client()}
}

type redirect struct {
	to     *url.URL
	client *http.Client
}

func (r redirect) Do(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set(origin, req.URL.Scheme+"://"+req.URL.Host)
	out.URL.Scheme, out.URL.Host, out.Host = r.to.Scheme, r.to.Host, ""
	return r.client.Do(out)
}

func (f *fakeCloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o, err := url.Parse(r.Header.Get(origin))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	host := o.Host
	switch {
	case host == "169.254.169.254":
		f.imds(w, r, o.String())
	case strings.HasPrefix(host, "login."):
		f.entra(w, r, o.Host)
	case strings.HasPrefix(host, "management."):
		f.mu.Lock()
		f.armAuth = append(f.armAuth, r.Header.Get("Authorization"))
		f.armCalls = append(f.armCalls, r.Method+" "+o.String()+r.URL.Path)
		f.mu.Unlock()
		f.arm.ServeHTTP(w, r)
	default:
		f.t.Errorf("request to an unexpected host: %s %s%s", r.Method, host, r.URL.Path)
		http.Error(w, "unexpected host", http.StatusBadGateway)
	}
}

// entra answers like Microsoft Entra ID for any tenant of the host it was sent to.
func (f *fakeCloud) entra(w http.ResponseWriter, r *http.Request, host string) {
	base := "https://" + host
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance":
		f.note(r, host)
		au, err := url.Parse(r.URL.Query().Get("authorization_endpoint"))
		if err != nil || au.Path == "" {
			http.Error(w, "authorization_endpoint", http.StatusBadRequest)
			return
		}
		tenant := strings.Split(strings.Trim(au.Path, "/"), "/")[0]
		writeJSON(w, map[string]any{
			"api-version":               "1.1",
			"tenant_discovery_endpoint": base + "/" + tenant + "/v2.0/.well-known/openid-configuration",
			"metadata":                  []map[string]any{{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}},
		})
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		f.note(r, host)
		writeJSON(w, map[string]any{
			"token_endpoint":         base + "/" + parts[0] + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/" + parts[0] + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/" + parts[0] + "/v2.0",
		})
	case r.Method == http.MethodPost && len(parts) == 4 && parts[1] == "oauth2" && parts[3] == "token":
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tok := f.record(r, base, r.PostForm)
		writeJSON(w, map[string]any{"token_type": "Bearer", "access_token": tok,
			"expires_in": int(tokenLifetime.Seconds()), "ext_expires_in": int(tokenLifetime.Seconds())})
	default:
		f.t.Errorf("unexpected Entra ID request %s %s%s", r.Method, host, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
	}
}

// imds answers token requests like the instance metadata service (strings for the times).
func (f *fakeCloud) imds(w http.ResponseWriter, r *http.Request, origin string) {
	if r.URL.Path != "/metadata/identity/oauth2/token" {
		f.t.Errorf("unexpected IMDS request %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	tok := f.record(r, origin, q)
	writeJSON(w, map[string]any{"token_type": "Bearer", "access_token": tok, "resource": q.Get("resource"),
		"expires_in": fmt.Sprint(int(tokenLifetime.Seconds())), "expires_on": fmt.Sprint(time.Now().Add(tokenLifetime).Unix())})
}

func (f *fakeCloud) record(r *http.Request, origin string, values url.Values) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := fmt.Sprintf("issued-token-%d-%d", time.Now().UnixNano(), len(f.issued)+1)
	f.tokens = append(f.tokens, tokenRequest{method: r.Method, url: origin + r.URL.Path, values: values, header: r.Header.Clone()})
	f.issued = append(f.issued, tok)
	return tok
}

func (f *fakeCloud) note(r *http.Request, host string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.other = append(f.other, r.Method+" https://"+host+r.URL.Path)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// describe renders a token request for the test log, masking the secrets it names.
func (tr tokenRequest) describe(mask ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", tr.method, tr.url)
	if tr.header.Get("Metadata") != "" {
		fmt.Fprintf(&b, " (Metadata: %s)", tr.header.Get("Metadata"))
	}
	keys := make([]string, 0, len(tr.values))
	for k := range tr.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := tr.values.Get(k)
		for _, m := range mask {
			if m != "" && v == m {
				v = "****** (masked; equals the configured value)"
			}
		}
		if len(v) > 120 {
			v = v[:40] + "...(" + fmt.Sprint(len(v)) + " bytes)"
		}
		fmt.Fprintf(&b, "\n    %s=%s", k, v)
	}
	return b.String()
}
