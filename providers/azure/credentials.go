package azure

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/go-logr/logr"
)

// authMode names how the provider authenticates to Resource Manager; it is logged at start.
type authMode string

// The modes, in upstream cloud-provider-azure's order of precedence (pkg/azclient
// NewAuthProvider): workload identity, managed identity, client secret, client certificate.
// DefaultAzureCredential is cloudlb's own fallback for an azure.json naming none of them,
// where upstream fails with "no credentials provided".
const (
	authWorkloadIdentity  authMode = "workload-identity"
	authManagedIdentity   authMode = "managed-identity"
	authClientSecret      authMode = "service-principal-secret"
	authClientCertificate authMode = "service-principal-certificate"
	authDefault           authMode = "default-azure-credential"
	authStaticTestToken   authMode = "static-test-token"
)

// The variables the Azure workload identity webhook injects into a pod. Upstream lets them
// override azure.json (and AZURE_FEDERATED_TOKEN_FILE alone turns workload identity on), so a
// cluster moving from cloud-provider-azure authenticates the same way.
const (
	envClientID           = "AZURE_CLIENT_ID"
	envTenantID           = "AZURE_TENANT_ID"
	envClientSecret       = "AZURE_CLIENT_SECRET"
	envFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
)

// CredentialError is an azure.json credential key (or the variable overriding it) whose
// value cannot give a credential.
type CredentialError struct {
	// Key is the azure.json key, or the environment variable the value came from.
	Key string
	Err error
}

func (e *CredentialError) Error() string {
	if strings.HasPrefix(e.Key, "AZURE_") {
		return "azure credentials: environment variable " + e.Key + ": " + e.Err.Error()
	}
	return "azure cloud config: " + e.Key + ": " + e.Err.Error()
}

func (e *CredentialError) Unwrap() error { return e.Err }

func credErr(key, format string, args ...any) error {
	return &CredentialError{Key: key, Err: fmt.Errorf(format, args...)}
}

// setting is one effective value and where it came from, so errors and the log line name
// what the user has to change.
type setting struct {
	value string
	key   string
}

// authInputs are azure.json's credential keys after upstream's environment overrides.
type authInputs struct {
	tenantID, clientID, clientSecret, tokenFile setting
	certPath, certPassword                      string
	useManagedIdentity, useWorkloadIdentity     bool
	userAssignedIdentityID                      string
	// fileKeys are the credential keys azure.json sets, for the log line.
	fileKeys []string
}

func pick(getenv func(string) string, env, jsonKey, jsonValue string) setting {
	if v := getenv(env); v != "" {
		return setting{value: v, key: env}
	}
	return setting{value: jsonValue, key: jsonKey}
}

func (cc *CloudConfig) authInputs(getenv func(string) string) authInputs {
	in := authInputs{
		tenantID:               pick(getenv, envTenantID, "tenantId", cc.TenantID),
		clientID:               pick(getenv, envClientID, "aadClientId", cc.AADClientID),
		clientSecret:           pick(getenv, envClientSecret, "aadClientSecret", cc.AADClientSecret),
		tokenFile:              pick(getenv, envFederatedTokenFile, "aadFederatedTokenFile", cc.AADFederatedTokenFile),
		certPath:               cc.AADClientCertPath,
		certPassword:           cc.AADClientCertPassword,
		useManagedIdentity:     cc.UseManagedIdentityExtension,
		useWorkloadIdentity:    cc.UseFederatedWorkloadIdentityExtension,
		userAssignedIdentityID: cc.UserAssignedIdentityID,
	}
	if getenv(envFederatedTokenFile) != "" {
		in.useWorkloadIdentity = true
	}
	for _, k := range []struct {
		key string
		set bool
	}{
		{"aadClientId", cc.AADClientID != ""}, {"aadClientSecret", cc.AADClientSecret != ""},
		{"aadClientCertPath", cc.AADClientCertPath != ""}, {"aadClientCertPassword", cc.AADClientCertPassword != ""},
		{"useManagedIdentityExtension", cc.UseManagedIdentityExtension}, {"userAssignedIdentityID", cc.UserAssignedIdentityID != ""},
		{"useFederatedWorkloadIdentityExtension", cc.UseFederatedWorkloadIdentityExtension}, {"aadFederatedTokenFile", cc.AADFederatedTokenFile != ""},
	} {
		if k.set {
			in.fileKeys = append(in.fileKeys, k.key)
		}
	}
	return in
}

