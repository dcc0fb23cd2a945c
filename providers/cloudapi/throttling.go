package cloudapi

import (
	"net/http"
	"strings"
)

// awsThrottleCodes are the error codes of the AWS APIs cloudlb calls that mean throttling:
// EC2's RequestLimitExceeded, the Query APIs' Throttling (ELB, ELBv2, IAM) and the JSON
// APIs' ThrottlingException (ACM). The SDK's retryer retries them as throttling too.
var awsThrottleCodes = map[string]bool{"Throttling": true, "ThrottlingException": true, "RequestLimitExceeded": true}

// AWSThrottled reports whether an AWS error code is throttling; AWS throttles with a code,
// whatever the HTTP status (ELB answers 400, EC2 503).
func AWSThrottled(code string) bool { return awsThrottleCodes[code] }

// AzureThrottled reports whether an ARM answer is throttling: 429, whether ARM's
// subscription-level SubscriptionRequestsThrottled or a resource provider's own.
func AzureThrottled(status int) bool { return status == http.StatusTooManyRequests }

// GCEThrottled reports whether a Compute answer is throttling: 429, or 403 with the reason
// rateLimitExceeded or userRateLimitExceeded (Compute's usual answer to a project over its
// rate quota, also spelt RATE_LIMIT_EXCEEDED in an ErrorInfo; other 403s are permission
// errors).
func GCEThrottled(status int, reason string) bool {
	switch status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		r := strings.ToLower(strings.ReplaceAll(reason, "_", ""))
		return r == "ratelimitexceeded" || r == "userratelimitexceeded"
	}
	return false
}
