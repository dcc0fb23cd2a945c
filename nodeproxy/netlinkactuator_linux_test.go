package nodeproxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"k8s.io/component-base/metrics/testutil"
)

// fakeNetlink is a stateful stand-in for the kernel's links and addresses, enforcing the
// kernel's answers: EEXIST for a duplicate link or address, EADDRNOTAVAIL for deleting a
// missing one, and an fe80:: address when a link comes up.
type fakeNetlink struct {
	links   map[string]netlink.Link
	addrs   map[string][]netlink.Addr
	failAdd map[netip.Addr]error
	// noDummy is a kernel without the dummy link type.
	noDummy bool
}

func newFakeNetlink() *fakeNetlink {
	return &fakeNetlink{links: map[string]netlink.Link{}, addrs: map[string][]netlink.Addr{}, failAdd: map[netip.Addr]error{}}
}

func (f *fakeNetlink) LinkByName(name string) (netlink.Link, error) {
	if l, ok := f.links[name]; ok {
		return l, nil
	}
	return nil, netlink.LinkNotFoundError{}
}

func (f *fakeNetlink) LinkAdd(link netlink.Link) error {
	if _, ok := link.(*netlink.Dummy); ok && f.noDummy {
		return syscall.EOPNOTSUPP
	}
	if _, ok := f.links[link.Attrs().Name]; ok {
		return syscall.EEXIST
	}
	f.links[link.Attrs().Name] = link
	return nil
}

func (f *fakeNetlink) LinkSetUp(link netlink.Link) error {
	l, ok := f.links[link.Attrs().Name]
	if !ok {
		return syscall.ENODEV
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		l.Attrs().Flags |= net.FlagUp
		f.add(l.Attrs().Name, "fe80::1/64")
	}
	return nil
}

func (f *fakeNetlink) add(link, cidr string) {
	ipn, _ := netlink.ParseIPNet(cidr)
	f.addrs[link] = append(f.addrs[link], netlink.Addr{IPNet: ipn})
}

func (f *fakeNetlink) AddrList(link netlink.Link, _ int) ([]netlink.Addr, error) {
	return slices.Clone(f.addrs[link.Attrs().Name]), nil
}

func (f *fakeNetlink) AddrAdd(link netlink.Link, addr *netlink.Addr) error {
	ip, _ := netip.AddrFromSlice(addr.IP)
	if err := f.failAdd[ip.Unmap()]; err != nil {
		return err
	}
	name := link.Attrs().Name
	if slices.ContainsFunc(f.addrs[name], func(a netlink.Addr) bool { return a.IP.Equal(addr.IP) }) {
		return syscall.EEXIST
	}
	f.addrs[name] = append(f.addrs[name], *addr)
	return nil
}

func (f *fakeNetlink) AddrDel(link netlink.Link, addr *netlink.Addr) error {
	name := link.Attrs().Name
	i := slices.IndexFunc(f.addrs[name], func(a netlink.Addr) bool { return a.IPNet.String() == addr.IPNet.String() })
	if i < 0 {
		return syscall.EADDRNOTAVAIL
	}
	f.addrs[name] = slices.Delete(f.addrs[name], i, i+1)
	return nil
}