// modeKeys are the azure.json keys each mode reads (tenantId aside, which names the tenant
// of every mode).
var modeKeys = map[authMode][]string{
	authWorkloadIdentity:  {"useFederatedWorkloadIdentityExtension", "aadFederatedTokenFile", "aadClientId"},
	authManagedIdentity:   {"useManagedIdentityExtension", "userAssignedIdentityID"},
	authClientSecret:      {"aadClientSecret", "aadClientId"},
	authClientCertificate: {"aadClientCertPath", "aadClientCertPassword", "aadClientId"},
}

// unused are the credential keys azure.json sets that mode does not read. Upstream ignores
// them silently, which hides, for example, a forgotten useManagedIdentityExtension next to
// userAssignedIdentityID; the log line names them.
func (in authInputs) unused(mode authMode) []string {
	var out []string
	for _, k := range in.fileKeys {
		if !slices.Contains(modeKeys[mode], k) {
			out = append(out, k)
		}
	}
	return out
}

// mode is upstream's precedence. Several modes may be configured at once (AKS writes
// "aadClientId": "msi", "aadClientSecret": "msi" next to useManagedIdentityExtension), so
// the first one wins rather than the combination being an error.
func (in authInputs) mode() authMode {
	switch {
	case in.useWorkloadIdentity:
		return authWorkloadIdentity
	case in.useManagedIdentity:
		return authManagedIdentity
	case in.clientSecret.value != "":
		return authClientSecret
	case in.certPath != "":
		return authClientCertificate
	default:
		return authDefault
	}
}

// credentialDeps are what choosing a credential reads besides azure.json.
type credentialDeps struct {
	// getenv reads the workload identity webhook's variables (os.Getenv in production).
	getenv func(string) string
	// transport carries token and ARM requests; nil is the SDK's HTTP client. Tests put a
	// fake Entra ID, IMDS and ARM behind it, at the clouds' real host names.
	transport policy.Transporter
	log       logr.Logger
}

// newCredential builds the credential azure.json asks for and logs the choice (never a
// secret, a password or a token).
func (cc *CloudConfig) newCredential(opts azcore.ClientOptions, d credentialDeps) (azcore.TokenCredential, error) {
	in := cc.authInputs(d.getenv)
	mode := in.mode()
	cred, kv, err := in.credential(mode, opts)
	if err != nil {
		return nil, err
	}
	if u := in.unused(mode); len(u) > 0 {
		kv = append(kv, "unusedKeys", u)
	}
	d.log.Info("Chose Azure credentials", append([]any{"mode", string(mode)}, kv...)...)
	return cred, nil
}

// credential builds mode's credential; kv are the non-secret facts for the log line.
func (in authInputs) credential(mode authMode, opts azcore.ClientOptions) (azcore.TokenCredential, []any, error) {
	switch mode {
	case authWorkloadIdentity:
		return in.workloadIdentity(opts)
	case authManagedIdentity:
		return in.managedIdentity(opts)
	case authClientSecret:
		if err := in.requireServicePrincipal(); err != nil {
			return nil, nil, err
		}
		cred, err := azidentity.NewClientSecretCredential(in.tenantID.value, in.clientID.value, in.clientSecret.value,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
		if err != nil {
			return nil, nil, fmt.Errorf("azure: client secret credential: %w", err)
		}
		return cred, append(in.principalFacts(), "secretFrom", in.clientSecret.key), nil
	case authClientCertificate:
		return in.clientCertificate(opts)
	default:
		// No mode named: keep what cloudlb did before it read the credential keys, which also
		// covers AZURE_CLIENT_SECRET-less environment credentials and the Azure CLI.
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts, TenantID: in.tenantID.value})
		if err != nil {
			return nil, nil, fmt.Errorf("azure: default credential: %w", err)
		}
		return cred, []any{"tenantId", in.tenantID.value}, nil
	}
}

// requireServicePrincipal checks what every service principal mode sends to Entra ID;
// azidentity would only fail at the first token request, with less to go on.
func (in authInputs) requireServicePrincipal() error {
	if in.clientID.value == "" {
		return credErr("aadClientId", "required with %s (or set %s)", in.modeKey(), envClientID)
	}
	if in.tenantID.value == "" {
		return credErr("tenantId", "required with %s (or set %s)", in.modeKey(), envTenantID)
	}
	return nil
}

// modeKey is the key that selected a service principal mode, for error messages.
func (in authInputs) modeKey() string {
	switch in.mode() {
	case authWorkloadIdentity:
		if in.tokenFile.key == envFederatedTokenFile {
			return envFederatedTokenFile
		}
		return "useFederatedWorkloadIdentityExtension"
	case authClientSecret:
		return in.clientSecret.key
	default:
		return "aadClientCertPath"
	}
}

