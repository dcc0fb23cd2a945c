// Package azure is the cloudlb provider for Azure Standard Load Balancers, registered as
// "azure". It reads the upstream azure.json cloud config and talks to Azure Resource
// Manager through the armnetwork/v9 clients.
//
// # Resources
//
// Every cluster has at most two load balancers in loadBalancerResourceGroup: <base>
// (public) and <base>-internal, where <base> is loadBalancerName from the cloud config or
// the cluster name. cloudlb creates them tagged k8s-azure-cluster-name=<cluster> and deletes
// them when their last frontend goes; one with the name but without the tag is modified only
// when adopted from the upstream provider (below). Each Service owns, on its load balancer, the frontend IP configuration
// a<uid> (a<uid>-<subnet> with azure-load-balancer-internal-subnet), and the rules and
// probes named a<uid>-<PROTO>-<port> as upstream; every part whose name starts with a<uid>
// is the Service's, nothing else is touched. All Services of a load balancer share the
// IP-based backend pool <cluster>, whose loadBalancerBackendAddresses are the eligible
// nodes' InternalIPs. A public frontend uses the managed public IP <cluster>-a<uid>
// (Standard, Static, tagged k8s-azure-service and k8s-azure-cluster-name), or the user's
// public IP named by azure-pip-name or holding the pinned address; those are never
// modified or deleted. NSG rules live in the cluster's securityGroupName, named a<uid>-...
// (per protocol and source: Internet, each allowed service tag, the source ranges; plus
// a<uid>-DenyAll), with priorities allocated without conflicts (allow rules from 500 up,
// deny rules from 4096 down).
//
// # Adoption from the upstream cloud-provider-azure (adopt.go, security_upstream.go)
//
// Upstream writes the same load balancer, frontend, rule, probe and public IP names, but no
// tag on the load balancer. An untagged one with the cluster's name is adopted when it holds
// a frontend, rule or probe named with the Service's a<uid>, or a frontend on a public IP
// tagged k8s-azure-cluster-name=<cluster> with k8s-azure-service; the converging PUT adds the
// cluster tag. Upstream's default pool <cluster> is NIC-based (the NICs reference it): ARM
// refuses IP addresses in it and changes its members only on the NICs, so cloudlb leaves it
// (and its NICs) as it is and moves the Service's rules, in one conditional PUT, onto its own
// IP-based pool <cluster>-cloudlb (<cluster>-IPv6-cloudlb), filled with the nodes in that
// same PUT: a rule is never on an empty pool. Upstream's shared NSG rules
// (k8s-azure-lb_allow_<family>_<md5>, k8s-azure-lb_deny-all_<family>) lose the Service's
// destinations in the NSG PUT that adds its own rules; a rule left empty is removed.
//
// # Replacement guard (replace.go)
//
// azure-load-balancer-internal, azure-load-balancer-internal-subnet and azure-pip-prefix-id
// give the Service a new address. Such a change is made only when the key recorded for the
// Service (tag cloudlb-replace-key on its managed public IP, else cloudlb-replace-key-<a<uid>>
// on its load balancer) differs from its key now (providers.ReplaceAllowed); otherwise the
// frontend is kept, the rest converges, the key is recorded and EnsureLoadBalancer returns
// *providers.ReplacementRefused with the status. The guard reads both load balancers (and the
// frontend's public IP) only when the Service is not where this process put it; later parts
// reuse those reads.
//
// # Private Link Services
//
// With azure-pls-create (internal Services, or floating IP disabled) the Service's frontend
// gets the Microsoft.Network/privateLinkServices resource pls-<frontend> (or azure-pls-name)
// in azure-pls-resource-group or the cloud config's privateLinkServiceResourceGroup (default
// resourceGroup), tagged k8s-azure-cluster-name and k8s-azure-owner-service=<namespace/name>
// (pls.go). Its NAT ipConfigurations ipconfig-0 (primary) .. ipconfig-<n-1> live in
// azure-pls-ip-configuration-subnet (default: the internal subnet, then subnetName), Static
// where azure-pls-ip-configuration-ip-address gives an address; fqdns, enableProxyProtocol,
// visibility and autoApproval follow their keys. The name and resource group cannot change
// while it serves the frontend (UserError). One that is not tagged as the Service's is never
// modified or deleted. It is deleted before its frontend goes: when azure-pls-create is
// removed, when the frontend is renamed or moves (Azure cannot re-attach a Private Link
// Service: a new one is made on the new frontend), and when the Service is deleted (ARM
// refuses to remove a frontend a Private Link Service references; cloudlb deletes its own
// and retries, as upstream). A Private Link Service left by removing azure-pls-create while
// cloudlb was down goes with the Service.
//
// # Reconcile
//
// The provider follows Build -> Observe -> Diff -> Apply, one part at a time:
//
//   - Build (build.go, build_rules.go, build_security.go, ipv6.go) is pure: the typed
//     annotations, the Service, its nodes and the cloud config's settings make a Model.
//   - Observe (observe.go) only reads: the public IPs the frontends want (by name, or the
//     group's list to find one by address), the load balancer, the NSG, the Private Link
//     Services of the group, and, when where the Service was is not known, the opposite load
//     balancer and the public IPs of its groups. What was read is an Observed.
//   - Diff (diff*.go) is pure: Model x Observed -> Plan, the ordered writes a person can read
//     (method, resource, changes, step), each PUT carrying the whole ARM body Apply sends,
//     computed from the resource as read (DiffLoadBalancer, DiffSecurityGroup, DiffPLS keep
//     every part of other Services and tools) and conditional on its etag: If-Match, or
//     If-None-Match: * on a create. Refusals (a user's public IP that does not exist, a load
//     balancer or Private Link Service that is not ours) are providers.UserErrors from Diff.
//   - Apply (apply.go) is the only code that writes. converge is its one loop: under the
//     part's lock it observes, diffs and writes; a write that lost a race (412, or ARM's 409
//     "superseded") observes and diffs again, bounded, as does one ARM refuses because a
//     Private Link Service still references the frontend it removes (that Private Link
//     Service is deleted first when it is the Service's, as upstream).
//
// A part (parts.go) is what is read and written together: the Service's public IP(s), its
// load balancer, the NSG rules, the Private Link Service, its parts of the opposite load
// balancer, its stale public IPs. EnsureLoadBalancer (reconcile.go) converges them in that
// order, so a crash between two writes leaves what the next reconcile completes; the NSG
// part comes after the frontend because its rules allow the frontend's address, which Azure
// gives when it creates the public IP or the internal frontend (recorded from the write's
// answer, not read again). An unchanged Service costs the reads of the public IP, the load
// balancer and the NSG (plus a list of the Private Link Services of its group when it has
// one) and no write. The controller's first pass after a start costs less (listing.go,
// providers.Lister): one listing reads both load balancers, the public IPs of the cluster's
// resource group and the NSG, and each Service's first sync plans its reconcile from it,
// done without a call when nothing is to be written; otherwise it reconciles as usual,
// reading again. The listing stands for a read of a resource only while this process has not
// written it since (providers.WriteLog, keyed by resource: a write to a shared load balancer
// or NSG counts for all its Services). Writes to one load balancer, and to the NSG, are serialised by a lock
// per resource, not per process. UpdateLoadBalancer only converges the pool: the first
// Service to see a new node set writes it, the others find it done with one read. Moving a
// Service between the public and internal load balancer creates the new frontend before
// removing the old one; the Cloud remembers where each Service was put, so the opposite load
// balancer and stale public IPs are only read when that changes or after a restart.
// EnsureLoadBalancerDeleted applies the empty model: Private Link Services, NSG rules, both
// load balancers (one left without frontends is deleted), then the managed public IPs.
//
// PlanLoadBalancer (plan.go, providers.Planner) observes and diffs the same parts without a
// lock or a write, and lists the writes as the audit trail names them; an address Azure has
// not given yet appears as Unresolved.
//
// # Dual-stack
//
// A Service with both IP families gets, on the same load balancer, a second frontend
// <frontend>-IPv6 with the rules and probes <name>-IPv6 (upstream's names) on the pool
// <cluster>-IPv6 of the nodes' IPv6 InternalIPs (ipv6.go). A public one uses the managed
// IPv6 public IP <cluster>-a<uid>[-<prefix name>]-IPv6 (azure-pip-prefix-id-ipv6), the
// user's azure-pip-name-ipv6, or the public IP holding azure-load-balancer-ipv6; an internal
// one takes an address of the subnet's IPv6 prefix (static with azure-load-balancer-ipv6)
// and its rules target the nodePorts (Azure does not float an internal IPv6 frontend). NSG
// rules are per family (<name>-IPv6 for the IPv6 frontend); the status lists the IPv4 then
// the IPv6 address. A Private Link Service serves the IPv4 frontend only.
//
// Not supported yet: IPv6-only Services (refused with a providers.UserError), multiple
// Standard load balancer configurations, managing NIC-based pool membership (an adopted NIC
// pool is left to the NICs; the Service's rules move to cloudlb's IP pool).
package azure
