package fakeazure

import (
	"context"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// ClientOptions points armnetwork clients at a fake served at endpoint (for example an
// httptest.Server's URL): Resource Manager endpoint and audience, bearer tokens allowed
// over plain HTTP, no resource provider registration, and retries fast enough for tests
// that still honour a Retry-After of up to 10 s.
func ClientOptions(endpoint string) *arm.ClientOptions {
	endpoint = strings.TrimRight(endpoint, "/")
	return &arm.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: endpoint + "/",
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.azure.com"},
				},
			},
			InsecureAllowCredentialWithHTTP: true,
			Retry: policy.RetryOptions{
				MaxRetries:    4,
				RetryDelay:    10 * time.Millisecond,
				MaxRetryDelay: 10 * time.Second,
			},
		},
		DisableRPRegistration: true,
	}
}

// Credential returns a static token credential the fake accepts.
func Credential() azcore.TokenCredential { return staticCredential{} }

type staticCredential struct{}

// GetToken returns the same long-lived fake token for every scope.
func (staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "fakeazure-token", ExpiresOn: time.Now().Add(24 * time.Hour)}, nil
}
