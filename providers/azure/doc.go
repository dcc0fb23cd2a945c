// Package azure is the cloudlb provider for Azure Standard Load Balancers, registered as
// "azure". It reads the upstream azure.json cloud config and talks to Azure Resource
// Manager through the armnetwork/v9 clients.
//
// # Resources
//
// Every cluster has at most two load balancers in loadBalancerResourceGroup: <base>
// (public) and <base>-internal, where <base> is loadBalancerName from the cloud config or
// the cluster name. cloudlb creates them tagged k8s-azure-cluster-name=<cluster> and deletes
// them when their last frontend goes; one with the name but without the tag is never
// modified. Each Service owns, on its load balancer, the frontend IP configuration
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
// # Reconcile
//
// Build (build.go) is pure. EnsureLoadBalancer reads the public IP, the load balancer and
// the NSG, and diffs (DiffLoadBalancer, DiffSecurityGroup; pure, comparing only the fields
// cloudlb sets) to at most one conditional PUT per resource: If-Match with the etag read,
// or If-None-Match: * on create. A 412 (another writer won) re-reads and retries, bounded.
// An unchanged Service costs those three reads and no write. Writes to one load balancer
// are serialised by a lock per load balancer, not per process. UpdateLoadBalancer only
// syncs the pool: the first Service to see a new node set writes it, the others find it
// done with one read. Moving a Service between the public and internal load balancer
// creates the new frontend before removing the old one; the Cloud remembers where each
// Service was put, so the opposite load balancer and stale public IPs are only read when
// that changes or after a restart.
//
// Not supported yet: Private Link Services (azure-pls-create is refused with a
// providers.UserError), IPv6 frontends (dual-stack Services get their IPv4 frontend),
// multiple Standard load balancer configurations, NIC-based backend pools.
package azure
