package azure

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"

	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/internal/cloudconfig"
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
	// backoff and per-resource rate limits (cloudlb has its own, see Limits; the
	// cloudProviderRateLimit keys are CloudConfig's)
	"cloudProviderBackoff", "cloudProviderBackoffRetries", "cloudProviderBackoffExponent", "cloudProviderBackoffDuration",
	"cloudProviderBackoffJitter", "cloudProviderBackoffMode",
	"routeRateLimit", "subnetsRateLimit", "interfaceRateLimit", "routeTableRateLimit",
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
type UnknownKeyError = cloudconfig.UnknownKeyError

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
				Nearest: cloudconfig.Nearest(key, append(slices.Clone(known), upstreamKeys...))})
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
