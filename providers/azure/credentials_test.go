package azure

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

const (
	credSub    = "00000000-0000-0000-0000-0000000000cc"
	credTenant = "11111111-2222-3333-4444-555555555555"
	credClient = "66666666-7777-8888-9999-000000000000"
	credSecret = "s3cr3t-client-secret-value"
	pfxPass    = "test-pfx-password"
	armScope   = "https://management.core.windows.net//.default" // cloud.AzurePublic's ARM audience + "/.default"
	uaiResID   = "/subscriptions/" + credSub + "/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/cloudlb"
	assertType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// credConfig is an azure.json for the fake cloud plus credential keys.
func credConfig(t *testing.T, keys map[string]any) *CloudConfig {
	t.Helper()
	m := map[string]any{"subscriptionId": credSub, "resourceGroup": "rg", "location": "westeurope", "vnetName": "vnet", "subnetName": "nodes"}
	for k, v := range keys {
		m[k] = v
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := ParseCloudConfig(strings.NewReader(string(js)))
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// files writes name→content into a temporary directory and returns name→path.
func files(t *testing.T, contents map[string][]byte) map[string]string {
	t.Helper()
	dir, paths := t.TempDir(), map[string]string{}
	for name, c := range contents {
		paths[name] = filepath.Join(dir, name)
		if err := os.WriteFile(paths[name], c, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "credentials", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".b64") {
		if b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), "")); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func pemCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(data)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newPEMCredential makes a self-signed certificate and its key in one PEM file, as
// `az ad sp create-for-rbac --create-cert` writes it.
func newPEMCredential(t *testing.T) (*x509.Certificate, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cloudlb-pem-client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})...)
}

// checkAssertion verifies a client assertion as Entra ID does: signed (PS256) by the key of
// cert, which the header names by its SHA-256 thumbprint and sends as x5c, for this client
// and token endpoint.
func checkAssertion(t *testing.T, jwt string, cert *x509.Certificate, tokenURL string) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("client_assertion is not a JWS: %q", jwt)
	}
	var hdr struct {
		Alg string   `json:"alg"`
		X5t string   `json:"x5t#S256"`
		X5c []string `json:"x5c"`
		Typ string   `json:"typ"`
	}
	var claims struct{ Aud, Iss, Sub string }
	for i, v := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err == nil {
			err = json.Unmarshal(b, v)
		}
		if err != nil {
			t.Fatalf("client_assertion part %d: %v", i, err)
		}
	}
	sum := sha256.Sum256(cert.Raw)
	if hdr.Alg != "PS256" || hdr.X5t != base64.StdEncoding.EncodeToString(sum[:]) || len(hdr.X5c) == 0 || hdr.X5c[0] != base64.StdEncoding.EncodeToString(cert.Raw) {
		t.Errorf("client_assertion header %+v does not name the certificate %s", hdr, cert.Subject)
	}
	if claims.Aud != tokenURL || claims.Iss != credClient || claims.Sub != credClient {
		t.Errorf("client_assertion claims %+v: want aud %s, iss and sub %s", claims, tokenURL, credClient)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPSS(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		t.Errorf("client_assertion is not signed by %s: %v", cert.Subject, err)
	}
}