func (in authInputs) principalFacts() []any {
	return []any{"tenantId", in.tenantID.value, "tenantIdFrom", in.tenantID.key,
		"aadClientId", in.clientID.value, "aadClientIdFrom", in.clientID.key}
}

func (in authInputs) workloadIdentity(opts azcore.ClientOptions) (azcore.TokenCredential, []any, error) {
	if in.tokenFile.value == "" {
		return nil, nil, credErr("aadFederatedTokenFile", "required with useFederatedWorkloadIdentityExtension (or set %s)", envFederatedTokenFile)
	}
	if err := in.requireServicePrincipal(); err != nil {
		return nil, nil, err
	}
	// The kubelet projects the token before the container starts, so a missing file is a
	// wrong path, not a race; azidentity would only notice at the first token request.
	if _, err := os.Stat(in.tokenFile.value); err != nil {
		return nil, nil, credErr(in.tokenFile.key, "the service account token file: %w", err)
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: opts, ClientID: in.clientID.value, TenantID: in.tenantID.value, TokenFilePath: in.tokenFile.value})
	if err != nil {
		return nil, nil, fmt.Errorf("azure: workload identity credential: %w", err)
	}
	return cred, append(in.principalFacts(), "tokenFile", in.tokenFile.value, "tokenFileFrom", in.tokenFile.key), nil
}

func (in authInputs) managedIdentity(opts azcore.ClientOptions) (azcore.TokenCredential, []any, error) {
	o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
	kv := []any{"identity", "system-assigned"}
	if id := in.userAssignedIdentityID; id != "" {
		// Upstream's rule: an ID with a /subscriptions/ segment is a resource ID, anything
		// else a client ID. Both are checked here because IMDS answers a malformed one with
		// a bare 400 at the first ARM call.
		if strings.Contains(strings.ToLower(id), "/subscriptions/") {
			r, err := arm.ParseResourceID(id)
			if err != nil || !strings.EqualFold(r.ResourceType.String(), "Microsoft.ManagedIdentity/userAssignedIdentities") {
				return nil, nil, credErr("userAssignedIdentityID", "%q is neither a client ID nor the resource ID of a Microsoft.ManagedIdentity/userAssignedIdentities", id)
			}
			o.ID = azidentity.ResourceID(id)
			kv = []any{"identity", "user-assigned", "resourceId", id}
		} else {
			if !isGUID(id) {
				return nil, nil, credErr("userAssignedIdentityID", "%q is neither a client ID (a GUID) nor a resource ID (/subscriptions/...)", id)
			}
			o.ID = azidentity.ClientID(id)
			kv = []any{"identity", "user-assigned", "clientId", id}
		}
	}
	cred, err := azidentity.NewManagedIdentityCredential(o)
	if err != nil {
		return nil, nil, fmt.Errorf("azure: managed identity credential: %w", err)
	}
	return cred, kv, nil
}

func (in authInputs) clientCertificate(opts azcore.ClientOptions) (azcore.TokenCredential, []any, error) {
	if err := in.requireServicePrincipal(); err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(in.certPath)
	if err != nil {
		return nil, nil, credErr("aadClientCertPath", "reading the client certificate: %w", err)
	}
	var password []byte
	if in.certPassword != "" {
		password = []byte(in.certPassword)
	}
	certs, key, err := azidentity.ParseCertificates(data, password)
	if err != nil {
		// Both keys are named: a wrong password and an unreadable format look the same here.
		return nil, nil, credErr("aadClientCertPath", "%s: with aadClientCertPassword %s: %w (want PEM with an unencrypted key, or PKCS#12 with a SHA-1 MAC as Windows and `openssl pkcs12 -export -legacy` write)",
			in.certPath, presence(in.certPassword), err)
	}
	// SendCertificateChain (x5c) as upstream does, so subject name/issuer authentication works.
	cred, err := azidentity.NewClientCertificateCredential(in.tenantID.value, in.clientID.value, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, SendCertificateChain: true})
	if err != nil {
		return nil, nil, fmt.Errorf("azure: client certificate credential: %w", err)
	}
	sum := sha256.Sum256(certs[0].Raw)
	return cred, append(in.principalFacts(), "certificate", in.certPath, "subject", certs[0].Subject.String(),
		"sha256", hex.EncodeToString(sum[:])), nil
}

// presence tells whether a password was set without revealing it.
func presence(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}