// state is the link's addresses as sorted CIDRs, "+nodad" on those added without DAD.
func (f *fakeNetlink) state(link string) []string {
	var out []string
	for _, a := range f.addrs[link] {
		s := a.IPNet.String()
		if a.Flags&syscall.IFA_F_NODAD != 0 {
			s += "+nodad"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestLoadBalancerIPsReconcile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(f *fakeNetlink)
		want    []netip.Addr
		wantErr error
		// wantAddrs is the link's final state; wantUp whether it is up.
		wantAddrs []string
		wantUp    bool
	}{
		{
			name:      "creates the link, brings it up, adds /32 and /128",
			want:      addrs("203.0.113.10", "2001:db8::10"),
			wantAddrs: []string{"2001:db8::10/128+nodad", "203.0.113.10/32", "fe80::1/64"},
			wantUp:    true,
		},
		{
			name: "on start: stale and wrongly masked addresses go, the kernel's link-local stays",
			setup: func(f *fakeNetlink) {
				f.links["cloudlb0"] = &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "cloudlb0"}}
				f.add("cloudlb0", "192.0.2.9/32")    // a Service deleted while the agent was down
				f.add("cloudlb0", "203.0.113.10/24") // someone's wrong mask
				f.add("cloudlb0", "203.0.113.11/32") // still wanted
			},
			want:      addrs("203.0.113.10", "203.0.113.11"),
			wantAddrs: []string{"203.0.113.10/32", "203.0.113.11/32", "fe80::1/64"},
			wantUp:    true,
		},
		{
			name: "nothing desired: every address goes",
			setup: func(f *fakeNetlink) {
				f.links["cloudlb0"] = &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "cloudlb0", Flags: net.FlagUp}}
				f.add("cloudlb0", "192.0.2.9/32")
				f.add("cloudlb0", "2001:db8::9/128")
			},
			wantAddrs: nil,
			wantUp:    true,
		},
		{
			name: "a link of that name that is not a dummy is left alone",
			setup: func(f *fakeNetlink) {
				f.links["cloudlb0"] = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "cloudlb0"}}
				f.add("cloudlb0", "10.0.0.1/24")
			},
			want:      addrs("203.0.113.10"),
			wantErr:   errNotDummy,
			wantAddrs: []string{"10.0.0.1/24"},
		},
		{
			name:    "a kernel without the dummy link type",
			setup:   func(f *fakeNetlink) { f.noDummy = true },
			want:    addrs("203.0.113.10"),
			wantErr: syscall.EOPNOTSUPP,
		},
		{
			name:      "one address that cannot be added does not stop the others",
			setup:     func(f *fakeNetlink) { f.failAdd[netip.MustParseAddr("203.0.113.10")] = syscall.EPERM },
			want:      addrs("203.0.113.10", "203.0.113.11"),
			wantErr:   syscall.EPERM,
			wantAddrs: []string{"203.0.113.11/32", "fe80::1/64"},
			wantUp:    true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeNetlink()
			if tt.setup != nil {
				tt.setup(f)
			}
			a, err := NewLoadBalancerIPsWithHandle(LoadBalancerIPOptions{}, f)
			if err != nil {
				t.Fatal(err)
			}
			err = a.Reconcile(context.Background(), &Desired{LoadBalancerIPs: tt.want})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("Apply = %v, want %v", err, tt.wantErr)
			}
			var got []string
			for _, s := range f.state("cloudlb0") {
				if tt.wantAddrs == nil && s == "fe80::1/64" {
					continue
				}
				got = append(got, s)
			}
			if !reflect.DeepEqual(got, tt.wantAddrs) {
				t.Errorf("addresses = %v, want %v", got, tt.wantAddrs)
			}
			if up := f.links["cloudlb0"] != nil && f.links["cloudlb0"].Attrs().Flags&net.FlagUp != 0; up != tt.wantUp {
				t.Errorf("up = %v, want %v", up, tt.wantUp)
			}
		})
	}
}

// TestLoadBalancerIPsFollowDesired: addresses come and go with the Desired, and an Apply with
// nothing to change changes nothing.
func TestLoadBalancerIPsFollowDesired(t *testing.T) {
	t.Parallel()
	f := newFakeNetlink()
	a, err := NewLoadBalancerIPsWithHandle(LoadBalancerIPOptions{Interface: "lb0"}, f)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		want []netip.Addr
		addr []string
	}{
		{addrs("203.0.113.1"), []string{"203.0.113.1/32", "fe80::1/64"}},
		{addrs("203.0.113.1", "203.0.113.2"), []string{"203.0.113.1/32", "203.0.113.2/32", "fe80::1/64"}},
		{addrs("203.0.113.2"), []string{"203.0.113.2/32", "fe80::1/64"}},
		{addrs("203.0.113.2"), []string{"203.0.113.2/32", "fe80::1/64"}},
		{nil, []string{"fe80::1/64"}},
	}
	for i, s := range steps {
		if err := a.Reconcile(context.Background(), &Desired{LoadBalancerIPs: s.want}); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := f.state("lb0"); !reflect.DeepEqual(got, s.addr) {
			t.Errorf("step %d: addresses %v, want %v", i, got, s.addr)
		}
	}
}

func TestValidateInterfaceName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{"cloudlb0": true, "": false, "0123456789abcdef": false, "a/b": false, "a b": false, "..": false} {
		if err := ValidateInterfaceName(name); (err == nil) != ok {
			t.Errorf("ValidateInterfaceName(%q) = %v", name, err)
		}
	}
}

// TestLoadBalancerIPsApplyNeverFailsTheSync: a node that cannot hold the addresses keeps
// serving load balancer traffic; the failure is counted.
func TestLoadBalancerIPsApplyNeverFailsTheSync(t *testing.T) {
	f := newFakeNetlink()
	f.noDummy = true
	a, err := NewLoadBalancerIPsWithHandle(LoadBalancerIPOptions{}, f)
	if err != nil {
		t.Fatal(err)
	}
	before, err := testutil.GetCounterMetricValue(lbIPErrors)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Apply(context.Background(), &Desired{LoadBalancerIPs: addrs("203.0.113.10")}); err != nil {
		t.Errorf("Apply = %v, want nil", err)
	}
	if after, err := testutil.GetCounterMetricValue(lbIPErrors); err != nil || after != before+1 {
		t.Errorf("load_balancer_ip_errors_total went from %v to %v (%v), want +1", before, after, err)
	}
}
