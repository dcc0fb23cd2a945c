// Package cloudapi is the plumbing that every provider's cloud API calls share, whatever the
// SDK: the client-side token bucket a cloud API's calls wait on and the count of the attempts
// they made (Limiter), the rules that tell each cloud's throttling answer apart
// (AWSThrottled, AzureThrottled, GCEThrottled), and the report of one call to the
// cloudlb_cloud_api_* metrics (Observe).
//
// What differs between the clouds stays in the providers: where a call is observed (AWS
// around each SDK operation, Azure in a per-call pipeline policy, GCE in the HTTP transport),
// how an operation is named, the retry mechanism and the default limits with their reasons.
package cloudapi

import (
	"time"

	"github.com/cloudlb/cloudlb/metrics"
)

// Outcome is how one call ended, as far as its result label goes.
type Outcome struct {
	// Err is the call's error, nil on success: a transport failure or the SDK's error.
	Err error
	// Status is the HTTP status of the answer; 0 when unknown.
	Status int
	// Throttled is true when the answer is the cloud's throttling (AWSThrottled,
	// AzureThrottled, GCEThrottled).
	Throttled bool
}

// Result is the outcome's result label: "throttled" for the cloud's throttling answer, else
// "error" for an error or a status of 400 and above, else "ok".
func (o Outcome) Result() string {
	switch {
	case o.Throttled:
		return metrics.ResultThrottled
	case o.Err != nil || o.Status >= 400:
		return metrics.ResultError
	}
	return metrics.ResultOK
}

// Observe reports one call of cloud's operation, started at started, to
// cloudlb_cloud_api_calls_total and cloudlb_cloud_api_call_duration_seconds. operation is a
// stable name of the API method ("elbv2.CreateListener", "LoadBalancers.CreateOrUpdate",
// "ForwardingRules.Insert"), never a resource name or ID: every label value is one more time
// series.
func Observe(cloud, operation string, started time.Time, o Outcome) {
	metrics.ObserveCloudResult(cloud, operation, o.Result(), time.Since(started))
}
