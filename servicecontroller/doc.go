// Package servicecontroller will hold cloudlb's service controller: informers, a rate-limited
// work queue, the load-balancer-cleanup finalizer, node sync, status patches, Events and
// metrics. It arrives with the service-controller issue; this file only fixes the layout.
package servicecontroller