// TestCredentialModes builds the provider from azure.json as NewFromConfig does, reads a load
// balancer through it, and checks what the token endpoint (or IMDS) received and that ARM
// got the token it issued.
func TestCredentialModes(t *testing.T) {
	t.Parallel()
	pemCertificate, pemFile := newPEMCredential(t)
	pfxCertificate := pemCert(t, testdata(t, "client-cert.pem"))
	federated := "eyJhbGciOiJSUzI1NiJ9.service-account-token." + credTenant
	paths := files(t, map[string][]byte{"client.pem": pemFile, "client.pfx": testdata(t, "client-sha1mac.pfx.b64"), "token": []byte(federated)})
	tokenURL := "https://login.microsoftonline.com/" + credTenant + "/oauth2/v2.0/token"
	sp := map[string]any{"tenantId": credTenant, "aadClientId": credClient}
	with := func(base map[string]any, kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		keys     map[string]any
		env      map[string]string
		wantMode authMode
		wantURL  string
		// want are the form (or IMDS query) values that must be sent exactly ("" means absent;
		// scope must be among those sent).
		want map[string]string
		// cert, when set, must have signed the client_assertion.
		cert *x509.Certificate
		// mask are values the log line must not contain and the test log masks.
		mask []string
		// wantLog is in the log line, besides the mode.
		wantLog string
	}{
		{name: "client secret", keys: with(sp, "aadClientSecret", credSecret), wantMode: authClientSecret, wantURL: tokenURL,
			want: map[string]string{"grant_type": "client_credentials", "client_id": credClient, "client_secret": credSecret, "scope": armScope, "client_assertion": ""},
			mask: []string{credSecret}},
		{name: "client secret wins over a certificate, which is not read", keys: with(sp, "aadClientSecret", credSecret, "aadClientCertPath", "/nonexistent.pfx"),
			wantMode: authClientSecret, wantURL: tokenURL, want: map[string]string{"client_secret": credSecret, "client_assertion": ""}, mask: []string{credSecret},
			wantLog: `"unusedKeys"=["aadClientCertPath"]`},
		{name: "client secret in China cloud", keys: with(sp, "aadClientSecret", credSecret, "cloud", "AzureChinaCloud"), wantMode: authClientSecret,
			wantURL: "https://login.chinacloudapi.cn/" + credTenant + "/oauth2/v2.0/token",
			want:    map[string]string{"client_secret": credSecret, "scope": "https://management.core.chinacloudapi.cn//.default"}, mask: []string{credSecret}},
		{name: "certificate PEM", keys: with(sp, "aadClientCertPath", paths["client.pem"]), wantMode: authClientCertificate, wantURL: tokenURL,
			want: map[string]string{"grant_type": "client_credentials", "client_id": credClient, "client_assertion_type": assertType, "scope": armScope, "client_secret": ""},
			cert: pemCertificate},
		{name: "certificate PKCS#12 with password", keys: with(sp, "aadClientCertPath", paths["client.pfx"], "aadClientCertPassword", pfxPass),
			wantMode: authClientCertificate, wantURL: tokenURL,
			want: map[string]string{"grant_type": "client_credentials", "client_id": credClient, "client_assertion_type": assertType, "scope": armScope},
			cert: pfxCertificate, mask: []string{pfxPass}},
		{name: "system-assigned managed identity", keys: map[string]any{"useManagedIdentityExtension": true, "aadClientId": "msi", "aadClientSecret": "msi"},
			wantMode: authManagedIdentity, wantURL: "http://169.254.169.254/metadata/identity/oauth2/token",
			want:    map[string]string{"resource": "https://management.core.windows.net/", "api-version": "2018-02-01", "client_id": "", "msi_res_id": ""},
			wantLog: `"identity"="system-assigned" "unusedKeys"=["aadClientId" "aadClientSecret"]`},
		{name: "user-assigned managed identity by client ID", keys: map[string]any{"useManagedIdentityExtension": true, "userAssignedIdentityID": credClient},
			wantMode: authManagedIdentity, wantURL: "http://169.254.169.254/metadata/identity/oauth2/token",
			want: map[string]string{"resource": "https://management.core.windows.net/", "client_id": credClient, "msi_res_id": ""}},
		{name: "user-assigned managed identity by resource ID", keys: map[string]any{"useManagedIdentityExtension": true, "userAssignedIdentityID": uaiResID},
			wantMode: authManagedIdentity, wantURL: "http://169.254.169.254/metadata/identity/oauth2/token",
			want: map[string]string{"resource": "https://management.core.windows.net/", "msi_res_id": uaiResID, "client_id": ""}},
		{name: "workload identity", keys: with(sp, "useFederatedWorkloadIdentityExtension", true, "aadFederatedTokenFile", paths["token"]),
			wantMode: authWorkloadIdentity, wantURL: tokenURL,
			want: map[string]string{"grant_type": "client_credentials", "client_id": credClient, "client_assertion_type": assertType, "client_assertion": federated, "scope": armScope},
			mask: []string{federated}},
		{name: "workload identity webhook variables override azure.json and win over its secret",
			keys:     map[string]any{"tenantId": "other-tenant", "aadClientId": "other-client", "aadClientSecret": credSecret},
			env:      map[string]string{envFederatedTokenFile: paths["token"], envClientID: credClient, envTenantID: credTenant},
			wantMode: authWorkloadIdentity, wantURL: tokenURL,
			want: map[string]string{"client_id": credClient, "client_assertion": federated, "client_secret": ""}, mask: []string{credSecret, federated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeCloud(t, credSub)
			var logged []string
			log := funcr.New(func(prefix, args string) { logged = append(logged, args) }, funcr.Options{})
			getenv := func(k string) string { return tc.env[k] }
			c, err := newFromConfig(credConfig(t, tc.keys), credentialDeps{getenv: getenv, transport: f.transport(), log: log},
				Limits{QPS: 1000, Burst: 1000, RetryDelay: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, exists, err := c.GetLoadBalancer(ctx, "demo", testService(nil)); err != nil || exists {
				t.Fatalf("GetLoadBalancer through the credential: exists %v, %v", exists, err)
			}

			if len(logged) != 1 || !strings.Contains(logged[0], `"mode"="`+string(tc.wantMode)+`"`) || !strings.Contains(logged[0], tc.wantLog) {
				t.Errorf("log %q: want one line with mode %s and %s", logged, tc.wantMode, tc.wantLog)
			}
			for _, s := range tc.mask {
				if strings.Contains(strings.Join(logged, "\n"), s) {
					t.Errorf("the log line reveals a secret: %q", logged)
				}
			}
			if len(f.tokens) != 1 {
				t.Fatalf("%d token requests, want 1: %+v", len(f.tokens), f.tokens)
			}
			tr := f.tokens[0]
			t.Logf("log: %s\ndiscovery: %q\ntoken request: %s\nARM received: %q with Authorization: %q", logged, f.other, tr.describe(tc.mask...), f.armCalls, f.armAuth)
			if tr.url != tc.wantURL {
				t.Errorf("token request sent to %s, want %s", tr.url, tc.wantURL)
			}
			for k, v := range tc.want {
				if got, sent := tr.values[k]; v == "" && sent {
					t.Errorf("%s sent (%q), want it absent", k, got)
				} else if k == "scope" {
					// MSAL adds the OpenID Connect scopes to the one requested.
					if !slices.Contains(strings.Fields(tr.values.Get(k)), v) {
						t.Errorf("scope %q does not include %q", tr.values.Get(k), v)
					}
				} else if v != "" && tr.values.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, tr.values.Get(k), v)
				}
			}
			if tc.wantMode == authManagedIdentity && tr.header.Get("Metadata") != "true" {
				t.Errorf("IMDS request without Metadata: true (headers %v)", tr.header)
			}
			if tc.cert != nil {
				checkAssertion(t, tr.values.Get("client_assertion"), tc.cert, tokenURL)
			}
			if len(f.armAuth) == 0 {
				t.Fatal("ARM received no request")
			}
			for _, a := range f.armAuth {
				if a != "Bearer "+f.issued[0] {
					t.Errorf("ARM received Authorization %q, want the issued token %q", a, "Bearer "+f.issued[0])
				}
			}
		})
	}
}

