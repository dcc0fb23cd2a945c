package azure

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"k8s.io/klog/v2"
)

// upstreamKeys are the top-level keys of upstream cloud-provider-azure's azure.json (its
// Config and the auth, ARM client, rate limit and backoff configs inlined in it, older
// releases' keys included) that cloudlb accepts so an upstream file reads, but does not act
// on. Keys that are CloudConfig fields are known anyway and need not be here.
var upstreamKeys = []string{
	// authentication and clouds
	"cloud", "tenantId", "subscriptionId", "userAgent", "resourceManagerEndpoint", "identitySystem",
	"aadClientId", "aadClientSecret", "aadClientCertPath", "aadClientCertPassword", "aadMSIDataPlaneIdentityPath",
	"useManagedIdentityExtension", "userAssignedIdentityID", "aadFederatedTokenFile", "useFederatedWorkloadIdentityExtension",
	"auxiliaryTokenSecretURI", "networkResourceTenantID", "networkResourceSubscriptionID", "cloudConfigType",
	// cluster layout
	"extendedLocationName", "extendedLocationType", "routeTableName", "routeTableResourceGroup",
	"primaryAvailabilitySetName", "primaryScaleSetName", "vmType", "tags", "tagsMap", "systemTags",
	"preConfiguredBackendPoolLoadBalancerTypes", "disableAvailabilitySetNodes", "enableVmssFlexNodes", "disableAzureStackCloud",
	"useInstanceMetadata", "enableMultipleStandardLoadBalancers", "nodePoolsWithoutDedicatedSLB", "maximumLoadBalancerRuleCount",
	"loadBalancerBackendPoolConfigurationType", "putVMSSVMBatchSize", "enableMigrateToIPBasedBackendPoolAPI",
	"multipleStandardLoadBalancerConfigurations", "routeUpdateIntervalInSeconds", "routeUpdateWaitingInSeconds",
	"loadBalancerBackendPoolUpdateIntervalInSeconds", "podCidrIPv4", "podCidrIPv6", "serviceGatewayEnabled",
	// caches
	"nonVmssUniformNodesCacheTTLInSeconds", "availabilitySetNodesCacheTTLInSeconds", "vmssCacheTTLInSeconds",
	"vmssVirtualMachinesCacheTTLInSeconds", "vmssFlexCacheTTLInSeconds", "vmssFlexVMCacheTTLInSeconds", "vmCacheTTLInSeconds",
	"loadBalancerCacheTTLInSeconds", "nsgCacheTTLInSeconds", "routeTableCacheTTLInSeconds", "plsCacheTTLInSeconds",
	"availabilitySetsCacheTTLInSeconds", "publicIPCacheTTLInSeconds",
	// backoff and rate limits (cloudlb has its own, see Limits)
	"cloudProviderBackoff", "cloudProviderBackoffRetries", "cloudProviderBackoffExponent", "cloudProviderBackoffDuration",
	"cloudProviderBackoffJitter", "cloudProviderBackoffMode",
	"cloudProviderRateLimit", "cloudProviderRateLimitQPS", "cloudProviderRateLimitBucket", "cloudProviderRateLimitQPSWrite",
	"cloudProviderRateLimitBucketWrite", "routeRateLimit", "subnetsRateLimit", "interfaceRateLimit", "routeTableRateLimit",
	"loadBalancerRateLimit", "publicIPAddressRateLimit", "securityGroupRateLimit", "virtualMachineRateLimit",
	"storageAccountRateLimit", "diskRateLimit", "snapshotRateLimit", "virtualMachineScaleSetRateLimit",
	"virtualMachineSizesRateLimit", "availabilitySetRateLimit", "attachDetachDiskRateLimit", "containerServiceRateLimit",
	"deploymentRateLimit", "privateDNSRateLimit", "privateDNSZoneGroupRateLimit", "privateEndpointRateLimit",
	"privateLinkServiceRateLimit", "virtualNetworkRateLimit",
	// the KMS plugin's keys, which aks-engine writes into the same file
	"providerVaultName", "providerKeyName", "providerKeyVersion",
}

// UnknownKeyError is a top-level key of azure.json that neither cloudlb nor upstream knows.
// Upstream ignores those, so a typo would silently leave a setting at its default; cloudlb
// refuses the file instead.
type UnknownKeyError struct {
	// File is the config file's name; "" when it was read from a reader without one.
	File string
	Line int
	Key  string
	// Nearest is the known key closest to Key; "" when none is close.
	Nearest string
}

func (e *UnknownKeyError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.File != "" {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	msg := fmt.Sprintf("%s: unknown key %q", where, e.Key)
	if e.Nearest != "" {
		msg += ", did you mean " + e.Nearest + "?"
	}
	return msg
}

// checkKeys refuses azure.json when a top-level key is unknown, and logs the upstream keys
// cloudlb accepts without acting on them, so the operator knows they have no effect. r is
// the file the data came from, for its name in the messages.
func checkKeys(r io.Reader, data []byte) error {
	var file string
	if n, ok := r.(interface{ Name() string }); ok {
		file = n.Name()
	}
	ignored, err := classifyKeys(file, data)
	if len(ignored) > 0 {
		klog.InfoS("Azure cloud config keys that cloudlb accepts but does not act on", "file", file, "keys", ignored)
	}
	return err
}

// classifyKeys returns the top-level keys of data that are upstream's but not cloudlb's, and
// an UnknownKeyError for each key that is neither. Keys match without case, as
// encoding/json matches them. Malformed JSON gives neither: json.Unmarshal reports it.
func classifyKeys(file string, data []byte) (ignored []string, err error) {
	known := jsonNames(reflect.TypeFor[CloudConfig]())
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil
	}
	var errs []error
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil
		}
		key, _ := tok.(string)
		line := 1 + bytes.Count(data[:dec.InputOffset()], []byte("\n"))
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, nil
		}
		switch {
		case containsFold(known, key):
		case containsFold(upstreamKeys, key):
			ignored = append(ignored, key)
		default:
			errs = append(errs, &UnknownKeyError{File: file, Line: line, Key: key,
				Nearest: nearest(key, append(slices.Clone(known), upstreamKeys...))})
		}
	}
	return ignored, errors.Join(errs...)
}

// jsonNames are the JSON names of the fields of struct t.
func jsonNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// jsonName is the name encoding/json gives field f; "" when it skips the field.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

func containsFold(names []string, s string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, s) })
}

// nearest returns the name in names closest to s, ignoring case, when it is within about one
// edit per four characters (at least two, so a swapped pair of letters is found); else "".
func nearest(s string, names []string) string {
	limit := max(2, len(s)/4)
	best, bestDist := "", limit+1
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
