package aws_test

import (
	"errors"

	cloudproviderapi "k8s.io/cloud-provider/api"
)

// isRetry reports whether err asks to be retried soon (a cloudprovider RetryError).
func isRetry(err error) bool {
	var re *cloudproviderapi.RetryError
	return errors.As(err, &re)
}