// TestCredentialErrors: a configuration that cannot give a credential fails at start with
// the azure.json key (or variable) to change, before any request is sent.
func TestCredentialErrors(t *testing.T) {
	t.Parallel()
	paths := files(t, map[string][]byte{
		"client.pfx": testdata(t, "client-sha1mac.pfx.b64"), "sha256mac.pfx": testdata(t, "client-sha256mac.pfx.b64"),
		"cert-only.pem": testdata(t, "client-cert.pem"), "token": []byte("jwt"),
	})
	sp := func(kv ...any) map[string]any {
		m := map[string]any{"tenantId": credTenant, "aadClientId": credClient}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		keys    map[string]any
		env     map[string]string
		wantKey string
		wantMsg string
	}{
		{name: "secret without client ID", keys: map[string]any{"tenantId": credTenant, "aadClientSecret": credSecret}, wantKey: "aadClientId", wantMsg: "required with aadClientSecret"},
		{name: "secret from the environment without tenant", keys: map[string]any{"aadClientId": credClient}, env: map[string]string{envClientSecret: credSecret},
			wantKey: "tenantId", wantMsg: "required with AZURE_CLIENT_SECRET"},
		{name: "certificate file missing", keys: sp("aadClientCertPath", "/nonexistent/client.pfx"), wantKey: "aadClientCertPath", wantMsg: "no such file"},
		{name: "certificate password wrong", keys: sp("aadClientCertPath", paths["client.pfx"], "aadClientCertPassword", "wrong"),
			wantKey: "aadClientCertPath", wantMsg: "aadClientCertPassword set"},
		{name: "certificate password missing", keys: sp("aadClientCertPath", paths["client.pfx"]), wantKey: "aadClientCertPath", wantMsg: "aadClientCertPassword unset"},
		{name: "PKCS#12 with a SHA-256 MAC", keys: sp("aadClientCertPath", paths["sha256mac.pfx"], "aadClientCertPassword", pfxPass),
			wantKey: "aadClientCertPath", wantMsg: "-legacy"},
		{name: "PEM without a key", keys: sp("aadClientCertPath", paths["cert-only.pem"]), wantKey: "aadClientCertPath", wantMsg: "PEM"},
		{name: "certificate without tenant", keys: map[string]any{"aadClientId": credClient, "aadClientCertPath": paths["client.pfx"]},
			wantKey: "tenantId", wantMsg: "required with aadClientCertPath"},
		{name: "managed identity with another resource's ID",
			keys:    map[string]any{"useManagedIdentityExtension": true, "userAssignedIdentityID": "/subscriptions/" + credSub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"},
			wantKey: "userAssignedIdentityID", wantMsg: "userAssignedIdentities"},
		{name: "managed identity with a name for an ID", keys: map[string]any{"useManagedIdentityExtension": true, "userAssignedIdentityID": "cloudlb-identity"},
			wantKey: "userAssignedIdentityID", wantMsg: "GUID"},
		{name: "workload identity without token file", keys: sp("useFederatedWorkloadIdentityExtension", true), wantKey: "aadFederatedTokenFile", wantMsg: "required"},
		{name: "workload identity token file missing", keys: sp("useFederatedWorkloadIdentityExtension", true, "aadFederatedTokenFile", "/nonexistent/token"),
			wantKey: "aadFederatedTokenFile", wantMsg: "no such file"},
		{name: "workload identity variable pointing nowhere", keys: sp(), env: map[string]string{envFederatedTokenFile: "/var/run/missing/token"},
			wantKey: envFederatedTokenFile, wantMsg: "no such file"},
		{name: "workload identity without client ID", keys: map[string]any{"tenantId": credTenant, "useFederatedWorkloadIdentityExtension": true, "aadFederatedTokenFile": paths["token"]},
			wantKey: "aadClientId", wantMsg: "required with useFederatedWorkloadIdentityExtension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeCloud(t, credSub)
			_, err := newFromConfig(credConfig(t, tc.keys), credentialDeps{getenv: func(k string) string { return tc.env[k] }, transport: f.transport(), log: logr.Discard()}, Limits{})
			t.Log(err)
			var ce *CredentialError
			if !errors.As(err, &ce) || ce.Key != tc.wantKey || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %v: want a CredentialError for %s mentioning %q", err, tc.wantKey, tc.wantMsg)
			}
			if strings.Contains(err.Error(), credSecret) || strings.Contains(err.Error(), pfxPass) {
				t.Errorf("the error reveals a secret: %v", err)
			}
			if len(f.tokens)+len(f.other)+len(f.armAuth) > 0 {
				t.Errorf("requests sent before the configuration was refused: %d tokens, %q, %d ARM", len(f.tokens), f.other, len(f.armAuth))
			}
		})
	}
}

