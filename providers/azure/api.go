package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// network lists the only ARM verbs the provider calls. Gets return (nil, nil) when the
// resource does not exist. Puts send If-Match with the etag of the object passed (or
// If-None-Match: * when it has none), so a concurrent writer's change is never overwritten:
// the call fails with 412 and the caller re-reads.
type network interface {
	getLB(ctx context.Context, rg, name string) (*armnetwork.LoadBalancer, error)
	putLB(ctx context.Context, rg, name string, lb *armnetwork.LoadBalancer) (*armnetwork.LoadBalancer, error)
	deleteLB(ctx context.Context, rg, name, etag string) error
	getPIP(ctx context.Context, rg, name string) (*armnetwork.PublicIPAddress, error)
	listPIPs(ctx context.Context, rg string) ([]*armnetwork.PublicIPAddress, error)
	putPIP(ctx context.Context, rg, name string, pip *armnetwork.PublicIPAddress) (*armnetwork.PublicIPAddress, error)
	deletePIP(ctx context.Context, rg, name, etag string) error
	getNSG(ctx context.Context, rg, name string) (*armnetwork.SecurityGroup, error)
	putNSG(ctx context.Context, rg, name string, nsg *armnetwork.SecurityGroup) (*armnetwork.SecurityGroup, error)
	getPLS(ctx context.Context, rg, name string) (*armnetwork.PrivateLinkService, error)
	listPLS(ctx context.Context, rg string) ([]*armnetwork.PrivateLinkService, error)
	putPLS(ctx context.Context, rg, name string, pls *armnetwork.PrivateLinkService) (*armnetwork.PrivateLinkService, error)
	deletePLS(ctx context.Context, rg, name, etag string) error
}

// armNetwork implements network with the armnetwork clients.
type armNetwork struct {
	lbs  *armnetwork.LoadBalancersClient
	pips *armnetwork.PublicIPAddressesClient
	nsgs *armnetwork.SecurityGroupsClient
	plss *armnetwork.PrivateLinkServicesClient
	// poll is the interval between two polls of a long-running operation when the service
	// sends no Retry-After.
	poll time.Duration
}

var _ network = (*armNetwork)(nil)

// newARMNetwork builds the clients of one subscription.
func newARMNetwork(subscription string, cred azcore.TokenCredential, opts *policyOptions) (*armNetwork, error) {
	f, err := armnetwork.NewClientFactory(subscription, cred, opts.arm())
	if err != nil {
		return nil, fmt.Errorf("azure: building the network clients: %w", err)
	}
	return &armNetwork{lbs: f.NewLoadBalancersClient(), pips: f.NewPublicIPAddressesClient(), nsgs: f.NewSecurityGroupsClient(),
		plss: f.NewPrivateLinkServicesClient(), poll: opts.poll}, nil
}

// conditionKey carries the precondition header of one write in its context.
type conditionKey struct{}

type condition struct{ header, value string }

// withCondition returns ctx carrying If-Match: etag, or If-None-Match: * when etag is "".
func withCondition(ctx context.Context, etag *string) context.Context {
	if etag == nil || *etag == "" {
		return context.WithValue(ctx, conditionKey{}, condition{"If-None-Match", "*"})
	}
	return context.WithValue(ctx, conditionKey{}, condition{"If-Match", *etag})
}

// withIfMatch returns ctx carrying If-Match: etag when etag is known (deletes of a resource
// whose etag was not read go unconditionally).
func withIfMatch(ctx context.Context, etag string) context.Context {
	if etag == "" {
		return ctx
	}
	return withCondition(ctx, &etag)
}

// conditionPolicy puts the context's precondition on PUT and DELETE requests only: the
// polls and the final GET of a long-running operation must not carry it.
type conditionPolicy struct{}

func (conditionPolicy) Do(req *policy.Request) (*http.Response, error) {
	if c, ok := req.Raw().Context().Value(conditionKey{}).(condition); ok {
		if m := req.Raw().Method; m == http.MethodPut || m == http.MethodDelete {
			req.Raw().Header.Set(c.header, c.value)
		}
	}
	return req.Next()
}

func pollOpts(d time.Duration) *runtime.PollUntilDoneOptions {
	return &runtime.PollUntilDoneOptions{Frequency: d}
}

func (a *armNetwork) getLB(ctx context.Context, rg, name string) (*armnetwork.LoadBalancer, error) {
	r, err := a.lbs.Get(ctx, rg, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading load balancer %s/%s: %w", rg, name, err)
	}
	return &r.LoadBalancer, nil
}

func (a *armNetwork) putLB(ctx context.Context, rg, name string, lb *armnetwork.LoadBalancer) (*armnetwork.LoadBalancer, error) {
	if lb.Properties != nil {
		// Read-only; a copied "Succeeded" echoed back would end the poller before the
		// operation does.
		lb.Properties.ProvisioningState = nil
	}
	p, err := a.lbs.BeginCreateOrUpdate(withCondition(ctx, lb.Etag), rg, name, *lb, nil)
	if err != nil {
		return nil, fmt.Errorf("writing load balancer %s/%s: %w", rg, name, err)
	}
	r, err := p.PollUntilDone(ctx, pollOpts(a.poll))
	if err != nil {
		return nil, fmt.Errorf("writing load balancer %s/%s: %w", rg, name, err)
	}
	return &r.LoadBalancer, nil
}

func (a *armNetwork) deleteLB(ctx context.Context, rg, name, etag string) error {
	p, err := a.lbs.BeginDelete(withIfMatch(ctx, etag), rg, name, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, pollOpts(a.poll))
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting load balancer %s/%s: %w", rg, name, err)
	}
	return nil
}

