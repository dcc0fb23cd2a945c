package nodeproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"k8s.io/klog/v2"
)

// NetlinkHandle is the part of *netlink.Handle the actuator calls: a handle opened in another
// network namespace (netlink.NewHandleAt) works as well, and tests pass a fake.
type NetlinkHandle interface {
	LinkByName(name string) (netlink.Link, error)
	LinkAdd(link netlink.Link) error
	LinkSetUp(link netlink.Link) error
	AddrList(link netlink.Link, family int) ([]netlink.Addr, error)
	AddrAdd(link netlink.Link, addr *netlink.Addr) error
	AddrDel(link netlink.Link, addr *netlink.Addr) error
}

var _ NetlinkHandle = (*netlink.Handle)(nil)

// errNotDummy: the interface name is taken by another kind of link, whose addresses are not ours.
var errNotDummy = errors.New("exists and is not a dummy link")

// LoadBalancerIPs keeps Desired.LoadBalancerIPs on a dummy interface, so traffic from the node
// itself to a load balancer IP is delivered locally instead of hairpinning through the cloud
// load balancer (which may not send a node its own traffic back). It creates the link when
// missing and brings it up; each Apply makes the link's addresses exactly the desired ones
// (/32, /128), so the first Apply after a restart removes what a previous run left behind. It
// is an Actuator whose Apply never fails the sync: the addresses only serve traffic from the
// node itself, and a failing sync would turn every health probe of the node to 503, so a
// misconfiguration rolled out to the whole DaemonSet (no NET_ADMIN, no dummy module) would drain
// every node of every load balancer. Failures are logged and counted
// (cloudlb_nodeproxy_load_balancer_ip_errors_total) and retried at the next sync.
//
// Close leaves the addresses in place: an agent restarting (a rolling update) must not cut
// local traffic to the load balancer IPs; the next agent reconciles them.
type LoadBalancerIPs struct {
	name  string
	h     NetlinkHandle
	close func()
	mu    sync.Mutex
}

var _ Actuator = (*LoadBalancerIPs)(nil)

// NewLoadBalancerIPs opens a netlink handle in the agent's network namespace.
func NewLoadBalancerIPs(opts LoadBalancerIPOptions) (*LoadBalancerIPs, error) {
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	a, err := NewLoadBalancerIPsWithHandle(opts, h)
	if err != nil {
		h.Close()
		return nil, err
	}
	a.close = h.Close
	return a, nil
}

// NewLoadBalancerIPsWithHandle uses h, which the caller keeps and closes.
func NewLoadBalancerIPsWithHandle(opts LoadBalancerIPOptions, h NetlinkHandle) (*LoadBalancerIPs, error) {
	RegisterMetrics()
	if opts.Interface == "" {
		opts.Interface = DefaultDummyInterface
	}
	if err := ValidateInterfaceName(opts.Interface); err != nil {
		return nil, err
	}
	return &LoadBalancerIPs{name: opts.Interface, h: h}, nil
}

// Apply reconciles (see Reconcile), logs and counts a failure, and returns nil (see
// LoadBalancerIPs for why).
func (a *LoadBalancerIPs) Apply(ctx context.Context, d *Desired) error {
	if err := a.Reconcile(ctx, d); err != nil {
		lbIPErrors.Inc()
		klog.FromContext(ctx).Error(err, "Cannot bind the load balancer IPs; retrying at the next sync")
	}
	return nil
}

// Reconcile ensures the dummy link is up and carries exactly d.LoadBalancerIPs. It goes on
// after a failed address and returns every failure.
func (a *LoadBalancerIPs) Reconcile(ctx context.Context, d *Desired) error {
	logger := klog.FromContext(ctx).WithValues("interface", a.name)
	a.mu.Lock()
	defer a.mu.Unlock()
	link, err := a.ensureLink(logger)
	if err != nil {
		return fmt.Errorf("dummy interface %s: %w", a.name, err)
	}
	have, err := a.h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("dummy interface %s: list addresses: %w", a.name, err)
	}
	want := make(map[netip.Addr]bool, len(d.LoadBalancerIPs))
	for _, ip := range d.LoadBalancerIPs {
		want[ip.Unmap()] = true
	}
	var errs []error
	present := map[netip.Addr]bool{}
	for _, addr := range have {
		ip, ok := addrOf(addr)
		if !ok || ip.IsLinkLocalUnicast() {
			continue // the kernel's own fe80:: address of the link
		}
		if ones, bits := addr.Mask.Size(); want[ip] && ones == bits {
			present[ip] = true
			continue
		}
		if err := a.h.AddrDel(link, &addr); err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("remove %s: %w", addr.IPNet, err))
			continue
		}
		logger.V(2).Info("Load balancer IP removed", "address", addr.IPNet.String())
	}
	var add []netip.Addr
	for ip := range want {
		if !present[ip] {
			add = append(add, ip)
		}
	}
	slices.SortFunc(add, netip.Addr.Compare)
	for _, ip := range add {
		addr := hostAddr(ip)
		if err := a.h.AddrAdd(link, addr); err != nil && !errors.Is(err, syscall.EEXIST) {
			errs = append(errs, fmt.Errorf("add %s: %w", addr.IPNet, err))
			continue
		}
		logger.V(2).Info("Load balancer IP added", "address", addr.IPNet.String())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dummy interface %s: %w", a.name, err)
	}
	return nil
}

// Close releases the netlink handle it opened; the addresses stay (see LoadBalancerIPs).
func (a *LoadBalancerIPs) Close() {
	if a.close != nil {
		a.close()
	}
}

// ensureLink returns the dummy link, created and brought up as needed. A link of that name that
// is not a dummy is refused: its addresses are someone else's.
func (a *LoadBalancerIPs) ensureLink(logger klog.Logger) (netlink.Link, error) {
	link, err := a.h.LinkByName(a.name)
	if _, missing := errors.AsType[netlink.LinkNotFoundError](err); missing {
		addErr := a.h.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: a.name}})
		switch {
		case errors.Is(addErr, syscall.EOPNOTSUPP):
			return nil, fmt.Errorf("create: %w (the kernel has no dummy link type: load the dummy module)", addErr)
		case addErr != nil && !errors.Is(addErr, syscall.EEXIST):
			return nil, fmt.Errorf("create: %w", addErr)
		}
		logger.Info("Dummy interface created")
		link, err = a.h.LinkByName(a.name)
	}
	if err != nil {
		return nil, err
	}
	if link.Type() != "dummy" {
		return nil, fmt.Errorf("%w: it is a %q link; choose another --dummy-interface", errNotDummy, link.Type())
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := a.h.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("set up: %w", err)
		}
		logger.V(2).Info("Dummy interface set up")
	}
	return link, nil
}

// addrOf is the address of a netlink.Addr.
func addrOf(a netlink.Addr) (netip.Addr, bool) {
	if a.IPNet == nil {
		return netip.Addr{}, false
	}
	ip, ok := netip.AddrFromSlice(a.IP)
	return ip.Unmap(), ok
}

// hostAddr is ip as a host address (/32 or /128). IPv6 ones skip duplicate address detection:
// the address is meant to be answered locally, and a tentative address would not be.
func hostAddr(ip netip.Addr) *netlink.Addr {
	bits := ip.BitLen()
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(bits, bits)}}
	if ip.Is6() {
		addr.Flags = syscall.IFA_F_NODAD
	}
	return addr
}