// TestAuthModePrecedence is upstream's order (pkg/azclient NewAuthProvider): workload
// identity, managed identity, client secret, client certificate; DefaultAzureCredential only
// when none is named.
func TestAuthModePrecedence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cc   CloudConfig
		env  map[string]string
		want authMode
	}{
		{name: "nothing", want: authDefault},
		{name: "tenant and client ID only", cc: CloudConfig{TenantID: "t", AADClientID: "c"}, want: authDefault},
		{name: "certificate password only", cc: CloudConfig{AADClientCertPassword: "p"}, want: authDefault},
		{name: "user-assigned ID without the managed identity switch", cc: CloudConfig{UserAssignedIdentityID: credClient}, want: authDefault},
		{name: "certificate", cc: CloudConfig{AADClientCertPath: "/c.pfx"}, want: authClientCertificate},
		{name: "secret over certificate", cc: CloudConfig{AADClientSecret: "s", AADClientCertPath: "/c.pfx"}, want: authClientSecret},
		{name: "secret from AZURE_CLIENT_SECRET", env: map[string]string{envClientSecret: "s"}, want: authClientSecret},
		{name: "managed identity over secret (AKS writes msi/msi)", cc: CloudConfig{UseManagedIdentityExtension: true, AADClientID: "msi", AADClientSecret: "msi"}, want: authManagedIdentity},
		{name: "workload identity over managed identity", cc: CloudConfig{UseManagedIdentityExtension: true, UseFederatedWorkloadIdentityExtension: true}, want: authWorkloadIdentity},
		{name: "AZURE_FEDERATED_TOKEN_FILE turns workload identity on", cc: CloudConfig{UseManagedIdentityExtension: true}, env: map[string]string{envFederatedTokenFile: "/t"}, want: authWorkloadIdentity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.cc.authInputs(func(k string) string { return tc.env[k] }).mode(); got != tc.want {
				t.Errorf("mode %s, want %s", got, tc.want)
			}
		})
	}
}

// TestCredentialKeysRedacted: the start-up log of the effective settings shows that a secret
// is set, never its value.
func TestCredentialKeysRedacted(t *testing.T) {
	t.Parallel()
	cc := credConfig(t, map[string]any{"aadClientId": credClient, "aadClientSecret": credSecret, "aadClientCertPassword": pfxPass})
	got := fmt.Sprint(cc.Effective())
	if strings.Contains(got, credSecret) || strings.Contains(got, pfxPass) || !strings.Contains(got, "aadClientSecret "+redacted) || !strings.Contains(got, credClient) {
		t.Errorf("effective settings %s: want aadClientSecret and aadClientCertPassword redacted, aadClientId shown", got)
	}
}
