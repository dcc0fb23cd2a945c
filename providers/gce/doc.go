// Package gce is the cloudlb provider for Google Compute Engine, registered as "gce":
// external passthrough Network Load Balancers on a target pool (the default), internal
// passthrough load balancers on a regional backend service (networking.gke.io/
// load-balancer-type: Internal), and external ones on a regional backend service
// (cloud.google.com/l4-rbs: enabled), which cloudlb serves itself rather than handing to
// GKE's ingress-gce. Services of GKE-only loadBalancerClasses are answered with
// cloudprovider.ImplementedElsewhere. The backend-service keys (connection draining,
// weighted load balancing, strong session affinity) have no effect on target pools.
//
// It follows Build -> Observe -> Diff -> Apply: Build (build.go) turns a Service into a
// desired Model without any cloud call; Observe (observe.go) reads only the objects the
// Model names and those the Service used before; Diff (diff.go) is pure and prefers in-place
// changes (firewall patch, health check update, target pool instances and health check,
// backend service patch, forwarding rule patch/setTarget); only a new address, protocol,
// ports, scheme, subnet or backend kind re-creates a forwarding rule. Apply (apply.go) is the
// only code that writes, through cloud.google.com/go/compute/apiv1 REST clients (and plain
// REST for the legacy httpHealthChecks target pools need, which apiv1 lacks).
//
// # Names and ownership
//
// Names are cloud-provider-gcp's (names.go): forwarding rule, address, target pool and
// per-Service backend service <lb> ("a" + UID, 32 characters), firewall k8s-fw-<lb>, the
// shared node health check k8s-<cluster-id>-node (10256 /healthz) for externalTrafficPolicy
// Cluster or <lb> on healthCheckNodePort for Local, their firewalls, and the per-zone instance
// groups k8s-ig--<cluster-id>. A Service with both TCP and UDP ports gets a second rule
// <lb>-udp on the same address (SHARED_LOADBALANCER_VIP for internal ones; an internal
// address gaining the second protocol is reserved again with its IP). A backend service's
// protocol (TCP, UDP, UNSPECIFIED for both) cannot change while rules use it, so such a change
// re-creates its rules around the patch. The traffic firewall and a per-Service health-check
// firewall are limited to the load balancer's IP (destinationRanges), as upstream does. Descriptions carry {"kubernetes.io/service-name",
// "kubernetes.io/cluster-id"} (shared objects: the cluster ID only); anything with our name
// but another description is never changed or deleted and the Service gets a
// providers.UserError.
//
// # Taking over from cloud-provider-gcp
//
// Upstream writes no cluster ID, so cloudlb also owns (owner.go) a per-Service object whose
// name it derives from the Service's UID and whose description names the Service without a
// cluster, and a shared object named with the cluster ID (kube-system/ingress-uid, which
// upstream uses) whose description is upstream's. It takes them over in place (adopt.go):
// the forwarding rule and the address get the label cloudlb-cluster-id (descriptions cannot
// change), an address upstream released is reserved again with the rule's IP, a backend
// service keeps upstream's global health check; nothing is re-created. Changes that would
// re-create the forwarding rule (scheme, internal subnet, l4-rbs, backend-share) pass the
// replacement guard (guard.go): the rule label cloudlb-replace-key records the Service's key,
// and a rule without it, or with the Service's key, is kept with a
// providers.ReplacementRefused. After cloudlb, upstream manages the same objects in place:
// it ignores labels, patches descriptions back, and uses the same names (migration/gce
// proves both directions against upstream's own code).
//
// # Addresses
//
// The address <lb> is reserved on the first reconcile and kept for the Service's life, so
// re-creating a rule never loses the IP; it is released on delete. spec.loadBalancerIP
// naming an address the user reserved, or networking.gke.io/load-balancer-ip-addresses, uses
// that reservation, which cloudlb never releases. The network tier of cloudlb's own address is
// fixed (GCE cannot move an address between tiers): a changed cloud.google.com/network-tier
// is reported as a providers.UserError while the rest of the Service is still applied.
//
// # Cheap no-op reconciles
//
// Model.SpecHash (everything but instance membership) is written last, in the label
// cloudlb-spec of the forwarding rule <lb> (its description cannot change after creation).
// When the label matches and this process applied the same node set within cacheTTL, an
// EnsureLoadBalancer costs one ForwardingRules.Get and no write. Otherwise everything is read
// and repaired; node changes write one AddInstance/RemoveInstance per target pool, and the
// shared instance groups are changed once per zone for all Services (the members applied or
// read are cached, so the other Services read nothing; a failed write drops the cache, since
// another controller may have changed the groups).
//
// A restarted controller's first pass reads less still (listing.go, providers.Lister): one
// ForwardingRules.List per 500 rules (filtered on the label cloudlb-cluster-id) and one
// TargetPools.List per 500 pools stand for every Service's rule and pool reads, and a Service
// whose listed spec label, ownership and pool instances (or the shared groups' members, read
// once per zone) match makes no call. Every write records its load balancer in the write log
// (apply.go write), so a load balancer this process wrote after the listing began is observed
// in full; rules taken over from upstream carry no spec label yet and are observed too.
//
// A Service's first ensure (providers.FirstEnsure) with no rule <lb> skips the reads of its
// own per-Service objects (address, target pool, backend service, firewalls, <lb>-udp) and
// inserts them; an insert answered 409 alreadyExists on one of them sends the ensure down the
// full path, which reads everything and refuses what is not ours (first.go).
//
// # Shared objects
//
// The node health check, its firewall, instance groups and shared backend services are
// deleted only when GCE reports them unused (400 "being used by" leaves them), so the last
// Service using them removes them; writes to them are serialised within the process.
//
// # Throttling
//
// Every read (get, list) waits on the Cloud's reads' token bucket (DefaultReadQPS,
// DefaultReadBurst) and every write on its writes' bucket (DefaultQPS, DefaultBurst), as
// Compute meters reads and writes in separate quota groups; each bucket's rate follows the
// throttling of its own kind. Every call is retried on 403 rateLimitExceeded, 429, 5xx and
// operations that end in a server error, with jittered exponential backoff, at most
// DefaultMaxAttempts times (retry.go).
package gce
