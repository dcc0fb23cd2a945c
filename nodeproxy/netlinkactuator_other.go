//go:build !linux

package nodeproxy

import (
	"context"
	"errors"
)

// LoadBalancerIPs binds load balancer IPs on a dummy interface; Linux only.
type LoadBalancerIPs struct{}

var _ Actuator = (*LoadBalancerIPs)(nil)

// errNoNetlink is returned off Linux, where there is no netlink.
var errNoNetlink = errors.New("--bind-load-balancer-ips needs Linux (netlink)")

// NewLoadBalancerIPs fails: there is no netlink off Linux.
func NewLoadBalancerIPs(LoadBalancerIPOptions) (*LoadBalancerIPs, error) { return nil, errNoNetlink }

// Apply does nothing: NewLoadBalancerIPs never returns one.
func (*LoadBalancerIPs) Apply(context.Context, *Desired) error { return nil }

// Reconcile fails: there is no netlink off Linux.
func (*LoadBalancerIPs) Reconcile(context.Context, *Desired) error { return errNoNetlink }

// Close does nothing.
func (*LoadBalancerIPs) Close() {}
