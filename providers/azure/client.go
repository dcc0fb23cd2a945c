package azure

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// policyOptions are the pipeline settings shared by every client of one Cloud.
type policyOptions struct {
	base   *arm.ClientOptions
	limits Limits
	// budgets are the token buckets of the attempts, one per kind, which also count them.
	budgets *budgets
	poll    time.Duration
}

// arm returns the client options: the caller's (or the cloud's) endpoint, our retry
// settings, the precondition, audit and metrics policies per call and the rate limiter per
// attempt.
func (o *policyOptions) arm() *arm.ClientOptions {
	out := &arm.ClientOptions{}
	if o.base != nil {
		*out = *o.base
	}
	out.Retry.MaxRetries = o.limits.MaxRetries
	if out.Retry.RetryDelay == 0 || out.Retry.RetryDelay > o.limits.RetryDelay {
		out.Retry.RetryDelay = o.limits.RetryDelay
	}
	if out.Retry.MaxRetryDelay == 0 {
		out.Retry.MaxRetryDelay = defaultMaxDelay
	}
	out.PerCallPolicies = append(append([]policy.Policy{}, out.PerCallPolicies...), conditionPolicy{}, auditPolicy{}, metricsPolicy{observe: cloudapi.Observe})
	out.PerRetryPolicies = append(append([]policy.Policy{}, out.PerRetryPolicies...), limitPolicy{o.budgets})
	return out
}

// newPolicyOptions resolves l, its zero rates taken from cfg (the cloud config's) or the
// defaults.
func newPolicyOptions(base *arm.ClientOptions, l Limits, cfg kindRates) *policyOptions {
	l = l.withDefaults(cfg)
	return &policyOptions{base: base, limits: l, budgets: newBudgets(l, time.Now), poll: l.Poll}
}

// cloudConfiguration maps the config's cloud name and endpoint override to azcore's.
func (cc *CloudConfig) cloudConfiguration() (cloud.Configuration, error) {
	var c cloud.Configuration
	switch normalizeCloudName(cc.Cloud) {
	case "", "azurepubliccloud", "azurecloud":
		c = cloud.AzurePublic
	case "azurechinacloud":
		c = cloud.AzureChina
	case "azureusgovernmentcloud", "azureusgovernment":
		c = cloud.AzureGovernment
	default:
		if cc.ResourceManagerEndpoint == "" {
			return c, fmt.Errorf("azure cloud config: cloud %q is not known: set resourceManagerEndpoint", cc.Cloud)
		}
		c = cloud.AzurePublic
	}
	if e := cc.ResourceManagerEndpoint; e != "" {
		services := map[cloud.ServiceName]cloud.ServiceConfiguration{}
		for k, v := range c.Services {
			services[k] = v
		}
		rm := services[cloud.ResourceManager]
		rm.Endpoint = e
		services[cloud.ResourceManager] = rm
		c.Services = services
	}
	return c, nil
}

func normalizeCloudName(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != '_' && c != '-' && c != ' ' {
			out = append(out, c)
		}
	}
	return string(out)
}

// staticCredential is the token of a local fake: a fixed string that is no secret, so a
// plain-http endpoint never receives a real token.
type staticCredential struct{}

func (staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "cloudlb-fake-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// NewFromConfig builds the provider with armnetwork clients. Credentials come from
// azure.json as upstream chooses them (workload identity, managed identity, client secret,
// client certificate; see credentials.go), from azidentity.NewDefaultAzureCredential when it
// names none, and a plain-http loopback resourceManagerEndpoint (a local fake) gets a static
// test credential instead.
func NewFromConfig(cc *CloudConfig) (*Cloud, error) {
	return newFromConfig(cc, credentialDeps{getenv: os.Getenv, log: klog.Background()}, Limits{})
}

// newFromConfig is NewFromConfig with the environment, transport and logger as
// dependencies, so tests run the production path against a fake Entra ID, IMDS and ARM.
func newFromConfig(cc *CloudConfig, d credentialDeps, l Limits) (*Cloud, error) {
	if err := cc.validateForCloud(); err != nil {
		return nil, err
	}
	cfg, err := cc.cloudConfiguration()
	if err != nil {
		return nil, err
	}
	base := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: d.transport}}
	var cred azcore.TokenCredential
	if cc.insecureLoopback() {
		cred = staticCredential{}
		base.InsecureAllowCredentialWithHTTP = true
		d.log.Info("Chose Azure credentials", "mode", string(authStaticTestToken), "resourceManagerEndpoint", cc.ResourceManagerEndpoint)
	} else if cred, err = cc.newCredential(base.ClientOptions, d); err != nil {
		return nil, err
	}
	return NewWithCredential(cc, cred, base, l)
}

// NewWithCredential builds the provider on the given credential and client options (the
// endpoint, a transport); the provider adds its retry, rate limit and precondition policies.
// The zero rates of l take the cloud config's cloudProviderRateLimit keys, then the defaults.
func NewWithCredential(cc *CloudConfig, cred azcore.TokenCredential, base *arm.ClientOptions, l Limits) (*Cloud, error) {
	if err := cc.validateForCloud(); err != nil {
		return nil, err
	}
	po := newPolicyOptions(base, l, cc.rateLimits())
	api, err := newARMNetwork(cc.SubscriptionID, cred, po)
	if err != nil {
		return nil, err
	}
	c := New(Options{Config: cc, Network: api})
	c.limiter = po.budgets
	return c, nil
}