func (a *armNetwork) getPIP(ctx context.Context, rg, name string) (*armnetwork.PublicIPAddress, error) {
	r, err := a.pips.Get(ctx, rg, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading public IP %s/%s: %w", rg, name, err)
	}
	return &r.PublicIPAddress, nil
}

func (a *armNetwork) listPIPs(ctx context.Context, rg string) ([]*armnetwork.PublicIPAddress, error) {
	var out []*armnetwork.PublicIPAddress
	for p := a.pips.NewListPager(rg, nil); p.More(); {
		page, err := p.NextPage(ctx)
		if isNotFound(err) { // the resource group does not exist
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing public IPs of %s: %w", rg, err)
		}
		out = append(out, page.Value...)
	}
	return out, nil
}

func (a *armNetwork) putPIP(ctx context.Context, rg, name string, pip *armnetwork.PublicIPAddress) (*armnetwork.PublicIPAddress, error) {
	if pip.Properties != nil {
		pip.Properties.ProvisioningState = nil // read-only, see putLB
	}
	p, err := a.pips.BeginCreateOrUpdate(withCondition(ctx, pip.Etag), rg, name, *pip, nil)
	if err != nil {
		return nil, fmt.Errorf("writing public IP %s/%s: %w", rg, name, err)
	}
	r, err := p.PollUntilDone(ctx, pollOpts(a.poll))
	if err != nil {
		return nil, fmt.Errorf("writing public IP %s/%s: %w", rg, name, err)
	}
	return &r.PublicIPAddress, nil
}

func (a *armNetwork) deletePIP(ctx context.Context, rg, name, etag string) error {
	p, err := a.pips.BeginDelete(withIfMatch(ctx, etag), rg, name, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, pollOpts(a.poll))
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting public IP %s/%s: %w", rg, name, err)
	}
	return nil
}

func (a *armNetwork) getNSG(ctx context.Context, rg, name string) (*armnetwork.SecurityGroup, error) {
	r, err := a.nsgs.Get(ctx, rg, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading network security group %s/%s: %w", rg, name, err)
	}
	return &r.SecurityGroup, nil
}

func (a *armNetwork) putNSG(ctx context.Context, rg, name string, nsg *armnetwork.SecurityGroup) (*armnetwork.SecurityGroup, error) {
	if nsg.Properties != nil {
		nsg.Properties.ProvisioningState = nil // read-only, see putLB
	}
	p, err := a.nsgs.BeginCreateOrUpdate(withCondition(ctx, nsg.Etag), rg, name, *nsg, nil)
	if err != nil {
		return nil, fmt.Errorf("writing network security group %s/%s: %w", rg, name, err)
	}
	r, err := p.PollUntilDone(ctx, pollOpts(a.poll))
	if err != nil {
		return nil, fmt.Errorf("writing network security group %s/%s: %w", rg, name, err)
	}
	return &r.SecurityGroup, nil
}

func (a *armNetwork) getPLS(ctx context.Context, rg, name string) (*armnetwork.PrivateLinkService, error) {
	r, err := a.plss.Get(ctx, rg, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading private link service %s/%s: %w", rg, name, err)
	}
	return &r.PrivateLinkService, nil
}

func (a *armNetwork) listPLS(ctx context.Context, rg string) ([]*armnetwork.PrivateLinkService, error) {
	var out []*armnetwork.PrivateLinkService
	for p := a.plss.NewListPager(rg, nil); p.More(); {
		page, err := p.NextPage(ctx)
		if isNotFound(err) { // the resource group does not exist
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing private link services of %s: %w", rg, err)
		}
		out = append(out, page.Value...)
	}
	return out, nil
}

func (a *armNetwork) putPLS(ctx context.Context, rg, name string, pls *armnetwork.PrivateLinkService) (*armnetwork.PrivateLinkService, error) {
	if pr := pls.Properties; pr != nil {
		// Read-only, see putLB.
		pr.ProvisioningState, pr.Alias, pr.NetworkInterfaces, pr.PrivateEndpointConnections = nil, nil, nil, nil
		for _, c := range pr.IPConfigurations {
			if c != nil && c.Properties != nil {
				c.Properties.ProvisioningState = nil
			}
		}
	}
	p, err := a.plss.BeginCreateOrUpdate(withCondition(ctx, pls.Etag), rg, name, *pls, nil)
	if err != nil {
		return nil, fmt.Errorf("writing private link service %s/%s: %w", rg, name, err)
	}
	r, err := p.PollUntilDone(ctx, pollOpts(a.poll))
	if err != nil {
		return nil, fmt.Errorf("writing private link service %s/%s: %w", rg, name, err)
	}
	return &r.PrivateLinkService, nil
}

func (a *armNetwork) deletePLS(ctx context.Context, rg, name, etag string) error {
	p, err := a.plss.BeginDelete(withIfMatch(ctx, etag), rg, name, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, pollOpts(a.poll))
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting private link service %s/%s: %w", rg, name, err)
	}
	return nil
}

// statusOf is the HTTP status of an ARM error, 0 for other errors.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func isNotFound(err error) bool { return err != nil && statusOf(err) == http.StatusNotFound }

// isConflict reports a lost race: a stale If-Match (412), or a create of something that now
// exists (If-None-Match, also 412), or ARM's "superseded by another operation": a 409 when
// the write is refused, or, when the write was accepted and another superseded it before it
// was done, the Canceled status its poller reads (an answer of 200 carrying that code).
func isConflict(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	return re.StatusCode == http.StatusPreconditionFailed || re.ErrorCode == "CanceledAndSupersededDueToAnotherOperation"
}
