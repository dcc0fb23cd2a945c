package azure

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/providers/cloudapi"
)

// Client-side limits of one Cloud. ARM allows about 1,200 writes and 12,000 reads per hour
// per subscription and principal, refilled continuously (a few per second), and answers 429
// with Retry-After beyond that. 10 requests per second with a burst of 20 keeps one
// controller under the write budget during node churn while other tools share it; it is the
// ceiling of the bucket's rate, which follows throttling (cloudapi.AIMD). The SDK retries 429
// and 5xx up to 6 times, honouring Retry-After, at most 30 s apart; without Retry-After the
// first retry comes after about 100 ms (azcore: RetryDelay x (2^try - 1), jittered 0.8-1.3x),
// then waits for its token like any attempt. The SDK's default of 800 ms, or our former 1 s,
// made each throttled call hold its worker for a second or more whatever the bucket allowed,
// and a throttled write of the shared load balancer every worker queued behind (issue 16).
const (
	DefaultQPS        = 10
	DefaultBurst      = 20
	DefaultMaxRetries = 6
	DefaultPoll       = 2 * time.Second
	defaultRetryDelay = 100 * time.Millisecond
	defaultMaxDelay   = 30 * time.Second
)

// Limits configure rate limiting, retries and polling; zero fields take the defaults.
type Limits struct {
	QPS        float64
	Burst      int
	MaxRetries int32
	// RetryDelay is the first retry's delay when the service sends no Retry-After.
	RetryDelay time.Duration
	// Poll is the interval between polls of a long-running operation without Retry-After.
	Poll time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.QPS <= 0 {
		l.QPS = DefaultQPS
	}
	if l.Burst <= 0 {
		l.Burst = DefaultBurst
	}
	if l.MaxRetries == 0 {
		l.MaxRetries = DefaultMaxRetries
	}
	if l.RetryDelay <= 0 {
		l.RetryDelay = defaultRetryDelay
	}
	if l.Poll <= 0 {
		l.Poll = DefaultPoll
	}
	return l
}

// policyOptions are the pipeline settings shared by every client of one Cloud.
type policyOptions struct {
	base   *arm.ClientOptions
	limits Limits
	// limiter is the token bucket of every attempt, which also counts them.
	limiter *cloudapi.Limiter
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
	out.PerRetryPolicies = append(append([]policy.Policy{}, out.PerRetryPolicies...), limitPolicy{o.limiter})
	return out
}

// limitPolicy waits for the shared token bucket before every attempt and counts attempts,
// whose throttling answers move the bucket's rate.
type limitPolicy struct{ limiter *cloudapi.Limiter }

func (p limitPolicy) Do(req *policy.Request) (*http.Response, error) {
	if err := p.limiter.Wait(req.Raw().Context()); err != nil {
		return nil, err
	}
	resp, err := req.Next()
	p.limiter.Attempted(resp != nil && cloudapi.AzureThrottled(resp.StatusCode))
	return resp, err
}

func newPolicyOptions(base *arm.ClientOptions, l Limits) *policyOptions {
	l = l.withDefaults()
	return &policyOptions{base: base, limits: l, limiter: cloudapi.NewLimiter(l.QPS, l.Burst), poll: l.Poll}
}

// APIStats are the ARM attempts of one Cloud since it was built.
type APIStats = cloudapi.Stats

// APIStats returns the HTTP attempts (retries included) and the throttled ones; zero for a
// Cloud built by New, whose client is not ours.
func (c *Cloud) APIStats() APIStats {
	if c.limiter == nil {
		return APIStats{}
	}
	return c.limiter.Stats()
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
func NewWithCredential(cc *CloudConfig, cred azcore.TokenCredential, base *arm.ClientOptions, l Limits) (*Cloud, error) {
	if err := cc.validateForCloud(); err != nil {
		return nil, err
	}
	po := newPolicyOptions(base, l)
	api, err := newARMNetwork(cc.SubscriptionID, cred, po)
	if err != nil {
		return nil, err
	}
	c := New(Options{Config: cc, Network: api})
	c.limiter = po.limiter
	return c, nil
}
